//! Clerk sign-in against a JWKS served by the test: the happy paths, the 401 suite, the
//! 403s, the key cache, and PEM verification without network.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::clerk_support::*;
use crate::helpers::{TestApp, assert_error};

const LEADS: &str = "{ leads(first: 1) { count } }";

async fn app_with(config: aura::auth::clerk::ClerkConfig) -> TestApp {
    TestApp::builder()
        .configure(move |c| c.clerk = Some(config))
        .build()
        .await
}

async fn post(app: &TestApp, bearer: &str) -> reqwest::Response {
    app.client
        .post(app.url("/graphql"))
        .bearer_auth(bearer)
        .json(&json!({ "query": LEADS }))
        .send()
        .await
        .unwrap()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

#[tokio::test]
async fn admins_and_members_of_a_connected_organization_get_in() {
    let jwks = Jwks::serve(vec![jwk_a()]).await;
    let app = app_with(jwks.config(Duration::from_secs(3600))).await;
    clerk_org(&app.db, "acme", "org_acme").await;

    for role in ["admin", "member", "org:admin", "org:member"] {
        let data = app
            .graphql_ok(
                &token(&claims("user_1", "org_acme", role)),
                LEADS,
                json!({}),
            )
            .await;
        assert_eq!(data["leads"]["count"], json!(0), "{role}");
    }
    // v1 claims: org_id / org_role instead of `o`.
    let now = now();
    let v1 = json!({
        "sub": "user_2", "iss": ISSUER, "exp": now + 60, "nbf": now - 5,
        "org_id": "org_acme", "org_role": "org:admin", "org_slug": "acme",
        "org_permissions": ["org:sys_profile:manage"]
    });
    app.graphql_ok(&token(&v1), LEADS, json!({})).await;
    // A native app's token carries no `azp`; the allow-list applies to tokens that do.
    let mut no_azp = claims("user_3", "org_acme", "member");
    no_azp.as_object_mut().unwrap().remove("azp");
    app.graphql_ok(&token(&no_azp), LEADS, json!({})).await;
    // Within the 5 s skew: expired 2 s ago, valid from 2 s from now.
    let mut skewed = claims("user_4", "org_acme", "member");
    skewed["exp"] = json!(now - 2);
    skewed["nbf"] = json!(now + 2);
    app.graphql_ok(&token(&skewed), LEADS, json!({})).await;
}

#[tokio::test]
async fn every_bad_token_gets_401() {
    let jwks = Jwks::serve(vec![jwk_a()]).await;
    let app = app_with(jwks.config(Duration::from_secs(3600))).await;
    clerk_org(&app.db, "acme", "org_acme").await;
    let good = claims("user_1", "org_acme", "member");
    // The setup accepts a proper token, so every refusal below is about the token.
    assert_eq!(post(&app, &token(&good)).await.status().as_u16(), 200);

    let valid = token(&good);
    let parts: Vec<&str> = valid.split('.').collect();

    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": KID_A})),
        parts[1]
    );
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(KID_A.to_owned());
    let hs256_with_public_key = jsonwebtoken::encode(
        &hs_header,
        &good,
        &EncodingKey::from_secret(PUBLIC_A.as_bytes()),
    )
    .unwrap();
    let unknown_kid = sign(&good, Some(KID_B), PRIVATE_B);
    let known_kid_wrong_key = sign(&good, Some(KID_A), PRIVATE_B);
    let no_kid = sign(&good, None, PRIVATE_A);
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 30);
    let mut not_yet = good.clone();
    not_yet["nbf"] = json!(now() + 30);
    let mut wrong_issuer = good.clone();
    wrong_issuer["iss"] = json!("https://evil.example");
    let mut bad_azp = good.clone();
    bad_azp["azp"] = json!("https://evil.example");
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut promoted = good.clone();
    promoted["o"]["rol"] = json!("admin");
    let tampered = format!("{}.{}.{}", parts[0], b64(&promoted), parts[2]);

    let cases: Vec<(&str, String)> = vec![
        ("alg none", alg_none),
        ("HS256 signed with the public key", hs256_with_public_key),
        ("unknown kid", unknown_kid),
        ("known kid, other key", known_kid_wrong_key),
        ("no kid", no_kid),
        ("expired", token(&expired)),
        ("nbf in the future", token(&not_yet)),
        ("wrong issuer", token(&wrong_issuer)),
        ("azp not allowed", token(&bad_azp)),
        ("no exp", token(&no_exp)),
        ("tampered payload", tampered),
        ("garbage", "abc.def.ghi".to_owned()),
        ("garbage base64", "eyJhbGciOiJSUzI1NiJ9.!!!.???".to_owned()),
        ("truncated", valid[..valid.len() - 10].to_owned()),
    ];
    for (case, bearer) in cases {
        let response = post(&app, &bearer).await;
        assert!(
            response.headers().contains_key("x-ratelimit-limit"),
            "{case}: rate-limit headers on a 401"
        );
        let body = assert_error(response, 401, "UNAUTHORIZED").await;
        let message = body["error"].as_str().unwrap();
        assert!(message.contains("Clerk token"), "{case}: {message}");
        assert!(!message.contains(&bearer), "{case}: the token is echoed");
    }
}

#[tokio::test]
async fn no_active_organization_an_unknown_one_or_a_pending_session_get_403() {
    let jwks = Jwks::serve(vec![jwk_a()]).await;
    let app = app_with(jwks.config(Duration::from_secs(3600))).await;
    clerk_org(&app.db, "acme", "org_acme").await;

    let mut no_org = claims("user_1", "org_acme", "admin");
    no_org.as_object_mut().unwrap().remove("o");
    let unknown = claims("user_1", "org_not_in_aura", "admin");
    let mut pending = claims("user_1", "org_acme", "admin");
    pending["sts"] = json!("pending");
    for (case, claims) in [
        ("no organization", no_org),
        ("unknown organization", unknown),
        ("pending", pending),
    ] {
        let body = assert_error(post(&app, &token(&claims)).await, 403, "FORBIDDEN").await;
        println!("{case}: {}", body["error"]);
    }
}

#[tokio::test]
async fn the_key_set_is_cached_and_unknown_kids_refetch_at_most_once_a_minute() {
    let jwks = Jwks::serve(vec![jwk_a()]).await;
    let app = app_with(jwks.config(Duration::from_secs(3600))).await;
    clerk_org(&app.db, "acme", "org_acme").await;
    let good = claims("user_1", "org_acme", "member");

    for _ in 0..3 {
        assert_eq!(post(&app, &token(&good)).await.status().as_u16(), 200);
    }
    assert_eq!(jwks.hits(), 1, "one fetch serves every request");

    // Clerk rotates: the new key appears in the JWKS, and the first token signed with it
    // triggers a refetch.
    jwks.set_keys(vec![jwk_a(), jwk_b()]);
    let rotated = sign(&good, Some(KID_B), PRIVATE_B);
    assert_eq!(post(&app, &rotated).await.status().as_u16(), 200);
    assert_eq!(jwks.hits(), 2);

    // Garbage kids cannot make us hammer Clerk: no further fetch within the minute.
    for n in 0..5 {
        let kid = format!("made-up-{n}");
        let response = post(&app, &sign(&good, Some(&kid), PRIVATE_B)).await;
        assert_error(response, 401, "UNAUTHORIZED").await;
    }
    assert_eq!(
        jwks.hits(),
        2,
        "at most one refetch for unknown kids per minute"
    );
    assert_eq!(post(&app, &rotated).await.status().as_u16(), 200);
    assert_eq!(jwks.hits(), 2);
}

#[tokio::test]
async fn keys_are_fetched_again_after_the_ttl() {
    let jwks = Jwks::serve(vec![jwk_a()]).await;
    let app = app_with(jwks.config(Duration::from_millis(300))).await;
    clerk_org(&app.db, "acme", "org_acme").await;
    let good = token(&claims("user_1", "org_acme", "member"));
    assert_eq!(post(&app, &good).await.status().as_u16(), 200);
    assert_eq!(post(&app, &good).await.status().as_u16(), 200);
    assert_eq!(jwks.hits(), 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(post(&app, &good).await.status().as_u16(), 200);
    assert_eq!(jwks.hits(), 2);
}

#[tokio::test]
async fn an_unreachable_key_set_is_our_outage_not_the_callers_fault() {
    // A port held by this test and never listened on: connections to it are refused.
    let (_held, port) = crate::helpers::closed_port();
    let config = aura::auth::clerk::ClerkConfig {
        source: aura::auth::clerk::KeySource::Jwks {
            url: format!("http://127.0.0.1:{port}/jwks").parse().unwrap(),
            ttl: Duration::from_secs(3600),
        },
        issuer: ISSUER.to_owned(),
        authorized_parties: vec![],
    };
    let app = app_with(config).await;
    clerk_org(&app.db, "acme", "org_acme").await;
    let response = post(&app, &token(&claims("user_1", "org_acme", "member"))).await;
    let body = assert_error(response, 503, "SERVICE_UNAVAILABLE").await;
    assert!(!body["error"].as_str().unwrap().contains("127.0.0.1"));
}

#[tokio::test]
async fn a_pem_key_verifies_without_any_network() {
    let app = app_with(pem_config()).await;
    clerk_org(&app.db, "acme", "org_acme").await;
    let good = claims("user_1", "org_acme", "member");
    app.graphql_ok(&sign(&good, None, PRIVATE_A), LEADS, json!({}))
        .await;
    app.graphql_ok(&token(&good), LEADS, json!({})).await;
    assert_error(
        post(&app, &sign(&good, Some(KID_A), PRIVATE_B)).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
}

#[tokio::test]
async fn without_clerk_settings_tokens_are_refused() {
    let app = TestApp::spawn().await;
    clerk_org(&app.db, "acme", "org_acme").await;
    let body = assert_error(
        post(&app, &token(&claims("user_1", "org_acme", "admin"))).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
    assert!(body["error"].as_str().unwrap().contains("not configured"));
}

//! Commission platforms read what each payment earns, exactly, from the rates in force
//! when it was paid.

use aura::domain::CommissionRate;
use aura::domain::ScopeSet;
use aura::services::commissions::{rate_at, rates_for, record_rate};
use chrono::{Duration, Utc};
use serde_json::json;

use crate::factory::{org_with_key, seed};
use crate::helpers::TestApp;

#[tokio::test]
async fn payments_carry_exact_commissions_in_graphql_and_rest() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let s = seed(&app.db, org.id, "acme", 2).await;
    let data = app
        .graphql_ok(
            &org.key,
            "query($id: ID!) { payment(id: $id) { amount commissions { teamMemberId role rate amount amountDecimal currency } } }",
            json!({"id": s.payments[0]}),
        )
        .await;
    assert_eq!(
        data["payment"]["commissions"],
        json!([{"teamMemberId": s.team_member, "role": "CLOSER", "rate": "0.125", "amount": 18750, "amountDecimal": "18750", "currency": "USD"}])
    );
    let rest: serde_json::Value = app
        .get(&format!("/v1/payments/{}", s.payments[0]), Some(&org.key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        rest["data"]["commissions"],
        json!([{"team_member_id": s.team_member, "role": "closer", "rate": "0.125", "amount": 18750, "amount_decimal": "18750", "currency": "USD"}])
    );
}

#[tokio::test]
async fn earned_totals_over_a_date_range() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let s = seed(&app.db, org.id, "acme", 3).await;
    let path = format!("/v1/team/{}/commissions", s.team_member);
    let all: serde_json::Value = app.get(&path, Some(&org.key)).await.json().await.unwrap();
    assert_eq!(
        all,
        json!({"success": true, "data": [{"currency": "USD", "amount": 56250, "amount_decimal": "56250", "payments": 3}]})
    );

    let future = aura::time::format_rfc3339(Utc::now() + Duration::days(1));
    let none: serde_json::Value = app
        .get(&format!("{path}?paid_after={future}"), Some(&org.key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["data"], json!([]));

    let data = app
        .graphql_ok(
            &org.key,
            "query($id: ID!, $b: DateTime) { teamMember(id: $id) { commissionTotals(paidBefore: $b) { currency amount payments } } }",
            json!({"id": s.team_member, "b": future}),
        )
        .await;
    assert_eq!(
        data["teamMember"]["commissionTotals"][0]["amount"],
        json!(56250)
    );

    // Another organization's member is NOT_FOUND.
    let other = org_with_key(&app.db, "other", ScopeSet::all()).await;
    let response = app.get(&path, Some(&other.key)).await;
    crate::helpers::assert_error(response, 404, "NOT_FOUND").await;
    // Needs payments:read as well as team:read.
    let team_only = crate::factory::keys::create(
        &app.db,
        org.id,
        "team only",
        [aura::domain::Scope::TeamRead].into_iter().collect(),
        None,
    )
    .await
    .unwrap();
    let response = app.get(&path, Some(&team_only.secret)).await;
    let body = crate::helpers::assert_error(response, 403, "FORBIDDEN").await;
    assert!(body["error"].as_str().unwrap().contains("payments:read"));
}

#[tokio::test]
async fn the_rate_in_force_at_payment_time_applies() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let s = seed(&app.db, org.id, "acme", 0).await;
    let member = aura::ids::decode(aura::ids::IdKind::TeamMember, &s.team_member).unwrap();
    let now = aura::time::now();
    // History: 0.1 from 30 days ago, 0.2 from 10 days ago, then the seed's 0.125 from 5
    // days ago.
    record_rate(
        &app.db,
        org.id,
        member,
        CommissionRate::parse("0.1").unwrap(),
        now - Duration::days(30),
    )
    .await
    .unwrap();
    record_rate(
        &app.db,
        org.id,
        member,
        CommissionRate::parse("0.2").unwrap(),
        now - Duration::days(10),
    )
    .await
    .unwrap();
    assert_eq!(
        rate_at(&app.db, member, now - Duration::days(20))
            .await
            .unwrap(),
        Some(100_000)
    );
    assert_eq!(
        rate_at(&app.db, member, now - Duration::days(7))
            .await
            .unwrap(),
        Some(200_000)
    );
    assert_eq!(rate_at(&app.db, member, now).await.unwrap(), Some(125_000));
    assert_eq!(
        rate_at(&app.db, member, now - Duration::days(400))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        rates_for(&app.db, Some(member), None, now - Duration::days(20))
            .await
            .unwrap(),
        (Some(100_000), None)
    );
}

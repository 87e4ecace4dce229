//! The scope matrix, over GraphQL: a key holding one scope against every resource's list,
//! get and nested relations. Scopes are enforced in the schema, so REST (which runs these
//! same operations) inherits every cell.

use aura::domain::{Scope, ScopeSet};
use serde_json::{Value, json};

use crate::factory::{Seeded, org_with_key, seed};
use crate::helpers::TestApp;

/// A resource: its scope, list field, get field, and an id to get.
struct Resource {
    scope: Scope,
    list: &'static str,
    get: &'static str,
    id: fn(&Seeded) -> String,
    /// Nested relation fields and the scope each needs.
    relations: &'static [(&'static str, Scope)],
}

const RESOURCES: &[Resource] = &[
    Resource {
        scope: Scope::LeadsRead,
        list: "leads",
        get: "lead",
        id: |s| s.leads[0].clone(),
        relations: &[
            ("assignedTo { id }", Scope::TeamRead),
            ("calls { nodes { id } }", Scope::CallsRead),
            ("payments { nodes { id } }", Scope::PaymentsRead),
        ],
    },
    Resource {
        scope: Scope::CallsRead,
        list: "calls",
        get: "call",
        id: |s| s.calls[0].clone(),
        relations: &[
            ("lead { id }", Scope::LeadsRead),
            ("bookingLink { id }", Scope::BookingLinksRead),
            ("closer { id }", Scope::TeamRead),
        ],
    },
    Resource {
        scope: Scope::TeamRead,
        list: "teamMembers",
        get: "teamMember",
        id: |s| s.team_member.clone(),
        relations: &[
            ("calls { nodes { id } }", Scope::CallsRead),
            ("payments { nodes { id } }", Scope::PaymentsRead),
            ("assignedLeads { nodes { id } }", Scope::LeadsRead),
            ("bookingLinks { nodes { id } }", Scope::BookingLinksRead),
        ],
    },
    Resource {
        scope: Scope::BookingLinksRead,
        list: "bookingLinks",
        get: "bookingLink",
        id: |s| s.booking_link.clone(),
        relations: &[
            ("owner { id }", Scope::TeamRead),
            ("calls { nodes { id } }", Scope::CallsRead),
        ],
    },
    Resource {
        scope: Scope::ProductsRead,
        list: "products",
        get: "product",
        id: |s| s.product.clone(),
        relations: &[("payments { nodes { id } }", Scope::PaymentsRead)],
    },
    Resource {
        scope: Scope::PaymentsRead,
        list: "payments",
        get: "payment",
        id: |s| s.payments[0].clone(),
        relations: &[
            ("lead { id }", Scope::LeadsRead),
            ("product { id }", Scope::ProductsRead),
            ("closer { id }", Scope::TeamRead),
        ],
    },
];

fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

fn assert_forbidden(body: &Value, scope: Scope, case: &str) {
    assert_eq!(error_code(body), Some("FORBIDDEN"), "{case}: {body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("`{scope}`")),
        "{case}: the message names {scope}: {message}"
    );
}

#[tokio::test]
async fn each_scope_opens_exactly_its_resource() {
    let app = TestApp::spawn().await;
    let owner = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let seeded = seed(&app.db, owner.id, "acme", 2).await;

    for held in Scope::ALL {
        let key = crate::factory::keys::create(
            &app.db,
            owner.id,
            held.as_str(),
            [held].into_iter().collect(),
            None,
        )
        .await
        .unwrap()
        .secret;
        for resource in RESOURCES {
            let allowed = resource.scope == held;
            let list = format!(
                "{{ {} {{ count edges {{ node {{ id }} }} }} }}",
                resource.list
            );
            let get = format!("query($id: ID!) {{ {}(id: $id) {{ id }} }}", resource.get);
            let id = (resource.id)(&seeded);
            for (what, query, variables) in
                [("list", list, json!({})), ("get", get, json!({"id": id}))]
            {
                let case = format!("{held} → {} {what}", resource.list);
                let (status, body) = app.graphql(&key, &query, variables).await;
                assert_eq!(status, 200, "{case}");
                if allowed {
                    assert!(body.get("errors").is_none(), "{case}: {body}");
                } else {
                    assert_forbidden(&body, resource.scope, &case);
                    assert!(body["data"].is_null(), "{case}: no data leaks: {body}");
                }
            }
        }
    }
}

#[tokio::test]
async fn nested_relations_need_their_own_scope() {
    let app = TestApp::spawn().await;
    let owner = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let seeded = seed(&app.db, owner.id, "acme", 2).await;

    for resource in RESOURCES {
        let id = (resource.id)(&seeded);
        for (relation, needed) in resource.relations {
            let query = format!(
                "query($id: ID!) {{ {}(id: $id) {{ id {relation} }} }}",
                resource.get
            );
            let case = format!("{}.{relation}", resource.get);
            // The resource's scope alone: the relation is refused, naming its scope.
            let only = [resource.scope].into_iter().collect();
            let key = crate::factory::keys::create(&app.db, owner.id, "k", only, None)
                .await
                .unwrap()
                .secret;
            let (_, body) = app.graphql(&key, &query, json!({"id": id})).await;
            assert_forbidden(&body, *needed, &case);
            // Both scopes: the relation resolves.
            let both = [resource.scope, *needed].into_iter().collect();
            let key = crate::factory::keys::create(&app.db, owner.id, "k", both, None)
                .await
                .unwrap()
                .secret;
            let data = app.graphql_ok(&key, &query, json!({"id": id})).await;
            assert!(!data[resource.get].is_null(), "{case}: {data}");
            // And through the list, the same rule.
            let list = format!(
                "{{ {}(first: 1) {{ edges {{ node {{ id {relation} }} }} }} }}",
                resource.list
            );
            let (_, body) = app
                .graphql(
                    &owner_key_with(&app, owner.id, resource.scope).await,
                    &list,
                    json!({}),
                )
                .await;
            assert_forbidden(&body, *needed, &format!("{case} via list"));
        }
    }
}

#[tokio::test]
async fn a_relation_loaded_with_its_list_still_needs_its_own_scope() {
    // `lead.calls { closer }` and `lead.payments { product }` load the closer and the
    // product in the same statement as the list when the caller may see them; without
    // the scope they are refused, and the lists themselves still answer.
    let app = TestApp::spawn().await;
    let owner = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    seed(&app.db, owner.id, "acme", 2).await;
    let query = "{ leads(first: 1) { edges { node { calls { nodes { id closer { id } } } payments { nodes { id product { id } } } } } } }";
    let without = [Scope::LeadsRead, Scope::CallsRead, Scope::PaymentsRead];
    let key =
        crate::factory::keys::create(&app.db, owner.id, "k", without.into_iter().collect(), None)
            .await
            .unwrap()
            .secret;
    let (_, body) = app.graphql(&key, query, json!({})).await;
    let errors = body["errors"].as_array().unwrap();
    let codes: Vec<&str> = errors
        .iter()
        .map(|e| e["extensions"]["code"].as_str().unwrap())
        .collect();
    assert!(codes.iter().all(|c| *c == "FORBIDDEN"), "{body}");
    let messages = body["errors"].to_string();
    assert!(
        messages.contains("`team:read`") && messages.contains("`products:read`"),
        "{body}"
    );
    let lead = &body["data"]["leads"]["edges"][0]["node"];
    assert!(lead["calls"]["nodes"][0]["id"].is_string(), "{body}");
    assert!(lead["calls"]["nodes"][0]["closer"].is_null(), "{body}");
    assert!(lead["payments"]["nodes"][0]["product"].is_null(), "{body}");

    let data = app.graphql_ok(&owner.key, query, json!({})).await;
    let lead = &data["leads"]["edges"][0]["node"];
    assert!(
        lead["calls"]["nodes"][0]["closer"]["id"].is_string(),
        "{data}"
    );
    assert!(
        lead["payments"]["nodes"][0]["product"]["id"].is_string(),
        "{data}"
    );
}

async fn owner_key_with(app: &TestApp, org: uuid::Uuid, scope: Scope) -> String {
    crate::factory::keys::create(&app.db, org, "k", [scope].into_iter().collect(), None)
        .await
        .unwrap()
        .secret
}

#[tokio::test]
async fn clerk_members_hold_the_read_scopes_and_admins_hold_all() {
    // Roles map onto scope sets in one place; members cannot write webhooks.
    assert!(
        ScopeSet::read_only()
            .iter()
            .all(|s| s.as_str().ends_with(":read"))
    );
    assert!(!ScopeSet::read_only().contains(Scope::WebhooksWrite));
    assert_eq!(ScopeSet::all().iter().count(), Scope::ALL.len());

    let app = TestApp::builder()
        .configure(|c| c.clerk = Some(crate::clerk_support::pem_config()))
        .build()
        .await;
    let org = crate::clerk_support::clerk_org(&app.db, "acme", "org_acme").await;
    let seeded = seed(&app.db, org, "acme", 1).await;
    for role in ["member", "admin"] {
        let bearer =
            crate::clerk_support::token(&crate::clerk_support::claims("user_1", "org_acme", role));
        for resource in RESOURCES {
            let query = format!("query($id: ID!) {{ {}(id: $id) {{ id }} }}", resource.get);
            app.graphql_ok(&bearer, &query, json!({"id": (resource.id)(&seeded)}))
                .await;
        }
    }
}

//! Another organization's data is never visible: not in lists, not by id, not through
//! `node`, not through nested relations, not through filters.

use aura::domain::ScopeSet;
use entities::{call, payment};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::factory::{org_with_key, seed};
use crate::helpers::TestApp;

#[tokio::test]
async fn no_row_of_another_organization_is_ever_returned() {
    let app = TestApp::spawn().await;
    let a = org_with_key(&app.db, "alpha", ScopeSet::all()).await;
    let b = org_with_key(&app.db, "bravo", ScopeSet::all()).await;
    let alpha = seed(&app.db, a.id, "alpha", 3).await;
    let bravo = seed(&app.db, b.id, "bravo", 2).await;

    // Lists show only the caller's rows.
    let data = app
        .graphql_ok(
            &b.key,
            "{ leads { count edges { node { id } } } calls { count } payments { count } teamMembers { count } products { count } bookingLinks { count } }",
            json!({}),
        )
        .await;
    assert_eq!(data["leads"]["count"], json!(2));
    for key in ["calls", "payments"] {
        assert_eq!(data[key]["count"], json!(2), "{key}");
    }
    for key in ["teamMembers", "products", "bookingLinks"] {
        assert_eq!(data[key]["count"], json!(1), "{key}");
    }
    let listed: Vec<&str> = data["leads"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    assert!(listed.iter().all(|id| bravo.leads.iter().any(|b| b == id)));

    // By id: NOT_FOUND, exactly like an id that does not exist.
    let gets = [
        ("lead", &alpha.leads[0]),
        ("call", &alpha.calls[0]),
        ("payment", &alpha.payments[0]),
        ("teamMember", &alpha.team_member),
        ("product", &alpha.product),
        ("bookingLink", &alpha.booking_link),
    ];
    for (field, id) in gets {
        let query = format!("query($id: ID!) {{ {field}(id: $id) {{ id }} }}");
        let (_, body) = app.graphql(&b.key, &query, json!({"id": id})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            json!("NOT_FOUND"),
            "{field}: {body}"
        );
        assert_eq!(body["data"], Value::Null, "{field}: {body}");
        let missing = id.rsplit_once('_').unwrap().0.to_owned()
            + "_"
            + &aura::ids::encode(aura::ids::IdKind::Lead, Uuid::now_v7())[5..];
        let (_, not_there) = app.graphql(&b.key, &query, json!({"id": missing})).await;
        assert_eq!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .replace(id.as_str(), "X"),
            not_there["errors"][0]["message"]
                .as_str()
                .unwrap()
                .replace(missing.as_str(), "X"),
            "another org's id must be indistinguishable from a missing one"
        );

        let data = app
            .graphql_ok(
                &b.key,
                "query($id: ID!) { node(id: $id) { id } }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(data["node"], Value::Null, "node({id})");
    }

    // Filters naming another organization's rows match nothing.
    let data = app
        .graphql_ok(
            &b.key,
            "query($lead: ID!, $tm: ID!) { calls(filter: {leadId: $lead}) { count } payments(filter: {teamMemberId: $tm}) { count } leads(filter: {assignedTeamMemberId: $tm}) { count } }",
            json!({"lead": alpha.leads[0], "tm": alpha.team_member}),
        )
        .await;
    assert_eq!(data["calls"]["count"], json!(0));
    assert_eq!(data["payments"]["count"], json!(0));
    assert_eq!(data["leads"]["count"], json!(0));
}

#[tokio::test]
async fn nested_relations_never_cross_organizations() {
    let app = TestApp::spawn().await;
    let a = org_with_key(&app.db, "alpha", ScopeSet::all()).await;
    let b = org_with_key(&app.db, "bravo", ScopeSet::all()).await;
    let alpha = seed(&app.db, a.id, "alpha", 1).await;
    let bravo = seed(&app.db, b.id, "bravo", 1).await;
    let alpha_lead = aura::ids::decode(aura::ids::IdKind::Lead, &alpha.leads[0]).unwrap();
    let alpha_member =
        aura::ids::decode(aura::ids::IdKind::TeamMember, &alpha.team_member).unwrap();

    // A corrupt row in bravo pointing at alpha's lead and closer.
    let now = aura::time::now();
    call::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(b.id),
        lead_id: Set(alpha_lead),
        closer_id: Set(Some(alpha_member)),
        setter_id: Set(None),
        booking_link_id: Set(None),
        scheduled_at: Set(now),
        duration_minutes: Set(30),
        status: Set(call::CallStatus::Scheduled),
        outcome: Set(None),
        notes: Set(None),
        booking_token_hash: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&app.db)
    .await
    .unwrap();

    let data = app
        .graphql_ok(
            &b.key,
            "{ calls(first: 1) { edges { node { leadId lead { name } closer { name } } } } teamMembers { edges { node { calls { nodes { lead { name } } } payments { nodes { lead { name } } } } } } }",
            json!({}),
        )
        .await;
    let node = &data["calls"]["edges"][0]["node"];
    assert_eq!(node["leadId"], json!(alpha.leads[0]));
    assert_eq!(node["lead"], Value::Null);
    assert_eq!(node["closer"], Value::Null);
    let text = data.to_string();
    assert!(!text.contains("alpha"), "alpha's data leaked: {text}");

    // Bravo's own call and payment pointing at alpha's closer and product: `lead.calls {
    // closer }` and `lead.payments { product }` load the related row in the same statement
    // as the list, and that join must be narrowed to bravo too.
    let decode = |kind, id: &str| aura::ids::decode(kind, id).unwrap();
    let alpha_product = decode(aura::ids::IdKind::Product, &alpha.product);
    call::Entity::update_many()
        .col_expr(call::Column::CloserId, Expr::value(alpha_member))
        .filter(call::Column::Id.eq(decode(aura::ids::IdKind::Call, &bravo.calls[0])))
        .exec(&app.db)
        .await
        .unwrap();
    payment::Entity::update_many()
        .col_expr(payment::Column::ProductId, Expr::value(alpha_product))
        .filter(payment::Column::Id.eq(decode(aura::ids::IdKind::Payment, &bravo.payments[0])))
        .exec(&app.db)
        .await
        .unwrap();
    let data = app
        .graphql_ok(
            &b.key,
            "{ leads { edges { node { calls { nodes { id closerId closer { name } } } payments { nodes { id productId product { name } } } } } } }",
            json!({}),
        )
        .await;
    let lead = &data["leads"]["edges"][0]["node"];
    assert_eq!(lead["calls"]["nodes"][0]["id"], json!(bravo.calls[0]));
    assert_eq!(
        lead["calls"]["nodes"][0]["closerId"],
        json!(alpha.team_member)
    );
    assert_eq!(lead["calls"]["nodes"][0]["closer"], Value::Null);
    assert_eq!(lead["payments"]["nodes"][0]["id"], json!(bravo.payments[0]));
    assert_eq!(
        lead["payments"]["nodes"][0]["productId"],
        json!(alpha.product)
    );
    assert_eq!(lead["payments"]["nodes"][0]["product"], Value::Null);
    let text = data.to_string();
    assert!(!text.contains("alpha"), "alpha's data leaked: {text}");
}

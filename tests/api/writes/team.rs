//! `createTeamMember`, `updateTeamMember` (admins only): roles and commission rates, each
//! rate change added to the member's history.

use entities::commission_rate;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use super::support::{code, field, world};

const CREATE: &str = "mutation($input: CreateTeamMemberInput!) { createTeamMember(input: $input) { id name email role commissionRate timezone active } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdateTeamMemberInput!) { updateTeamMember(id: $id, input: $input) { id role commissionRate active } }";

#[tokio::test]
async fn admins_manage_members_roles_and_rates() {
    let w = world().await;
    let data = w
        .ok(
            &w.admin,
            CREATE,
            json!({"input": {"name": "Sam Setter", "email": "Sam@Acme.test", "role": "SETTER", "commissionRate": "0.15", "timezone": "Europe/Paris"}}),
        )
        .await;
    let member = &data["createTeamMember"];
    let id = member["id"].as_str().unwrap().to_owned();
    assert_eq!(member["email"], json!("sam@acme.test"));
    assert_eq!(member["role"], json!("SETTER"));
    assert_eq!(member["commissionRate"], json!("0.15"));
    assert_eq!(member["timezone"], json!("Europe/Paris"));
    let events = w.events(w.org).await;
    let (kind, event) = events.last().unwrap();
    assert_eq!(kind, "team_member.created");
    assert_eq!(
        (&event["id"], &event["commission_rate"]),
        (&json!(id), &json!("0.15"))
    );

    let uuid = aura::ids::decode(aura::ids::IdKind::TeamMember, &id).unwrap();
    let history = || async {
        commission_rate::Entity::find()
            .filter(commission_rate::Column::TeamMemberId.eq(uuid))
            .order_by_asc(commission_rate::Column::EffectiveFrom)
            .all(&w.app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.rate_ppm)
            .collect::<Vec<_>>()
    };
    assert_eq!(history().await, [150_000]);

    let data = w
        .ok(
            &w.admin,
            UPDATE,
            json!({"id": id, "input": {"role": "CLOSER", "commissionRate": "0.2"}}),
        )
        .await;
    assert_eq!(data["updateTeamMember"]["role"], json!("CLOSER"));
    assert_eq!(data["updateTeamMember"]["commissionRate"], json!("0.2"));
    assert_eq!(history().await, [150_000, 200_000]);
    let events = w.events(w.org).await;
    let (kind, event) = events.last().unwrap();
    assert_eq!(kind, "team_member.updated");
    assert_eq!(
        (&event["role"], &event["commission_rate"]),
        (&json!("closer"), &json!("0.2"))
    );

    // The same rate again is no change: no history row, no event.
    let count = events.len();
    w.ok(
        &w.admin,
        UPDATE,
        json!({"id": id, "input": {"commissionRate": "0.200"}}),
    )
    .await;
    assert_eq!(history().await, [150_000, 200_000]);
    assert_eq!(w.events(w.org).await.len(), count);

    // Retired: listed inactive.
    let data = w
        .ok(
            &w.admin,
            UPDATE,
            json!({"id": id, "input": {"active": false}}),
        )
        .await;
    assert_eq!(data["updateTeamMember"]["active"], json!(false));
}

#[tokio::test]
async fn team_validation_names_the_field() {
    let w = world().await;
    let base = json!({"name": "N", "email": "n@acme.test", "role": "CLOSER"});
    let with = |key: &str, value: serde_json::Value| {
        let mut input = base.clone();
        input[key] = value;
        input
    };
    for (input, expected) in [
        (with("name", json!("")), "name"),
        (with("email", json!("n@")), "email"),
        (with("commissionRate", json!("1.5")), "commissionRate"),
        (with("commissionRate", json!("-0.1")), "commissionRate"),
        (with("commissionRate", json!("0.1234567")), "commissionRate"),
        (with("timezone", json!("Mars/Olympus")), "timezone"),
    ] {
        let body = w.fails(&w.admin, CREATE, json!({"input": input})).await;
        assert_eq!(
            (code(&body), field(&body)),
            ("VALIDATION_ERROR", expected),
            "{body}"
        );
    }
    // Not a decimal at all: refused by the schema, still a validation error.
    let body = w
        .fails(
            &w.admin,
            CREATE,
            json!({"input": with("commissionRate", json!(0.1))}),
        )
        .await;
    assert_eq!(code(&body), "VALIDATION_ERROR", "{body}");
    let body = w
        .fails(
            &w.admin,
            UPDATE,
            json!({"id": w.own.team_member, "input": {"commissionRate": "2"}}),
        )
        .await;
    assert_eq!(
        (code(&body), field(&body)),
        ("VALIDATION_ERROR", "commissionRate"),
        "{body}"
    );
    assert!(w.events(w.org).await.is_empty());
}

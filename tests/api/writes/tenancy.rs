//! Every mutation refuses another organization's ids, the target's and every referenced
//! one (`leadId`, `closerId`, `productId`, `ownerId`, …), with the same NOT_FOUND as an
//! id that does not exist, and changes nothing anywhere.

use entities::{booking_link, call, commission_rate, lead, payment, product, team_member};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use super::support::{code, days_ahead, world};

/// Everything an organization owns, to compare before and after.
#[derive(Debug, PartialEq)]
struct Snapshot {
    leads: Vec<lead::Model>,
    calls: Vec<call::Model>,
    payments: Vec<payment::Model>,
    products: Vec<product::Model>,
    members: Vec<team_member::Model>,
    links: Vec<booking_link::Model>,
    rates: Vec<commission_rate::Model>,
}

async fn snapshot(db: &DatabaseConnection, org: Uuid) -> Snapshot {
    Snapshot {
        leads: lead::Entity::find()
            .filter(lead::Column::OrganizationId.eq(org))
            .all(db)
            .await
            .unwrap(),
        calls: call::Entity::find()
            .filter(call::Column::OrganizationId.eq(org))
            .all(db)
            .await
            .unwrap(),
        payments: payment::Entity::find()
            .filter(payment::Column::OrganizationId.eq(org))
            .all(db)
            .await
            .unwrap(),
        products: product::Entity::find()
            .filter(product::Column::OrganizationId.eq(org))
            .all(db)
            .await
            .unwrap(),
        members: team_member::Entity::find()
            .filter(team_member::Column::OrganizationId.eq(org))
            .all(db)
            .await
            .unwrap(),
        links: booking_link::Entity::find()
            .filter(booking_link::Column::OrganizationId.eq(org))
            .all(db)
            .await
            .unwrap(),
        rates: commission_rate::Entity::find()
            .filter(commission_rate::Column::OrganizationId.eq(org))
            .all(db)
            .await
            .unwrap(),
    }
}

#[tokio::test]
async fn every_mutation_refuses_another_organizations_ids() {
    let w = world().await;
    let (own, other) = (&w.own, &w.other);
    let at = days_ahead(7);
    let hours = json!([{"day": "MON", "start": "09:00", "end": "17:00"}]);
    let link = |owner: &str| json!({"slug": "acme-tenancy", "name": "L", "ownerId": owner, "durationMinutes": 30, "timezone": "UTC", "weeklyHours": hours});
    let cases: Vec<(&str, &str, Value)> = vec![
        // Targets in the other organization.
        (
            "updateLead",
            "id: $id, input: {status: WON}",
            json!({"id": other.leads[0]}),
        ),
        (
            "rescheduleCall",
            "id: $id, input: {scheduledAt: \"2031-01-06T10:00:00Z\"}",
            json!({"id": other.calls[0]}),
        ),
        ("cancelCall", "id: $id", json!({"id": other.calls[0]})),
        (
            "logCallOutcome",
            "id: $id, input: {status: COMPLETED}",
            json!({"id": other.calls[0]}),
        ),
        (
            "updateCall",
            "id: $id, input: {notes: \"x\"}",
            json!({"id": other.calls[0]}),
        ),
        (
            "updatePayment",
            "id: $id, input: {externalId: \"x\"}",
            json!({"id": other.payments[0]}),
        ),
        ("refundPayment", "id: $id", json!({"id": other.payments[0]})),
        (
            "updateProduct",
            "id: $id, input: {name: \"x\"}",
            json!({"id": other.product}),
        ),
        (
            "updateTeamMember",
            "id: $id, input: {name: \"x\"}",
            json!({"id": other.team_member}),
        ),
        (
            "updateBookingLink",
            "id: $id, input: {name: \"x\"}",
            json!({"id": other.booking_link}),
        ),
        // Ids that do not exist, or name something else, answer exactly the same.
        (
            "updateLead",
            "id: $id, input: {status: WON}",
            json!({"id": "lead_nope"}),
        ),
        (
            "updateLead",
            "id: $id, input: {status: WON}",
            json!({"id": own.calls[0]}),
        ),
        (
            "refundPayment",
            "id: $id",
            json!({"id": "pay_01jdq3k7b8x9m2n4p5r6s7t8v9"}),
        ),
        // References to the other organization's rows, from this organization's.
        (
            "createLead",
            "input: $input",
            json!({"input": {"name": "L", "assignedTeamMemberId": other.team_member}}),
        ),
        (
            "updateLead",
            "id: $id, input: $input",
            json!({"id": own.leads[0], "input": {"assignedTeamMemberId": other.team_member}}),
        ),
        (
            "createCall",
            "input: $input",
            json!({"input": {"leadId": other.leads[0], "scheduledAt": at}}),
        ),
        (
            "createCall",
            "input: $input",
            json!({"input": {"leadId": own.leads[0], "closerId": other.team_member, "scheduledAt": at}}),
        ),
        (
            "createCall",
            "input: $input",
            json!({"input": {"leadId": own.leads[0], "setterId": other.team_member, "scheduledAt": at}}),
        ),
        (
            "updateCall",
            "id: $id, input: $input",
            json!({"id": own.calls[0], "input": {"closerId": other.team_member}}),
        ),
        (
            "updateCall",
            "id: $id, input: $input",
            json!({"id": own.calls[0], "input": {"setterId": other.team_member}}),
        ),
        (
            "recordPayment",
            "input: $input",
            json!({"input": {"leadId": other.leads[0], "amount": 1, "currency": "USD"}}),
        ),
        (
            "recordPayment",
            "input: $input",
            json!({"input": {"leadId": own.leads[0], "productId": other.product, "amount": 1, "currency": "USD"}}),
        ),
        (
            "recordPayment",
            "input: $input",
            json!({"input": {"leadId": own.leads[0], "closerId": other.team_member, "amount": 1, "currency": "USD"}}),
        ),
        (
            "recordPayment",
            "input: $input",
            json!({"input": {"leadId": own.leads[0], "setterId": other.team_member, "amount": 1, "currency": "USD"}}),
        ),
        (
            "updatePayment",
            "id: $id, input: $input",
            json!({"id": own.payments[0], "input": {"productId": other.product}}),
        ),
        (
            "updatePayment",
            "id: $id, input: $input",
            json!({"id": own.payments[0], "input": {"closerId": other.team_member}}),
        ),
        (
            "updatePayment",
            "id: $id, input: $input",
            json!({"id": own.payments[0], "input": {"setterId": other.team_member}}),
        ),
        (
            "createBookingLink",
            "input: $input",
            json!({"input": link(&other.team_member)}),
        ),
        (
            "updateBookingLink",
            "id: $id, input: $input",
            json!({"id": own.booking_link, "input": {"ownerId": other.team_member}}),
        ),
    ];
    let mine = snapshot(&w.app.db, w.org).await;
    let theirs = snapshot(&w.app.db, w.other_org).await;
    for (name, args, variables) in cases {
        let input_type = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
        let params = match (args.contains("$id"), args.contains("$input")) {
            (true, true) => format!("($id: ID!, $input: {input_type}!)"),
            (true, false) => "($id: ID!)".to_owned(),
            _ => format!("($input: {input_type}!)"),
        };
        let query = format!("mutation{params} {{ {name}({args}) {{ id }} }}");
        let body = w.fails(&w.admin, &query, variables.clone()).await;
        assert_eq!(code(&body), "NOT_FOUND", "{name} {variables}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.ends_with("not found"), "{message}");
    }
    assert_eq!(w.event_count().await, 0, "no event anywhere");
    assert!(
        snapshot(&w.app.db, w.other_org).await == theirs,
        "the other organization is untouched"
    );
    assert!(
        snapshot(&w.app.db, w.org).await == mine,
        "and so is this one"
    );
}

//! The role matrix, mutation by mutation: API keys are read-only (403 whatever their
//! scopes), members may do the pipeline's daily work, admins everything; a refused
//! attempt writes nothing, an allowed one writes its change and exactly one event.

use serde_json::{Value, json};

use super::support::{World, code, days_ahead, world};

struct Op {
    name: &'static str,
    query: String,
    variables: Value,
    members_may: bool,
    event: &'static str,
}

fn op(
    name: &'static str,
    args: &str,
    variables: Value,
    members_may: bool,
    event: &'static str,
) -> Op {
    let params = match (args.contains("$id"), args.contains("$input")) {
        (true, true) => format!("($id: ID!, $input: {}!)", input_type(name)),
        (true, false) => "($id: ID!)".to_owned(),
        (false, true) => format!("($input: {}!)", input_type(name)),
        (false, false) => String::new(),
    };
    Op {
        name,
        query: format!("mutation{params} {{ {name}({args}) {{ id }} }}"),
        variables,
        members_may,
        event,
    }
}

fn input_type(name: &str) -> String {
    let mut chars = name.chars();
    let first = chars.next().unwrap().to_ascii_uppercase();
    format!("{first}{}Input", chars.as_str())
}

fn operations(w: &World) -> Vec<Op> {
    let hours = json!([{"day": "MON", "start": "09:00", "end": "17:00"}]);
    vec![
        op(
            "createLead",
            "input: $input",
            json!({"input": {"name": "Matrix Lead"}}),
            true,
            "lead.created",
        ),
        op(
            "updateLead",
            "id: $id, input: $input",
            json!({"id": w.own.leads[0], "input": {"status": "CONTACTED"}}),
            true,
            "lead.updated",
        ),
        op(
            "createCall",
            "input: $input",
            json!({"input": {"leadId": w.own.leads[1], "closerId": w.own.team_member, "scheduledAt": days_ahead(10)}}),
            true,
            "call.booked",
        ),
        op(
            "rescheduleCall",
            "id: $id, input: $input",
            json!({"id": w.own.calls[0], "input": {"scheduledAt": days_ahead(11)}}),
            true,
            "call.updated",
        ),
        op(
            "updateCall",
            "id: $id, input: $input",
            json!({"id": w.own.calls[0], "input": {"notes": "Matrix"}}),
            true,
            "call.updated",
        ),
        op(
            "logCallOutcome",
            "id: $id, input: $input",
            json!({"id": w.own.calls[0], "input": {"status": "COMPLETED"}}),
            true,
            "call.updated",
        ),
        op(
            "cancelCall",
            "id: $id",
            json!({"id": w.own.calls[1]}),
            true,
            "call.canceled",
        ),
        op(
            "recordPayment",
            "input: $input",
            json!({"input": {"leadId": w.own.leads[0], "amount": 100, "currency": "USD"}}),
            true,
            "payment.created",
        ),
        op(
            "updatePayment",
            "id: $id, input: $input",
            json!({"id": w.own.payments[0], "input": {"externalId": "matrix"}}),
            true,
            "payment.updated",
        ),
        op(
            "refundPayment",
            "id: $id",
            json!({"id": w.own.payments[1]}),
            false,
            "payment.refunded",
        ),
        op(
            "createProduct",
            "input: $input",
            json!({"input": {"name": "P", "priceAmount": 1, "currency": "USD", "billing": "ONE_TIME"}}),
            false,
            "product.created",
        ),
        op(
            "updateProduct",
            "id: $id, input: $input",
            json!({"id": w.own.product, "input": {"name": "Renamed"}}),
            false,
            "product.updated",
        ),
        op(
            "createTeamMember",
            "input: $input",
            json!({"input": {"name": "T", "email": "t@acme.test", "role": "SETTER"}}),
            false,
            "team_member.created",
        ),
        op(
            "updateTeamMember",
            "id: $id, input: $input",
            json!({"id": w.own.team_member, "input": {"role": "MANAGER"}}),
            false,
            "team_member.updated",
        ),
        op(
            "createBookingLink",
            "input: $input",
            json!({"input": {"slug": "acme-matrix", "name": "M", "ownerId": w.own.team_member, "durationMinutes": 30, "timezone": "UTC", "weeklyHours": hours}}),
            false,
            "booking_link.created",
        ),
        op(
            "updateBookingLink",
            "id: $id, input: $input",
            json!({"id": w.own.booking_link, "input": {"name": "Renamed"}}),
            false,
            "booking_link.updated",
        ),
    ]
}

#[tokio::test]
async fn every_mutation_follows_the_role_matrix() {
    let w = world().await;
    let ops = operations(&w);
    assert_eq!(ops.len(), 16);
    for op in &ops {
        let before = w.event_count().await;

        // No credential: 401.
        let response = w
            .app
            .client
            .post(w.app.url("/graphql"))
            .json(&json!({"query": op.query, "variables": op.variables}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401, "{}", op.name);

        // An API key, even holding every scope: 403.
        let body = w.fails(&w.key, &op.query, op.variables.clone()).await;
        assert_eq!(code(&body), "FORBIDDEN", "{}: {body}", op.name);
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("API keys are read-only"),
            "{}: {body}",
            op.name
        );

        // A member, on what only admins may do: 403.
        if !op.members_may {
            let body = w.fails(&w.member, &op.query, op.variables.clone()).await;
            assert_eq!(code(&body), "FORBIDDEN", "{}: {body}", op.name);
            assert!(
                body["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("admin"),
                "{}: {body}",
                op.name
            );
        }
        assert_eq!(
            w.event_count().await,
            before,
            "{}: refusals write nothing",
            op.name
        );

        // The least privileged role that may: the change and exactly one event.
        let bearer = if op.members_may { &w.member } else { &w.admin };
        let data = w.ok(bearer, &op.query, op.variables.clone()).await;
        let id = data[op.name]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: {data}", op.name));
        let events = w.events(w.org).await;
        assert_eq!(events.len(), before + 1, "{}", op.name);
        let (kind, event) = events.last().unwrap();
        assert_eq!(kind, op.event, "{}", op.name);
        assert_eq!(
            event["id"],
            json!(id),
            "{}: the event is about the changed object",
            op.name
        );
    }
}

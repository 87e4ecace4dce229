//! `createCall`, `rescheduleCall`, `cancelCall`, `logCallOutcome`, `updateCall`, and how
//! they hold and free the closer's calendar, as public availability sees it.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::support::{World, code, days_ahead, field, world};

const CREATE: &str = "mutation($input: CreateCallInput!) { createCall(input: $input) { id leadId closerId setterId scheduledAt durationMinutes status notes lead { status } } }";
const RESCHEDULE: &str = "mutation($id: ID!, $at: DateTime!) { rescheduleCall(id: $id, input: {scheduledAt: $at}) { id scheduledAt status } }";
const CANCEL: &str = "mutation($id: ID!, $reason: String) { cancelCall(id: $id, reason: $reason) { id status notes } }";
const LOG: &str = "mutation($id: ID!, $input: LogCallOutcomeInput!) { logCallOutcome(id: $id, input: $input) { id status outcome notes } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdateCallInput!) { updateCall(id: $id, input: $input) { id closerId setterId notes } }";
const CREATE_LINK: &str =
    "mutation($input: CreateBookingLinkInput!) { createBookingLink(input: $input) { id slug } }";

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn rfc(at: DateTime<Utc>) -> String {
    aura::time::format_rfc3339(at)
}

/// A link on `owner`'s calendar open all day, every day, 30-minute slots, no buffer.
async fn open_link(w: &World, slug: &str, owner: &str) {
    let hours: Vec<Value> = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
        .iter()
        .map(|d| json!({"day": d, "start": "00:00", "end": "24:00"}))
        .collect();
    w.ok(
        &w.admin,
        CREATE_LINK,
        json!({"input": {"slug": slug, "name": "Open", "ownerId": owner, "durationMinutes": 30, "timezone": "UTC", "weeklyHours": hours}}),
    )
    .await;
}

/// The link's free starts over the day from `from`, as a widget sees them.
async fn free(w: &World, slug: &str, from: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let response = w
        .app
        .client
        .post(w.app.url("/graphql"))
        .json(&json!({
            "query": "query($s: String!, $f: DateTime!, $t: DateTime!) { availableSlots(slug: $s, from: $f, to: $t) { start } }",
            "variables": {"s": slug, "f": rfc(from), "t": rfc(from + Duration::hours(12))}
        }))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    body["data"]["availableSlots"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|s| at(s["start"].as_str().unwrap()))
        .collect()
}

/// The organization's newest event.
async fn last_event(w: &World) -> (String, Value) {
    w.events(w.org).await.pop().expect("an event")
}

#[tokio::test]
async fn calls_hold_and_free_the_closers_calendar() {
    let w = world().await;
    open_link(&w, "acme-open", &w.own.team_member).await;
    let t = at(&days_ahead(3));
    let slot = |minutes: i64| t + Duration::minutes(minutes);
    assert!(free(&w, "acme-open", t).await.contains(&t));

    // A member books an hour with the closer: both half-hours disappear from the link.
    let data = w
        .ok(
            &w.member,
            CREATE,
            json!({"input": {"leadId": w.own.leads[0], "closerId": w.own.team_member, "scheduledAt": rfc(t), "durationMinutes": 60, "notes": "Discovery"}}),
        )
        .await;
    let first = data["createCall"].clone();
    let first_id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(first["status"], json!("SCHEDULED"));
    assert_eq!(first["durationMinutes"], json!(60));
    assert_eq!(first["closerId"], json!(w.own.team_member));
    let slots = free(&w, "acme-open", t).await;
    assert!(!slots.contains(&slot(0)) && !slots.contains(&slot(30)));
    assert!(slots.contains(&slot(60)));
    let (kind, event) = last_event(&w).await;
    assert_eq!(kind, "call.booked");
    assert_eq!(event["id"], json!(first_id));
    assert_eq!(event["closer_id"], json!(w.own.team_member));

    // Overlapping the closer's calendar: CONFLICT, and nothing written.
    let before = w.event_count().await;
    let body = w
        .fails(
            &w.member,
            CREATE,
            json!({"input": {"leadId": w.own.leads[1], "closerId": w.own.team_member, "scheduledAt": rfc(slot(30))}}),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT", "{body}");
    assert_eq!(w.event_count().await, before);

    // Rescheduled: the old time comes back, the new one is held.
    let data = w
        .ok(
            &w.member,
            RESCHEDULE,
            json!({"id": first_id, "at": rfc(slot(120))}),
        )
        .await;
    assert_eq!(
        at(data["rescheduleCall"]["scheduledAt"].as_str().unwrap()),
        slot(120)
    );
    let slots = free(&w, "acme-open", t).await;
    assert!(slots.contains(&slot(0)) && slots.contains(&slot(30)));
    assert!(!slots.contains(&slot(120)) && !slots.contains(&slot(150)));
    assert_eq!(last_event(&w).await.0, "call.updated");

    // Moving onto another call's time fails and keeps the call where it was.
    let data = w
        .ok(
            &w.member,
            CREATE,
            json!({"input": {"leadId": w.own.leads[1], "closerId": w.own.team_member, "scheduledAt": rfc(slot(240))}}),
        )
        .await;
    let second_id = data["createCall"]["id"].as_str().unwrap().to_owned();
    let body = w
        .fails(
            &w.member,
            RESCHEDULE,
            json!({"id": first_id, "at": rfc(slot(210))}),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT", "{body}");
    let slots = free(&w, "acme-open", t).await;
    assert!(
        !slots.contains(&slot(120)),
        "the failed move kept its old hold"
    );
    assert!(slots.contains(&slot(210)), "and took nothing");

    // Logging the outcome frees the time; a logged outcome can be corrected.
    let data = w
        .ok(
            &w.member,
            LOG,
            json!({"id": first_id, "input": {"status": "COMPLETED", "outcome": "closed_won", "notes": "Signed"}}),
        )
        .await;
    assert_eq!(data["logCallOutcome"]["status"], json!("COMPLETED"));
    assert_eq!(data["logCallOutcome"]["outcome"], json!("closed_won"));
    assert!(free(&w, "acme-open", t).await.contains(&slot(120)));
    let (kind, event) = last_event(&w).await;
    assert_eq!(
        (kind.as_str(), &event["status"]),
        ("call.updated", &json!("completed"))
    );
    let data = w
        .ok(
            &w.member,
            LOG,
            json!({"id": first_id, "input": {"status": "NO_SHOW"}}),
        )
        .await;
    assert_eq!(data["logCallOutcome"]["status"], json!("NO_SHOW"));
    assert_eq!(
        data["logCallOutcome"]["outcome"],
        json!("closed_won"),
        "kept"
    );
    let body = w
        .fails(
            &w.member,
            RESCHEDULE,
            json!({"id": first_id, "at": rfc(slot(0))}),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT", "only scheduled calls move: {body}");

    // Canceled: the time is free, the reason is in the notes; twice changes nothing.
    let data = w
        .ok(
            &w.member,
            CANCEL,
            json!({"id": second_id, "reason": "Lead asked"}),
        )
        .await;
    assert_eq!(data["cancelCall"]["status"], json!("CANCELED"));
    assert!(
        data["cancelCall"]["notes"]
            .as_str()
            .unwrap()
            .contains("Lead asked")
    );
    assert!(free(&w, "acme-open", t).await.contains(&slot(240)));
    let events = w.events(w.org).await;
    assert_eq!(events.last().unwrap().0, "call.canceled");
    w.ok(&w.member, CANCEL, json!({"id": second_id})).await;
    assert_eq!(w.events(w.org).await.len(), events.len());
    let body = w
        .fails(
            &w.member,
            LOG,
            json!({"id": second_id, "input": {"status": "COMPLETED"}}),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT", "{body}");
    let body = w.fails(&w.member, CANCEL, json!({"id": first_id})).await;
    assert_eq!(
        code(&body),
        "CONFLICT",
        "a call with an outcome is not canceled: {body}"
    );
}

#[tokio::test]
async fn reassigning_a_call_moves_its_hold_and_a_new_lead_gets_booked() {
    let w = world().await;
    open_link(&w, "acme-open", &w.own.team_member).await;
    let data = w
        .ok(
            &w.admin,
            "mutation { createTeamMember(input: {name: \"Second Closer\", email: \"second@acme.test\", role: CLOSER}) { id } }",
            json!({}),
        )
        .await;
    let second = data["createTeamMember"]["id"].as_str().unwrap().to_owned();
    open_link(&w, "second-open", &second).await;
    let t = at(&days_ahead(4));

    // A new lead's first call books it, with its own event before the call's.
    let data = w
        .ok(
            &w.member,
            "mutation { createLead(input: {name: \"Fresh\"}) { id status } }",
            json!({}),
        )
        .await;
    let lead = data["createLead"]["id"].as_str().unwrap().to_owned();
    let data = w
        .ok(
            &w.member,
            CREATE,
            json!({"input": {"leadId": lead, "closerId": w.own.team_member, "setterId": second, "scheduledAt": rfc(t)}}),
        )
        .await;
    let call = data["createCall"]["id"].as_str().unwrap().to_owned();
    assert_eq!(data["createCall"]["lead"]["status"], json!("BOOKED"));
    assert_eq!(data["createCall"]["setterId"], json!(second));
    let events = w.events(w.org).await;
    let kinds: Vec<&str> = events
        .iter()
        .rev()
        .take(2)
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(kinds, ["call.booked", "lead.updated"]);
    assert_eq!(events[events.len() - 2].1["status"], json!("booked"));

    // To the second closer: the first's time frees up, the second's is held.
    assert!(free(&w, "second-open", t).await.contains(&t));
    let data = w
        .ok(
            &w.member,
            UPDATE,
            json!({"id": call, "input": {"closerId": second, "setterId": null, "notes": "Handed over"}}),
        )
        .await;
    assert_eq!(data["updateCall"]["closerId"], json!(second));
    assert_eq!(data["updateCall"]["setterId"], json!(null));
    assert!(free(&w, "acme-open", t).await.contains(&t));
    assert!(!free(&w, "second-open", t).await.contains(&t));
    let (kind, event) = last_event(&w).await;
    assert_eq!(
        (kind.as_str(), &event["closer_id"]),
        ("call.updated", &json!(second))
    );

    // Back onto a closer who is busy then: CONFLICT, and the call stays put.
    w.ok(
        &w.member,
        CREATE,
        json!({"input": {"leadId": w.own.leads[0], "closerId": w.own.team_member, "scheduledAt": rfc(t)}}),
    )
    .await;
    let body = w
        .fails(
            &w.member,
            UPDATE,
            json!({"id": call, "input": {"closerId": w.own.team_member}}),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT", "{body}");
    assert!(!free(&w, "second-open", t).await.contains(&t));
}

#[tokio::test]
async fn call_validation_names_the_field() {
    let w = world().await;
    let t = days_ahead(5);
    let creates = [
        (
            json!({"leadId": w.own.leads[0], "scheduledAt": t, "durationMinutes": 7}),
            "durationMinutes",
        ),
        (
            json!({"leadId": w.own.leads[0], "scheduledAt": t, "durationMinutes": 600}),
            "durationMinutes",
        ),
        (
            json!({"leadId": w.own.leads[0], "scheduledAt": t, "notes": "n".repeat(10_001)}),
            "notes",
        ),
    ];
    for (input, expected) in creates {
        let body = w.fails(&w.member, CREATE, json!({"input": input})).await;
        assert_eq!(code(&body), "VALIDATION_ERROR", "{body}");
        assert_eq!(field(&body), expected, "{body}");
    }
    let call = &w.own.calls[0];
    let cases = [
        (
            CANCEL,
            json!({"id": call, "reason": "r".repeat(1001)}),
            "reason",
        ),
        (
            LOG,
            json!({"id": call, "input": {"status": "COMPLETED", "outcome": "o".repeat(201)}}),
            "outcome",
        ),
        (
            "mutation($id: ID!) { rescheduleCall(id: $id, input: {scheduledAt: \"2030-01-01T10:00:00Z\", durationMinutes: 0}) { id } }",
            json!({"id": call}),
            "durationMinutes",
        ),
        (
            UPDATE,
            json!({"id": call, "input": {"notes": "n".repeat(10_001)}}),
            "notes",
        ),
    ];
    for (query, variables, expected) in cases {
        let body = w.fails(&w.member, query, variables.clone()).await;
        assert_eq!(code(&body), "VALIDATION_ERROR", "{variables}: {body}");
        assert_eq!(field(&body), expected, "{body}");
    }
    // A retired closer takes no new calls.
    w.ok(
        &w.admin,
        "mutation($id: ID!) { updateTeamMember(id: $id, input: {active: false}) { id } }",
        json!({"id": w.own.team_member}),
    )
    .await;
    let body = w
        .fails(
            &w.member,
            CREATE,
            json!({"input": {"leadId": w.own.leads[0], "closerId": w.own.team_member, "scheduledAt": t}}),
        )
        .await;
    assert_eq!(
        (code(&body), field(&body)),
        ("VALIDATION_ERROR", "closerId"),
        "{body}"
    );
    // Malformed input never reaches the database as garbage.
    let body = w
        .fails(
            &w.member,
            CREATE,
            json!({"input": {"leadId": w.own.leads[0], "scheduledAt": "tomorrow"}}),
        )
        .await;
    assert_eq!(code(&body), "VALIDATION_ERROR", "{body}");
}

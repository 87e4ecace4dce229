//! `createBookingLink`, `updateBookingLink` (admins only): what widgets then see, and
//! slugs unique across every organization.

use serde_json::{Value, json};

use super::support::{World, code, field, midnight_ahead, world};

const CREATE: &str = "mutation($input: CreateBookingLinkInput!) { createBookingLink(input: $input) { id slug name ownerId durationMinutes timezone weeklyHours { day start end } bufferMinutes minNoticeMinutes horizonDays active } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdateBookingLinkInput!) { updateBookingLink(id: $id, input: $input) { id slug weeklyHours { day } active } }";

fn every_day(start: &str, end: &str) -> Vec<Value> {
    ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
        .iter()
        .map(|d| json!({"day": d, "start": start, "end": end}))
        .collect()
}

fn input(w: &World, slug: &str) -> Value {
    json!({
        "slug": slug, "name": "Strategy Call", "ownerId": w.own.team_member,
        "durationMinutes": 45, "timezone": "Europe/Berlin",
        "weeklyHours": every_day("09:00", "12:00"), "bufferMinutes": 15, "minNoticeMinutes": 120, "horizonDays": 30
    })
}

/// What a widget sees for the link: its public name, or the error code.
async fn public(w: &World, slug: &str) -> (Option<String>, usize) {
    // One whole UTC day, which holds one whole Berlin morning.
    // Both ends from one reading of the clock, so a run at midnight cannot ask for two days.
    let from = midnight_ahead(2);
    let to = aura::time::format_rfc3339(
        aura::time::parse_rfc3339(&from).unwrap() + chrono::Duration::days(1),
    );
    let response = w
        .app
        .client
        .post(w.app.url("/graphql"))
        .json(&json!({
            "query": "query($s: String!, $f: DateTime!, $t: DateTime!) { publicBookingLink(slug: $s) { name } availableSlots(slug: $s, from: $f, to: $t) { start } }",
            "variables": {"s": slug, "f": from, "t": to}
        }))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    if body["errors"][0].is_object() {
        return (
            body["errors"][0]["extensions"]["code"]
                .as_str()
                .map(str::to_owned),
            0,
        );
    }
    (
        body["data"]["publicBookingLink"]["name"]
            .as_str()
            .map(str::to_owned),
        body["data"]["availableSlots"].as_array().unwrap().len(),
    )
}

#[tokio::test]
async fn admins_create_links_widgets_can_book() {
    let w = world().await;
    let data = w
        .ok(
            &w.admin,
            CREATE,
            json!({"input": input(&w, "acme-strategy")}),
        )
        .await;
    let link = &data["createBookingLink"];
    let id = link["id"].as_str().unwrap().to_owned();
    assert_eq!(link["ownerId"], json!(w.own.team_member));
    assert_eq!(link["weeklyHours"].as_array().unwrap().len(), 7);
    assert_eq!(
        (&link["bufferMinutes"], &link["horizonDays"]),
        (&json!(15), &json!(30))
    );
    let events = w.events(w.org).await;
    let (kind, event) = events.last().unwrap();
    assert_eq!(kind, "booking_link.created");
    assert_eq!(
        (&event["id"], &event["slug"]),
        (&json!(id), &json!("acme-strategy"))
    );

    // 09:00–12:00 Berlin in 45-minute steps: 09:00, 09:45, 10:30, 11:15.
    let (name, slots) = public(&w, "acme-strategy").await;
    assert_eq!(name.as_deref(), Some("Strategy Call"));
    assert_eq!(slots, 4);

    // Longer hours, more slots; new slug, the old one is gone at once.
    let data = w
        .ok(
            &w.admin,
            UPDATE,
            json!({"id": id, "input": {"slug": "acme-strategy-2", "weeklyHours": every_day("09:00", "17:00")}}),
        )
        .await;
    assert_eq!(data["updateBookingLink"]["slug"], json!("acme-strategy-2"));
    assert_eq!(public(&w, "acme-strategy-2").await.1, 10, "09:00 to 15:45");
    assert_eq!(
        public(&w, "acme-strategy").await.0.as_deref(),
        Some("NOT_FOUND")
    );
    let events = w.events(w.org).await;
    let (kind, event) = events.last().unwrap();
    assert_eq!(kind, "booking_link.updated");
    assert_eq!(event["weekly_hours"][0]["end"], json!("17:00"));

    // Off the web: widgets get NOT_FOUND; back on, it books again.
    w.ok(
        &w.admin,
        UPDATE,
        json!({"id": id, "input": {"active": false}}),
    )
    .await;
    assert_eq!(
        public(&w, "acme-strategy-2").await.0.as_deref(),
        Some("NOT_FOUND")
    );
    w.ok(
        &w.admin,
        UPDATE,
        json!({"id": id, "input": {"active": true, "weeklyHours": []}}),
    )
    .await;
    assert_eq!(
        public(&w, "acme-strategy-2").await.1,
        0,
        "no hours, no slots"
    );
}

#[tokio::test]
async fn slugs_are_unique_across_organizations() {
    let w = world().await;
    let before = w.event_count().await;
    // `bravo-call` belongs to the other organization; `acme-call` to this one.
    for slug in ["bravo-call", "acme-call"] {
        let body = w
            .fails(&w.admin, CREATE, json!({"input": input(&w, slug)}))
            .await;
        assert_eq!(code(&body), "CONFLICT", "{slug}: {body}");
    }
    let data = w
        .ok(&w.admin, CREATE, json!({"input": input(&w, "acme-new")}))
        .await;
    let id = data["createBookingLink"]["id"].as_str().unwrap().to_owned();
    let body = w
        .fails(
            &w.admin,
            UPDATE,
            json!({"id": id, "input": {"slug": "bravo-call"}}),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT", "{body}");
    assert_eq!(
        w.event_count().await,
        before + 1,
        "only the link that was made"
    );

    // Racing for one slug: exactly one wins, the others are clean CONFLICTs.
    let attempts = (0..8).map(|_| {
        w.app
            .graphql(&w.admin, CREATE, json!({"input": input(&w, "acme-race")}))
    });
    let results = futures_util::future::join_all(attempts).await;
    let won = results
        .iter()
        .filter(|(_, b)| b["data"]["createBookingLink"].is_object())
        .count();
    let conflicts = results
        .iter()
        .filter(|(_, b)| code(b) == "CONFLICT")
        .count();
    assert_eq!((won, conflicts), (1, 7), "{results:?}");
}

#[tokio::test]
async fn booking_link_validation_names_the_field() {
    let w = world().await;
    let with = |key: &str, value: Value| {
        let mut i = input(&w, "acme-valid");
        i[key] = value;
        i
    };
    for (input, expected) in [
        (with("slug", json!("Not A Slug")), "slug"),
        (with("name", json!("")), "name"),
        (with("durationMinutes", json!(7)), "durationMinutes"),
        (with("durationMinutes", json!(0)), "durationMinutes"),
        (with("bufferMinutes", json!(3)), "bufferMinutes"),
        (with("minNoticeMinutes", json!(-1)), "minNoticeMinutes"),
        (with("horizonDays", json!(0)), "horizonDays"),
        (with("timezone", json!("Mars/Olympus")), "timezone"),
        (
            with(
                "weeklyHours",
                json!([{"day": "MON", "start": "09:00", "end": "12:00"}, {"day": "MON", "start": "11:00", "end": "13:00"}]),
            ),
            "weeklyHours",
        ),
        (
            with(
                "weeklyHours",
                json!([{"day": "funday", "start": "09:00", "end": "12:00"}]),
            ),
            "weeklyHours",
        ),
        (
            with(
                "weeklyHours",
                json!([{"day": "MON", "start": "09:07", "end": "12:00"}]),
            ),
            "weeklyHours",
        ),
    ] {
        let body = w.fails(&w.admin, CREATE, json!({"input": input})).await;
        assert_eq!(
            (code(&body), field(&body)),
            ("VALIDATION_ERROR", expected),
            "{body}"
        );
    }
    let body = w
        .fails(
            &w.admin,
            UPDATE,
            json!({"id": w.own.booking_link, "input": {"horizonDays": 400}}),
        )
        .await;
    assert_eq!(
        (code(&body), field(&body)),
        ("VALIDATION_ERROR", "horizonDays"),
        "{body}"
    );
    // Links book active members' calendars only.
    w.ok(
        &w.admin,
        "mutation($id: ID!) { updateTeamMember(id: $id, input: {active: false}) { id } }",
        json!({"id": w.own.team_member}),
    )
    .await;
    let body = w
        .fails(&w.admin, CREATE, json!({"input": input(&w, "acme-valid")}))
        .await;
    assert_eq!(
        (code(&body), field(&body)),
        ("VALIDATION_ERROR", "ownerId"),
        "{body}"
    );
    assert_eq!(
        w.events(w.org).await.len(),
        1,
        "only the member's retirement"
    );
}

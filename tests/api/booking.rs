//! Public booking as a widget does it: no key, a link's slots, book, reschedule, cancel,
//! and no double booking under concurrency.

use aura::domain::ScopeSet;
use chrono::{DateTime, Duration, DurationRound, Offset, TimeZone, Utc};
use entities::{booking_link, call, event};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::factory::{org_with_key, seed};
use crate::helpers::TestApp;

/// Runs an operation with no credential, as a widget in a stranger's browser does.
async fn anonymous(app: &TestApp, query: &str, variables: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("origin", "https://client-site.example")
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A link open every day, all day, with no notice, owned by the seeded closer.
async fn open_link(app: &TestApp, org: Uuid, owner: &str, slug: &str, zone: &str) {
    let owner = aura::ids::decode(aura::ids::IdKind::TeamMember, owner).unwrap();
    let hours: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"day": d, "start": "00:00", "end": "24:00"}))
        .collect();
    let now = aura::time::now();
    booking_link::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        slug: Set(slug.to_owned()),
        name: Set("Strategy Call".into()),
        owner_id: Set(owner),
        duration_minutes: Set(30),
        timezone: Set(zone.into()),
        weekly_hours: Set(Value::Array(hours)),
        buffer_minutes: Set(10),
        min_notice_minutes: Set(60),
        horizon_days: Set(400),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
}

/// Changes the link `slug` in place (as an admin's edit would) and returns it.
async fn change_link(
    app: &TestApp,
    slug: &str,
    change: impl FnOnce(&mut booking_link::ActiveModel),
) -> booking_link::Model {
    let link = booking_link::Entity::find()
        .filter(booking_link::Column::Slug.eq(slug))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no link {slug}"));
    let mut active: booking_link::ActiveModel = link.into();
    change(&mut active);
    active.update(&app.db).await.unwrap()
}

const SLOTS: &str = "query($slug: String!, $from: DateTime!, $to: DateTime!, $tz: String) { availableSlots(slug: $slug, from: $from, to: $to, timezone: $tz) { start end localStart } }";
const BOOK: &str = "mutation($slug: String!, $start: DateTime!, $email: String!) { bookCall(slug: $slug, start: $start, name: \"Widget Booker\", email: $email, phone: \"+1 555 0100\", answers: {goal: \"scale\"}) { start end status token bookingLink { slug } } }";

fn rfc(at: DateTime<Utc>) -> String {
    aura::time::format_rfc3339(at)
}

async fn slots(app: &TestApp, slug: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
    let (status, body) = anonymous(
        app,
        SLOTS,
        json!({"slug": slug, "from": rfc(from), "to": rfc(to)}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["availableSlots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_widget_books_without_a_key_and_the_slot_disappears() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let s = seed(&app.db, org.id, "acme", 0).await;
    open_link(
        &app,
        org.id,
        &s.team_member,
        "acme-strategy",
        "America/New_York",
    )
    .await;

    let (status, body) = anonymous(&app, "{ publicBookingLink(slug: \"acme-strategy\") { slug name durationMinutes timezone weeklyHours { day start end } } }", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["publicBookingLink"]["durationMinutes"],
        json!(30)
    );

    let from = Utc::now() + Duration::days(2);
    let to = from + Duration::days(1);
    let before = slots(&app, "acme-strategy", from, to).await;
    assert_eq!(before.len(), 48, "a full day of 30-minute slots");
    // `localStart` is the same instant, in the zone asked for, at that zone's offset then.
    let (status, body) = anonymous(
        &app,
        SLOTS,
        json!({"slug": "acme-strategy", "from": rfc(from), "to": rfc(to), "tz": "Asia/Kolkata"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let zoned = body["data"]["availableSlots"].as_array().unwrap();
    assert_eq!(zoned.len(), before.len());
    for slot in zoned {
        let start: DateTime<Utc> = slot["start"].as_str().unwrap().parse().unwrap();
        let local = DateTime::parse_from_rfc3339(slot["localStart"].as_str().unwrap()).unwrap();
        assert_eq!(local, start, "{slot}");
        let offset = chrono_tz::Asia::Kolkata
            .offset_from_utc_datetime(&start.naive_utc())
            .fix();
        assert_eq!(local.offset(), &offset, "{slot}");
        assert_eq!(offset.local_minus_utc(), 5 * 3600 + 30 * 60);
    }
    let start = before[10].clone();

    let (status, body) = anonymous(
        &app,
        BOOK,
        json!({"slug": "acme-strategy", "start": start, "email": "Booker@Example.com"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let booking = &body["data"]["bookCall"];
    assert_eq!(booking["status"], json!("SCHEDULED"));
    assert_eq!(booking["start"], json!(start));
    let token = booking["token"].as_str().unwrap().to_owned();

    let after = slots(&app, "acme-strategy", from, to).await;
    assert!(!after.contains(&start), "the booked slot is gone");
    // The 10-minute buffer keeps the neighbouring slots free of back-to-back calls too.
    assert!(!after.contains(&before[9]));
    assert!(!after.contains(&before[11]));
    assert_eq!(after.len(), before.len() - 3);

    // The same start again: CONFLICT.
    let (_, body) = anonymous(
        &app,
        BOOK,
        json!({"slug": "acme-strategy", "start": start, "email": "other@example.com"}),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        json!("CONFLICT"),
        "{body}"
    );

    // The organization sees the lead and the call, with their events.
    let data = app
        .graphql_ok(&org.key, "{ leads(filter: {status: BOOKED}) { nodes { email source customFields calls { nodes { scheduledAt status } } } } }", json!({}))
        .await;
    let lead = data["leads"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["email"] == json!("booker@example.com"))
        .expect("the booker's lead")
        .clone();
    assert_eq!(lead["source"], json!("booking_link"));
    assert_eq!(lead["customFields"]["goal"], json!("scale"));
    assert_eq!(lead["calls"]["nodes"][0]["scheduledAt"], json!(start));
    let types: Vec<String> = event::Entity::find()
        .filter(event::Column::OrganizationId.eq(org.id))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert!(types.contains(&"lead.created".to_owned()), "{types:?}");
    assert!(types.contains(&"call.booked".to_owned()), "{types:?}");

    // Booking again with the same e-mail reuses the lead.
    let (status, body) = anonymous(
        &app,
        BOOK,
        json!({"slug": "acme-strategy", "start": before[20], "email": "booker@example.com"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let data = app
        .graphql_ok(
            &org.key,
            "{ leads(first: 100) { nodes { email calls { nodes { id } } } } }",
            json!({}),
        )
        .await;
    let mine: Vec<&Value> = data["leads"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["email"] == json!("booker@example.com"))
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["calls"]["nodes"].as_array().unwrap().len(), 2);

    // Reschedule with the token, then cancel: the slots come back.
    let (status, body) = anonymous(&app, "mutation($t: String!, $s: DateTime!) { rescheduleBooking(token: $t, start: $s) { start status } }", json!({"t": token, "s": before[30]})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["rescheduleBooking"]["start"],
        json!(before[30])
    );
    let now_free = slots(&app, "acme-strategy", from, to).await;
    assert!(now_free.contains(&start), "the old time is free again");
    assert!(!now_free.contains(&before[30]));
    let (_, body) = anonymous(
        &app,
        "mutation($t: String!) { cancelBooking(token: $t, reason: \"conflict\") { status token } }",
        json!({"t": token}),
    )
    .await;
    assert_eq!(
        body["data"]["cancelBooking"]["status"],
        json!("CANCELED"),
        "{body}"
    );
    assert_eq!(body["data"]["cancelBooking"]["token"], Value::Null);
    assert!(
        slots(&app, "acme-strategy", from, to)
            .await
            .contains(&before[30])
    );
    let (_, body) = anonymous(
        &app,
        "mutation { cancelBooking(token: \"bk_nope\") { status } }",
        json!({}),
    )
    .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], json!("NOT_FOUND"));
}

#[tokio::test]
async fn public_operations_validate_and_protect() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let s = seed(&app.db, org.id, "acme", 0).await;
    open_link(
        &app,
        org.id,
        &s.team_member,
        "acme-strategy",
        "Europe/Berlin",
    )
    .await;
    let from = Utc::now() + Duration::days(1);
    let cases = [
        (
            SLOTS,
            json!({"slug": "nope", "from": rfc(from), "to": rfc(from + Duration::days(1))}),
            "NOT_FOUND",
        ),
        (
            SLOTS,
            json!({"slug": "acme-strategy", "from": rfc(from), "to": rfc(from + Duration::days(40))}),
            "VALIDATION_ERROR",
        ),
        (
            SLOTS,
            json!({"slug": "acme-strategy", "from": rfc(from), "to": rfc(from - Duration::days(1))}),
            "VALIDATION_ERROR",
        ),
        (
            SLOTS,
            json!({"slug": "acme-strategy", "from": rfc(from), "to": rfc(from + Duration::days(1)), "tz": "Mars/Olympus"}),
            "VALIDATION_ERROR",
        ),
        (
            BOOK,
            json!({"slug": "acme-strategy", "start": rfc(from), "email": "not-an-email"}),
            "VALIDATION_ERROR",
        ),
    ];
    for (query, variables, code) in cases {
        let (_, body) = anonymous(&app, query, variables.clone()).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            json!(code),
            "{variables}: {body}"
        );
    }

    // Off the half-hour grid, but inside the horizon, the hours and the notice, on a free
    // day: CONFLICT for being off the grid alone, as the grid time beside it books.
    let free = slots(&app, "acme-strategy", from, from + Duration::days(1)).await;
    let on_grid: DateTime<Utc> = free[4].parse().unwrap();
    let off_grid = on_grid + Duration::minutes(7);
    let (_, body) = anonymous(
        &app,
        BOOK,
        json!({"slug": "acme-strategy", "start": rfc(off_grid), "email": "a@example.com"}),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        json!("CONFLICT"),
        "{body}"
    );
    let (_, body) = anonymous(
        &app,
        BOOK,
        json!({"slug": "acme-strategy", "start": rfc(on_grid), "email": "a@example.com"}),
    )
    .await;
    assert_eq!(
        body["data"]["bookCall"]["status"],
        json!("SCHEDULED"),
        "{body}"
    );
    // On the grid and free, but inside the hour of notice: the next half hour.
    let soon = aura::time::now()
        .duration_trunc(Duration::minutes(30))
        .unwrap()
        + Duration::minutes(30);
    let (_, body) = anonymous(
        &app,
        BOOK,
        json!({"slug": "acme-strategy", "start": rfc(soon), "email": "b@example.com"}),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        json!("CONFLICT"),
        "{body}"
    );
    // The same start is bookable once the notice is met: a free slot a day later.
    let next_day = soon + Duration::days(1);
    let later = slots(
        &app,
        "acme-strategy",
        next_day,
        next_day + Duration::minutes(1),
    )
    .await;
    assert_eq!(
        later,
        vec![rfc(next_day)],
        "the grid time a day later is free"
    );

    // Anonymous callers reach nothing else.
    let (status, body) = anonymous(&app, "{ bookingLinks { count } }", json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        json!("UNAUTHORIZED")
    );
    // Widgets on other origins may call /graphql.
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("origin", "https://client-site.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    let header = |name: &str| {
        preflight
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{name} missing"))
            .to_ascii_lowercase()
    };
    assert_eq!(
        header("access-control-allow-origin"),
        "https://client-site.example"
    );
    // Exactly these methods and request headers (the server lists them in no set order).
    let listed = |name: &str| {
        let mut items: Vec<String> = header(name)
            .split(',')
            .map(|item| item.trim().to_owned())
            .collect();
        items.sort();
        items
    };
    assert_eq!(
        listed("access-control-allow-methods"),
        ["get", "options", "post"]
    );
    assert_eq!(
        listed("access-control-allow-headers"),
        ["authorization", "content-type", "x-request-id"]
    );
    assert_eq!(header("access-control-max-age"), "86400");
    assert!(
        preflight
            .headers()
            .get("access-control-allow-credentials")
            .is_none(),
        "no credentials: bearer headers only"
    );
}

#[tokio::test]
async fn fifty_concurrent_bookings_of_one_slot_make_one_call() {
    let app = TestApp::builder().sqlite_file().build().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let s = seed(&app.db, org.id, "acme", 0).await;
    open_link(&app, org.id, &s.team_member, "acme-strategy", "UTC").await;
    let from = Utc::now() + Duration::days(3);
    let start = slots(&app, "acme-strategy", from, from + Duration::days(1)).await[5].clone();

    let attempts = (0..50).map(|n| {
        let app = &app;
        let start = start.clone();
        async move {
            anonymous(app, BOOK, json!({"slug": "acme-strategy", "start": start, "email": format!("racer{n}@example.com")})).await
        }
    });
    let results = futures_util::future::join_all(attempts).await;
    let booked = results
        .iter()
        .filter(|(_, b)| b["data"]["bookCall"]["status"] == json!("SCHEDULED"))
        .count();
    let conflicts = results
        .iter()
        .filter(|(_, b)| b["errors"][0]["extensions"]["code"] == json!("CONFLICT"))
        .count();
    assert_eq!(booked, 1, "{results:?}");
    assert_eq!(
        conflicts, 49,
        "every other attempt is a clean CONFLICT: {results:?}"
    );
    let calls = call::Entity::find()
        .filter(call::Column::OrganizationId.eq(org.id))
        .filter(call::Column::ScheduledAt.eq(start.parse::<DateTime<Utc>>().unwrap()))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(calls, 1);
}

/// Slots across New York's two clock changes of 2027, on an injected clock and fixed
/// dates (clocks go forward on 14 March at 07:00 UTC and back on 7 November at 06:00
/// UTC): 09:00 and 09:30 local every day, so a UTC hour earlier after the spring change
/// and later after the autumn one. The expected instants are written out by hand.
#[tokio::test]
async fn availability_is_right_across_dst_changes() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let s = seed(&app.db, org.id, "acme", 0).await;
    open_link(&app, org.id, &s.team_member, "ny-hours", "America/New_York").await;
    // Business hours 09:00–10:00 in New York, every day.
    let hours: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"day": d, "start": "09:00", "end": "10:00"}))
        .collect();
    let link = change_link(&app, "ny-hours", |link| {
        link.weekly_hours = Set(Value::Array(hours));
    })
    .await;
    let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
    let slots_at = |from: &str, to: &str, now: &str| {
        let (from, to, now, link, db) = (at(from), at(to), at(now), link.clone(), app.db.clone());
        async move {
            aura::services::booking::slots(&db, &link, from, to, now)
                .await
                .unwrap()
                .into_iter()
                .map(rfc)
                .collect::<Vec<_>>()
        }
    };

    // Spring: two days either side of the change, "now" ten days before it.
    let spring = slots_at(
        "2027-03-12T07:00:00Z",
        "2027-03-16T07:00:00Z",
        "2027-03-04T07:00:00Z",
    )
    .await;
    assert_eq!(
        spring,
        [
            "2027-03-12T14:00:00Z",
            "2027-03-12T14:30:00Z",
            "2027-03-13T14:00:00Z",
            "2027-03-13T14:30:00Z",
            "2027-03-14T13:00:00Z",
            "2027-03-14T13:30:00Z",
            "2027-03-15T13:00:00Z",
            "2027-03-15T13:30:00Z",
        ]
    );
    // Autumn.
    let autumn = slots_at(
        "2027-11-05T06:00:00Z",
        "2027-11-09T06:00:00Z",
        "2027-10-28T06:00:00Z",
    )
    .await;
    assert_eq!(
        autumn,
        [
            "2027-11-05T13:00:00Z",
            "2027-11-05T13:30:00Z",
            "2027-11-06T13:00:00Z",
            "2027-11-06T13:30:00Z",
            "2027-11-07T14:00:00Z",
            "2027-11-07T14:30:00Z",
            "2027-11-08T14:00:00Z",
            "2027-11-08T14:30:00Z",
        ]
    );
    // The clock decides the notice (an hour on this link): at 13:30 UTC on the first
    // day, 14:00 is too soon and 14:30 is not.
    let noticed = slots_at(
        "2027-03-12T07:00:00Z",
        "2027-03-16T07:00:00Z",
        "2027-03-12T13:30:00Z",
    )
    .await;
    assert_eq!(noticed.len(), 7, "{noticed:?}");
    assert_eq!(noticed[0], "2027-03-12T14:30:00Z");
    // And the horizon (400 days on this link): a year and more ahead, nothing.
    assert!(
        slots_at(
            "2027-03-12T07:00:00Z",
            "2027-03-16T07:00:00Z",
            "2026-01-01T00:00:00Z",
        )
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn demo_calls_hold_their_time_on_the_demo_links() {
    use entities::call_slot_claim;
    use std::collections::BTreeSet;
    let app = TestApp::spawn().await;
    aura::seed::ensure_demo(&app.db, aura::seed::DemoOptions::default())
        .await
        .unwrap();
    // What every scheduled demo call with a closer should hold, worked out here: each
    // 5-minute block from its start (rounded down) to its end plus the links' 15-minute
    // buffer. Where calls overlap, the block is held once (by the first).
    let calls = call::Entity::find().all(&app.db).await.unwrap();
    let scheduled: Vec<&call::Model> = calls
        .iter()
        .filter(|c| c.status == call::CallStatus::Scheduled && c.closer_id.is_some())
        .collect();
    assert!(
        scheduled.len() >= 5,
        "the demo has upcoming calls: {}",
        scheduled.len()
    );
    let mut expected = BTreeSet::new();
    for call in &scheduled {
        let end = call.scheduled_at
            + Duration::minutes(i64::from(call.duration_minutes))
            + Duration::minutes(15);
        let mut block = call
            .scheduled_at
            .duration_trunc(Duration::minutes(5))
            .unwrap();
        while block < end {
            expected.insert((call.closer_id.unwrap(), block));
            block += Duration::minutes(5);
        }
    }
    let claims = call_slot_claim::Entity::find().all(&app.db).await.unwrap();
    // What availability reads: one span per holding call, from its first to its last block.
    let mut spans = std::collections::BTreeMap::new();
    for claim in &claims {
        let span = spans.entry(claim.call_id).or_insert((
            claim.team_member_id,
            claim.block_start,
            claim.block_start,
        ));
        span.1 = span.1.min(claim.block_start);
        span.2 = span.2.max(claim.block_start);
    }
    let stored: std::collections::BTreeMap<_, _> = entities::calendar_hold::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.call_id, (h.team_member_id, h.first_block, h.last_block)))
        .collect();
    assert_eq!(
        stored, spans,
        "one span per holding call, covering its blocks"
    );
    let held: BTreeSet<_> = claims
        .iter()
        .map(|c| (c.team_member_id, c.block_start))
        .collect();
    assert_eq!(held.len(), claims.len());
    assert_eq!(
        held, expected,
        "the scheduled calls' blocks, and nothing else"
    );
    // Each block is held by a scheduled call of that closer that covers it.
    for claim in &claims {
        let holder = scheduled
            .iter()
            .find(|c| c.id == claim.call_id)
            .expect("held by a scheduled call");
        assert_eq!(holder.closer_id, Some(claim.team_member_id));
        assert!(
            claim.block_start
                >= holder
                    .scheduled_at
                    .duration_trunc(Duration::minutes(5))
                    .unwrap()
        );
    }

    let (_, body) = anonymous(
        &app,
        "{ publicBookingLink(slug: \"demo-strategy-call\") { name } }",
        json!({}),
    )
    .await;
    assert_eq!(
        body["data"]["publicBookingLink"]["name"],
        json!("Strategy Call")
    );
}

/// A call that began before the asked window still holds the part of it inside the
/// window, even when it is longer than the link's own calls (availability widens the
/// window by the link's duration and buffer only): the first free slot comes after its
/// end and buffer. Rescheduling it away frees that time again.
#[tokio::test]
async fn a_call_begun_before_the_window_holds_the_rest_of_its_time() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let s = seed(&app.db, org.id, "acme", 0).await;
    open_link(&app, org.id, &s.team_member, "acme-strategy", "UTC").await;
    // A second link of the same owner, for 4-hour calls (slots at 00:00, 04:00, 08:00…).
    open_link(&app, org.id, &s.team_member, "acme-workshop", "UTC").await;
    change_link(&app, "acme-workshop", |link| {
        link.duration_minutes = Set(240)
    })
    .await;

    let day = (Utc::now() + Duration::days(3))
        .duration_trunc(Duration::days(1))
        .unwrap();
    let booked = day + Duration::hours(8);
    let (_, body) = anonymous(
        &app,
        BOOK,
        json!({"slug": "acme-workshop", "start": rfc(booked), "email": "early@example.com"}),
    )
    .await;
    let token = body["data"]["bookCall"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    // From 11:00, inside the 08:00 workshop (to 12:00, then a 10-minute buffer to 12:10).
    let from = day + Duration::hours(11);
    let free = slots(&app, "acme-strategy", from, from + Duration::hours(3)).await;
    assert_eq!(
        free.first().map(String::as_str),
        Some(rfc(day + Duration::hours(12) + Duration::minutes(30)).as_str()),
        "12:00 would overlap the buffer up to 12:10: {free:?}"
    );
    // Moved to the next day, the workshop no longer holds this one.
    let (_, body) = anonymous(
        &app,
        "mutation($t: String!, $s: DateTime!) { rescheduleBooking(token: $t, start: $s) { start } }",
        json!({"t": token, "s": rfc(booked + Duration::days(1))}),
    )
    .await;
    assert!(body["errors"].is_null(), "{body}");
    let free = slots(&app, "acme-strategy", from, from + Duration::hours(3)).await;
    assert_eq!(
        free.first().map(String::as_str),
        Some(rfc(from).as_str()),
        "{free:?}"
    );
}

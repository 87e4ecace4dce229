//! Regressions for issue 13, "the same rules on every transport": webhook scopes,
//! WebSockets that run as their credential and are re-verified, charged, capped and closed
//! on revocation, GraphQL bounds, CSRF/CORS/discovery, input refused in the domain,
//! trusted proxies, race-free leads and idempotency per credential. Each test runs on
//! SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set.

mod browsers;
mod graphql_bounds;
mod idempotency;
mod input;
mod leads_race;
mod proxies;
mod socket;
mod webhook_scopes;
mod websockets;

use chrono::{DateTime, Duration, DurationRound, Utc};
use entities::booking_link;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;

/// Runs an operation with no credential, as a booking widget in a stranger's browser does.
pub async fn anonymous(app: &TestApp, query: &str, variables: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .expect("anonymous GraphQL request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// `extensions.code` of the first GraphQL error, or "".
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

/// `extensions.field` of the first GraphQL error, or "".
pub fn field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or("")
}

/// The public booking mutation, with the booker's name and e-mail as variables.
pub const BOOK: &str = "mutation($slug: String!, $start: DateTime!, $name: String!, $email: String!) { bookCall(slug: $slug, start: $start, name: $name, email: $email) { start status } }";

/// A booking link open all day every day, with no notice and no buffer, in UTC, owned
/// by `owner` (a team member's uuid): every half hour ahead is a free slot.
pub async fn open_link(app: &TestApp, org: Uuid, owner: &str, slug: &str) {
    let owner = aura::ids::decode(aura::ids::IdKind::TeamMember, owner).expect("a team member id");
    let hours: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"day": d, "start": "00:00", "end": "24:00"}))
        .collect();
    let now = aura::time::now();
    booking_link::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        slug: Set(slug.to_owned()),
        name: Set("Open Call".into()),
        owner_id: Set(owner),
        duration_minutes: Set(30),
        timezone: Set("UTC".into()),
        weekly_hours: Set(Value::Array(hours)),
        buffer_minutes: Set(0),
        min_notice_minutes: Set(0),
        horizon_days: Set(30),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("insert the open booking link");
}

/// The `n`th half-hour slot from midnight UTC two days ahead (free on an [`open_link`]).
pub fn slot(n: i64) -> String {
    let midnight: DateTime<Utc> = (Utc::now() + Duration::days(2))
        .duration_trunc(Duration::days(1))
        .expect("midnight");
    aura::time::format_rfc3339(midnight + Duration::minutes(30 * n))
}

/// One mutation booking `n` calls on the `acme-open` link, each under its own alias, at
/// slots 0 to `n - 1`.
pub fn aliased_bookings(n: i64) -> String {
    let calls: String = (0..n)
        .map(|i| {
            format!(
                "b{i}: bookCall(slug: \"acme-open\", start: \"{}\", name: \"Booker {i}\", email: \"booker{i}@example.com\") {{ status }} ",
                slot(i)
            )
        })
        .collect();
    format!("mutation {{ {calls} }}")
}

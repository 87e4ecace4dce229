//! The REST facade: envelopes, pagination, validation, tenancy, and agreement with GraphQL.

use std::collections::HashSet;

use aura::domain::ScopeSet;
use aura::seed::{DemoOptions, ensure_demo};
use serde_json::{Map, Value, json};

use crate::factory::{demo_with_leads, org_with_key, seed};
use crate::helpers::{TestApp, assert_error};

async fn get_json(app: &TestApp, path: &str, key: &str) -> Value {
    let response = app.get(path, Some(key)).await;
    assert_eq!(response.status().as_u16(), 200, "{path}");
    assert!(response.headers().contains_key("x-request-id"));
    response.json().await.unwrap()
}

/// One field of a resource, GraphQL's name beside REST's, written out by hand here so the
/// expectation owes nothing to the code's own renaming.
enum Field {
    /// The same value under both names.
    Same(&'static str, &'static str),
    /// An enum: GraphQL's value is mapped through [`ENUM_VALUES`].
    Enum(&'static str, &'static str),
    /// An object, or a list of them, with fields of its own (null stays null).
    Nested(&'static str, &'static str, &'static [Field]),
}

use Field::{Enum, Nested, Same};

const UTM: &[Field] = &[
    Same("source", "source"),
    Same("medium", "medium"),
    Same("campaign", "campaign"),
    Same("term", "term"),
    Same("content", "content"),
];

const LEAD: &[Field] = &[
    Same("id", "id"),
    Same("name", "name"),
    Same("email", "email"),
    Same("phone", "phone"),
    Same("source", "source"),
    Enum("status", "status"),
    Same("assignedTeamMemberId", "assigned_team_member_id"),
    Nested("utm", "utm", UTM),
    Same("customFields", "custom_fields"),
    Same("createdAt", "created_at"),
    Same("updatedAt", "updated_at"),
];

const CALL: &[Field] = &[
    Same("id", "id"),
    Same("leadId", "lead_id"),
    Same("closerId", "closer_id"),
    Same("setterId", "setter_id"),
    Same("bookingLinkId", "booking_link_id"),
    Same("scheduledAt", "scheduled_at"),
    Same("durationMinutes", "duration_minutes"),
    Enum("status", "status"),
    Same("outcome", "outcome"),
    Same("notes", "notes"),
    Same("createdAt", "created_at"),
    Same("updatedAt", "updated_at"),
];

const TEAM_MEMBER: &[Field] = &[
    Same("id", "id"),
    Same("name", "name"),
    Same("email", "email"),
    Enum("role", "role"),
    Same("commissionRate", "commission_rate"),
    Same("active", "active"),
    Same("timezone", "timezone"),
    Same("createdAt", "created_at"),
    Same("updatedAt", "updated_at"),
];

const WEEKLY_HOURS: &[Field] = &[
    Enum("day", "day"),
    Same("start", "start"),
    Same("end", "end"),
];

const QUESTION: &[Field] = &[
    Same("key", "key"),
    Same("label", "label"),
    Same("required", "required"),
    Same("multiline", "multiline"),
];

const BOOKING_LINK: &[Field] = &[
    Same("id", "id"),
    Same("slug", "slug"),
    Same("name", "name"),
    Same("ownerId", "owner_id"),
    Same("durationMinutes", "duration_minutes"),
    Same("timezone", "timezone"),
    Nested("weeklyHours", "weekly_hours", WEEKLY_HOURS),
    Same("bufferMinutes", "buffer_minutes"),
    Same("minNoticeMinutes", "min_notice_minutes"),
    Same("horizonDays", "horizon_days"),
    Nested("questions", "questions", QUESTION),
    Same("active", "active"),
    Same("createdAt", "created_at"),
    Same("updatedAt", "updated_at"),
];

const PRODUCT: &[Field] = &[
    Same("id", "id"),
    Same("name", "name"),
    Same("description", "description"),
    Same("priceAmount", "price_amount"),
    Same("currency", "currency"),
    Enum("billing", "billing"),
    Same("active", "active"),
    Same("createdAt", "created_at"),
    Same("updatedAt", "updated_at"),
];

const COMMISSION: &[Field] = &[
    Same("teamMemberId", "team_member_id"),
    Enum("role", "role"),
    Same("rate", "rate"),
    Same("amount", "amount"),
    Same("amountDecimal", "amount_decimal"),
    Same("currency", "currency"),
];

const PAYMENT: &[Field] = &[
    Same("id", "id"),
    Same("leadId", "lead_id"),
    Same("productId", "product_id"),
    Same("closerId", "closer_id"),
    Same("setterId", "setter_id"),
    Same("amount", "amount"),
    Same("currency", "currency"),
    Enum("status", "status"),
    Same("processor", "processor"),
    Same("externalId", "external_id"),
    Same("paidAt", "paid_at"),
    Nested("commissions", "commissions", COMMISSION),
    Same("createdAt", "created_at"),
    Same("updatedAt", "updated_at"),
];

/// GraphQL enum values and their REST spelling, by hand. (A value GraphQL already sends
/// in REST's spelling, as a string field would, is taken as it is.)
const ENUM_VALUES: &[(&str, &str)] = &[
    // Lead statuses.
    ("NEW", "new"),
    ("CONTACTED", "contacted"),
    ("QUALIFIED", "qualified"),
    ("BOOKED", "booked"),
    ("WON", "won"),
    ("LOST", "lost"),
    // Call statuses.
    ("SCHEDULED", "scheduled"),
    ("COMPLETED", "completed"),
    ("NO_SHOW", "no_show"),
    ("CANCELED", "canceled"),
    ("RESCHEDULED", "rescheduled"),
    // Payment statuses.
    ("PENDING", "pending"),
    ("SUCCEEDED", "succeeded"),
    ("FAILED", "failed"),
    ("REFUNDED", "refunded"),
    // Team and commission roles.
    ("OWNER", "owner"),
    ("CLOSER", "closer"),
    ("SETTER", "setter"),
    ("MANAGER", "manager"),
    ("ADMIN", "admin"),
    // Product billing.
    ("ONE_TIME", "one_time"),
    ("RECURRING", "recurring"),
    ("PAYMENT_PLAN", "payment_plan"),
    // Weekdays.
    ("MON", "mon"),
    ("TUE", "tue"),
    ("WED", "wed"),
    ("THU", "thu"),
    ("FRI", "fri"),
    ("SAT", "sat"),
    ("SUN", "sun"),
];

fn enum_value(field: &str, value: &Value) -> Value {
    let Value::String(text) = value else {
        return value.clone();
    };
    if let Some((_, rest)) = ENUM_VALUES.iter().find(|(graphql, _)| graphql == text) {
        return json!(rest);
    }
    assert!(
        ENUM_VALUES.iter().any(|(_, rest)| rest == text),
        "{field}: no REST spelling written down for {text}"
    );
    value.clone()
}

/// The REST object a GraphQL object should be, by the hand-written table.
fn expected_rest(fields: &[Field], value: &Value) -> Value {
    match value {
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| expected_rest(fields, v)).collect())
        }
        Value::Object(object) => {
            let mut out = Map::new();
            for key in object.keys() {
                assert!(
                    fields.iter().any(|f| graphql_name(f) == key),
                    "no REST name written down for {key}"
                );
            }
            for field in fields {
                let got = &object[graphql_name(field)];
                let (rest, mapped) = match field {
                    Same(_, rest) => (rest, got.clone()),
                    Enum(graphql, rest) => (rest, enum_value(graphql, got)),
                    Nested(_, rest, inner) => (rest, expected_rest(inner, got)),
                };
                out.insert((*rest).to_owned(), mapped);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn graphql_name(field: &Field) -> &'static str {
    match field {
        Same(name, _) | Enum(name, _) | Nested(name, _, _) => name,
    }
}

/// The GraphQL selection of every field in the table.
fn selection(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|field| match field {
            Nested(name, _, inner) => format!("{name} {{ {} }}", selection(inner)),
            other => graphql_name(other).to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

const RESOURCES: &[(&str, &str, &[Field])] = &[
    ("/v1/leads", "leads", LEAD),
    ("/v1/calls", "calls", CALL),
    ("/v1/team", "teamMembers", TEAM_MEMBER),
    ("/v1/booking-links", "bookingLinks", BOOKING_LINK),
    ("/v1/products", "products", PRODUCT),
    ("/v1/payments", "payments", PAYMENT),
];

#[tokio::test]
async fn rest_and_graphql_agree_on_every_resource() {
    let app = TestApp::spawn().await;
    let demo = demo_with_leads(&app.db, 40).await;
    for (path, field, fields) in RESOURCES {
        let rest = get_json(&app, &format!("{path}?limit=30"), &demo.api_key).await;
        assert_eq!(rest["success"], json!(true));
        assert_eq!(rest["pagination"]["limit"], json!(30));
        let query = format!(
            "{{ {field}(first: 30) {{ nodes {{ {} }} pageInfo {{ hasNextPage endCursor }} }} }}",
            selection(fields)
        );
        let data = app.graphql_ok(&demo.api_key, &query, json!({})).await;
        let expected = expected_rest(fields, &data[field]["nodes"]);
        assert_eq!(
            rest["data"], expected,
            "{path} disagrees with GraphQL {field}"
        );
        assert!(
            !rest["data"].as_array().unwrap().is_empty(),
            "{path} has demo data"
        );
        let has_next = data[field]["pageInfo"]["hasNextPage"].clone();
        assert_eq!(rest["pagination"]["has_more"], has_next);
        if has_next == json!(true) {
            assert_eq!(
                rest["pagination"]["next_cursor"],
                data[field]["pageInfo"]["endCursor"]
            );
        } else {
            assert_eq!(rest["pagination"]["next_cursor"], Value::Null);
        }

        // The get of each listed object is the same object.
        let first = &rest["data"][0];
        let id = first["id"].as_str().unwrap();
        let one = get_json(&app, &format!("{path}/{id}"), &demo.api_key).await;
        assert_eq!(one, json!({"success": true, "data": first}));
    }
}

#[tokio::test]
async fn a_cursor_walk_over_the_demo_leads_returns_each_once_in_order() {
    let app = TestApp::spawn().await;
    let demo = ensure_demo(&app.db, DemoOptions::default()).await.unwrap();
    let mut ids = Vec::new();
    let mut created = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/leads?limit=100&cursor={c}"),
            None => "/v1/leads?limit=100".to_owned(),
        };
        let page = get_json(&app, &path, &demo.api_key).await;
        for lead in page["data"].as_array().unwrap() {
            ids.push(lead["id"].as_str().unwrap().to_owned());
            created.push(
                lead["created_at"]
                    .as_str()
                    .unwrap()
                    .parse::<chrono::DateTime<chrono::Utc>>()
                    .unwrap(),
            );
        }
        if page["pagination"]["has_more"] != json!(true) {
            assert_eq!(page["pagination"]["next_cursor"], Value::Null);
            break;
        }
        cursor = page["pagination"]["next_cursor"]
            .as_str()
            .map(str::to_owned);
    }
    assert_eq!(ids.len(), aura::seed::DEFAULT_LEADS);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "no lead twice"
    );
    let sorted_ids_desc = ids
        .windows(2)
        .zip(created.windows(2))
        .all(|(i, t)| t[0] > t[1] || (t[0] == t[1] && i[0] > i[1]));
    assert!(sorted_ids_desc, "newest first, ties broken by id");
}

#[tokio::test]
async fn filters_work_over_rest() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let s = seed(&app.db, org.id, "acme", 4).await;
    let page = get_json(&app, &format!("/v1/calls?lead_id={}", s.leads[1]), &org.key).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["data"][0]["lead_id"], json!(s.leads[1]));
    let page = get_json(&app, "/v1/leads?status=won", &org.key).await;
    assert_eq!(page["data"], json!([]));
    let page = get_json(&app, "/v1/leads?status=booked&limit=3", &org.key).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 3);
    assert_eq!(page["pagination"]["has_more"], json!(true));
    let page = get_json(
        &app,
        "/v1/payments?created_after=2999-01-01T00:00:00Z",
        &org.key,
    )
    .await;
    assert_eq!(page["data"], json!([]));
    let page = get_json(
        &app,
        &format!(
            "/v1/payments?team_member_id={}&status=succeeded",
            s.team_member
        ),
        &org.key,
    )
    .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 4);
    let page = get_json(&app, "/v1/team?role=closer&active=true", &org.key).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    let page = get_json(&app, "/v1/products?billing=recurring", &org.key).await;
    assert_eq!(page["data"], json!([]));
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let cases = [
        ("/v1/leads?limit=0", "limit"),
        ("/v1/leads?limit=101", "limit"),
        ("/v1/leads?limit=abc", "limit"),
        ("/v1/leads?cursor=not-a-cursor", "cursor"),
        ("/v1/leads?created_after=yesterday", "created_after"),
        ("/v1/leads?status=maybe", "status"),
        ("/v1/calls?lead_id=call_123", "lead_id"),
        ("/v1/payments?team_member_id=nope", "team_member_id"),
        ("/v1/team?active=perhaps", "active"),
    ];
    for (path, field) in cases {
        let body = assert_error(app.get(path, Some(&org.key)).await, 400, "VALIDATION_ERROR").await;
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(field), "{path}: {message}");
    }
}

#[tokio::test]
async fn another_organizations_ids_are_404_like_missing_ones() {
    let app = TestApp::spawn().await;
    let a = org_with_key(&app.db, "alpha", ScopeSet::all()).await;
    let b = org_with_key(&app.db, "bravo", ScopeSet::all()).await;
    let alpha = seed(&app.db, a.id, "alpha", 1).await;
    seed(&app.db, b.id, "bravo", 1).await;
    for (path, id) in [
        ("/v1/leads", &alpha.leads[0]),
        ("/v1/calls", &alpha.calls[0]),
        ("/v1/team", &alpha.team_member),
        ("/v1/booking-links", &alpha.booking_link),
        ("/v1/products", &alpha.product),
        ("/v1/payments", &alpha.payments[0]),
    ] {
        assert_error(
            app.get(&format!("{path}/{id}"), Some(&b.key)).await,
            404,
            "NOT_FOUND",
        )
        .await;
        assert_error(
            app.get(&format!("{path}/nothing_here"), Some(&b.key)).await,
            404,
            "NOT_FOUND",
        )
        .await;
        let own = get_json(&app, &format!("{path}/{id}"), &a.key).await;
        assert_eq!(own["data"]["id"], json!(id));
        let list = get_json(&app, path, &b.key).await;
        assert!(
            !list.to_string().contains("alpha"),
            "{path} leaked alpha's data"
        );
    }
}

#[tokio::test]
async fn the_edge_answers_in_the_contract_shape() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    assert_error(app.get("/v1/leads", None).await, 401, "UNAUTHORIZED").await;
    assert_error(
        app.get("/v1/leads", Some("aura_pk_live_nope")).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
    assert_error(app.get("/v1/nope", Some(&org.key)).await, 404, "NOT_FOUND").await;
    let response = app
        .client
        .delete(app.url("/v1/leads"))
        .bearer_auth(&org.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "GET");
    assert_error(response, 405, "METHOD_NOT_ALLOWED").await;
    let response = app
        .client
        .put(app.url("/v1/leads/lead_x"))
        .bearer_auth(&org.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "GET");
    assert_error(response, 405, "METHOD_NOT_ALLOWED").await;
}

#[tokio::test]
async fn the_openapi_document_and_reference_are_served() {
    let app = TestApp::spawn().await;
    let response = app.get("/openapi.json", None).await;
    assert_eq!(response.status().as_u16(), 200);
    let spec: Value = response.json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    assert!(spec["paths"]["/v1/leads"]["get"]["security"].is_array());
    assert!(spec["components"]["securitySchemes"].is_object());
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            assert!(op["summary"].is_string(), "{method} {path} has a summary");
            for status in ["400", "401", "429", "500"] {
                assert_eq!(
                    op["responses"][status]["content"]["application/json"]["schema"]["$ref"],
                    json!("#/components/schemas/ErrorBody"),
                    "{method} {path} documents {status}"
                );
            }
        }
    }
    let yaml = app.get("/openapi.yaml", None).await.text().await.unwrap();
    let from_yaml: Value = serde_yaml::from_str(&yaml).unwrap();
    assert_eq!(from_yaml, spec);
    let docs = app.get("/docs", None).await;
    assert_eq!(docs.status().as_u16(), 200);
    assert!(docs.text().await.unwrap().contains("Redoc.init"));
}

/// Events carry a resource's view; it must equal what GET returns.
#[tokio::test]
async fn the_event_representation_is_the_rest_object() {
    use aura::views::{self, to_json};
    use entities::{booking_link, call, lead, payment, product, team_member};
    use sea_orm::EntityTrait;

    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let s = seed(&app.db, org.id, "acme", 1).await;
    let uuid = |kind, id: &str| aura::ids::decode(kind, id).unwrap();
    use aura::ids::IdKind::*;
    let cases = vec![
        (
            format!("/v1/leads/{}", s.leads[0]),
            to_json(&views::Lead::from(
                &lead::Entity::find_by_id(uuid(Lead, &s.leads[0]))
                    .one(&app.db)
                    .await
                    .unwrap()
                    .unwrap(),
            )),
        ),
        (
            format!("/v1/calls/{}", s.calls[0]),
            to_json(&views::Call::from(
                &call::Entity::find_by_id(uuid(Call, &s.calls[0]))
                    .one(&app.db)
                    .await
                    .unwrap()
                    .unwrap(),
            )),
        ),
        (
            format!("/v1/team/{}", s.team_member),
            to_json(&views::TeamMember::from(
                &team_member::Entity::find_by_id(uuid(TeamMember, &s.team_member))
                    .one(&app.db)
                    .await
                    .unwrap()
                    .unwrap(),
            )),
        ),
        (
            format!("/v1/booking-links/{}", s.booking_link),
            to_json(&views::BookingLink::from(
                &booking_link::Entity::find_by_id(uuid(BookingLink, &s.booking_link))
                    .one(&app.db)
                    .await
                    .unwrap()
                    .unwrap(),
            )),
        ),
        (
            format!("/v1/products/{}", s.product),
            to_json(&views::Product::from(
                &product::Entity::find_by_id(uuid(Product, &s.product))
                    .one(&app.db)
                    .await
                    .unwrap()
                    .unwrap(),
            )),
        ),
        (
            format!("/v1/payments/{}", s.payments[0]),
            to_json(&views::Payment::from(
                &payment::Entity::find_by_id(uuid(Payment, &s.payments[0]))
                    .one(&app.db)
                    .await
                    .unwrap()
                    .unwrap(),
            )),
        ),
    ];
    for (path, resource) in cases {
        let rest = get_json(&app, &path, &org.key).await;
        let rendered = resource;
        assert_eq!(rendered, rest["data"], "{path}");
        // Field order matters to people reading payloads: the same as REST's.
        assert_eq!(rendered.to_string(), rest["data"].to_string(), "{path}");
    }
}

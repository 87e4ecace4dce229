//! Bench-only routes, compiled only with the `bench` cargo feature (`bench/run.py` builds
//! with it) and mounted under `/bench` when `AURA_BENCH_ROUTES=true`; never in a
//! production build, never in the OpenAPI document. They give `bench/run.py` its floors, measured through
//! the same binary, middleware stack and connection pool as the API:
//!
//! - `GET /bench/noop`: the HTTP floor, a route doing no work.
//! - `GET /bench/leads[?after=<cursor>]`: the database floor, the keyset page of 25 leads
//!   `GET /v1/leads` serves, fetched with one hand-written statement and serialized to the
//!   same JSON, with no GraphQL, no authentication and no rate limiter. It serves the demo
//!   organization (`aura demo`), whose id is looked up once and kept for the process's life.
//! - `GET /bench/nested`: the nested query's own floor ("db floor nested"): the statements
//!   the GraphQL nested query needs (the page of 25 leads, each lead's newest 25 calls with
//!   their closer, each lead's newest 25 payments with their product), hand-written, best
//!   per backend (`LATERAL … LIMIT` on PostgreSQL, `ROW_NUMBER()` on SQLite), through the
//!   same pool, serialized to the same JSON shape, with no GraphQL.
//! - `POST /bench/open-link`: makes sure the demo organization has a booking link open
//!   around the clock in five-minute slots for a year (`bench-open`), and answers its slug
//!   and first free start, so the `bookCall` scenario can book a distinct slot per request.
//! - `GET /bench/depth?after=<cursor>`: how many of the demo organization's leads come
//!   before a cursor's row (newer, in list order), so the runner can check how deep its
//!   deep page is.
//! - `GET /bench/statements`: how many SQL statements the process has run, so the runner
//!   can count the statements of one request.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use poem::http::StatusCode;
use poem::web::{Data, Json, Query};
use poem::{IntoResponse, Response, Route, get, handler};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryResult, QuerySelect, Statement, Value,
};
use serde::Deserialize;
use serde_json::{Map, json};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::db::Database;
use crate::db::page::{Cursor, DEFAULT_PAGE_SIZE};
use crate::graphql::Core;
use crate::ids::{self, IdKind};

static STATEMENTS: AtomicU64 = AtomicU64::new(0);
static DEMO_ORG: OnceCell<Option<Uuid>> = OnceCell::const_new();

/// Counts every statement `db` runs from now on (read by `GET /bench/statements`), beside
/// whatever else observes it.
pub fn count_statements(db: &Database) {
    db.observe(std::sync::Arc::new(|_| {
        STATEMENTS.fetch_add(1, Ordering::Relaxed);
    }));
}

pub fn routes() -> Route {
    Route::new()
        .at("/noop", get(noop))
        .at("/leads", get(db_floor))
        .at("/nested", get(nested_floor))
        .at("/open-link", poem::post(open_link))
        .at("/statements", get(statements))
        .at("/depth", get(depth))
}

#[handler]
fn noop() -> Json<serde_json::Value> {
    Json(json!({"success": true}))
}

#[handler]
fn statements() -> Json<serde_json::Value> {
    Json(json!({"statements": STATEMENTS.load(Ordering::Relaxed)}))
}

#[derive(Deserialize)]
struct FloorParams {
    after: Option<String>,
}

const LEAD_COLUMNS: &str = "id, name, email, phone, source, status, assigned_team_member_id, \
     utm_source, utm_medium, utm_campaign, utm_term, utm_content, custom_fields, \
     created_at, updated_at";

#[handler]
async fn db_floor(core: Data<&Core>, Query(params): Query<FloorParams>) -> Response {
    match floor_page(core.db.conn(), params.after.as_deref()).await {
        Ok(body) => Json(body).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "bench db floor failed");
            Json(json!({"success": false, "error": err, "code": "INTERNAL_ERROR"}))
                .with_status(StatusCode::INTERNAL_SERVER_ERROR)
                .into_response()
        }
    }
}

async fn demo_org(db: &DatabaseConnection) -> Result<Uuid, String> {
    let org = DEMO_ORG
        .get_or_try_init(|| async {
            crate::services::orgs::find_by_slug(db, crate::seed::DEMO_SLUG)
                .await
                .map(|org| org.map(|o| o.id))
                .map_err(|e| e.to_string())
        })
        .await?;
    org.ok_or_else(|| "no demo organization: run `aura demo` first".to_owned())
}

async fn floor_page(
    db: &DatabaseConnection,
    after: Option<&str>,
) -> Result<serde_json::Value, String> {
    let org = demo_org(db).await?;
    let backend = db.get_database_backend();
    let limit = DEFAULT_PAGE_SIZE as u64;
    let (sql, values): (String, Vec<Value>) = match after {
        None => (
            format!(
                "SELECT {LEAD_COLUMNS} FROM leads WHERE organization_id = {p1} \
                 ORDER BY created_at DESC, id DESC LIMIT {}",
                limit + 1,
                p1 = placeholder(backend, 1)
            ),
            vec![org.into()],
        ),
        Some(text) => {
            let cursor = Cursor::decode(text).ok_or("`after` is not a cursor")?;
            (
                format!(
                    "SELECT {LEAD_COLUMNS} FROM leads WHERE organization_id = {p1} \
                     AND (created_at, id) < ({p2}, {p3}) \
                     ORDER BY created_at DESC, id DESC LIMIT {}",
                    limit + 1,
                    p1 = placeholder(backend, 1),
                    p2 = placeholder(backend, 2),
                    p3 = placeholder(backend, 3)
                ),
                vec![org.into(), cursor.created_at.into(), cursor.id.into()],
            )
        }
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .map_err(|e| e.to_string())?;
    let has_more = rows.len() as u64 > limit;
    let mut data = Vec::with_capacity(limit as usize);
    let mut next_cursor = None;
    for row in rows.iter().take(limit as usize) {
        let (object, cursor) = lead_json(row).map_err(|e| e.to_string())?;
        next_cursor = Some(cursor.encode());
        data.push(object);
    }
    Ok(json!({
        "success": true,
        "data": data,
        "pagination": {
            "limit": limit,
            "has_more": has_more,
            "next_cursor": if has_more { next_cursor } else { None },
        }
    }))
}

#[handler]
async fn nested_floor(core: Data<&Core>) -> Response {
    match nested_page(core.db.conn()).await {
        Ok(body) => Json(body).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "bench nested floor failed");
            Json(json!({"success": false, "error": err, "code": "INTERNAL_ERROR"}))
                .with_status(StatusCode::INTERNAL_SERVER_ERROR)
                .into_response()
        }
    }
}

/// Each parent's newest `CHILDREN` rows of `table` (with `joined` columns of its LEFT
/// JOINed related row), for the parents in `lead_ids`: one statement.
fn children_sql(
    backend: DbBackend,
    table: &str,
    columns: &str,
    join: &str,
    lead_ids: usize,
) -> String {
    const CHILDREN: usize = 25;
    let ids: Vec<String> = (0..lead_ids).map(|i| placeholder(backend, i + 2)).collect();
    match backend {
        DbBackend::Postgres => {
            let values: Vec<String> = ids.iter().map(|p| format!("({p}::uuid)")).collect();
            format!(
                "SELECT {columns} FROM (VALUES {}) AS parent(lead_id) CROSS JOIN LATERAL \
                 (SELECT * FROM {table} c WHERE c.organization_id = $1 AND c.lead_id = parent.lead_id \
                 ORDER BY c.created_at DESC, c.id DESC LIMIT {CHILDREN}) c {join}",
                values.join(", ")
            )
        }
        _ => format!(
            "SELECT {columns} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY lead_id \
             ORDER BY created_at DESC, id DESC) AS rank FROM {table} \
             WHERE organization_id = ? AND lead_id IN ({})) c {join} WHERE c.rank <= {CHILDREN} \
             ORDER BY c.lead_id, c.created_at DESC, c.id DESC",
            ids.join(", ")
        ),
    }
}

async fn nested_page(db: &DatabaseConnection) -> Result<serde_json::Value, String> {
    let org = demo_org(db).await?;
    let backend = db.get_database_backend();
    let page = floor_page(db, None).await?;
    let leads = page["data"].as_array().cloned().unwrap_or_default();
    let lead_ids: Vec<Uuid> = leads
        .iter()
        .filter_map(|l| l["id"].as_str())
        .filter_map(|id| ids::decode(IdKind::Lead, id).ok())
        .collect();
    let mut values: Vec<Value> = vec![org.into()];
    values.extend(lead_ids.iter().map(|id| Value::from(*id)));
    let calls_sql = children_sql(
        backend,
        "calls",
        "c.id, c.lead_id, c.scheduled_at, c.status, t.id AS closer_id, t.name AS closer_name, \
         t.commission_rate_ppm",
        "LEFT JOIN team_members t ON t.id = c.closer_id",
        lead_ids.len(),
    );
    let payments_sql = children_sql(
        backend,
        "payments",
        "c.id, c.lead_id, c.amount, c.currency, c.status, p.id AS product_id, \
         p.name AS product_name",
        "LEFT JOIN products p ON p.id = c.product_id",
        lead_ids.len(),
    );
    let (calls, payments) = tokio::try_join!(
        db.query_all_raw(Statement::from_sql_and_values(
            backend,
            calls_sql,
            values.clone()
        )),
        db.query_all_raw(Statement::from_sql_and_values(
            backend,
            payments_sql,
            values
        )),
    )
    .map_err(|e| e.to_string())?;
    let mut by_lead: std::collections::HashMap<
        Uuid,
        (Vec<serde_json::Value>, Vec<serde_json::Value>),
    > = std::collections::HashMap::new();
    for row in &calls {
        let lead: Uuid = row.try_get("", "lead_id").map_err(|e| e.to_string())?;
        let closer: Option<Uuid> = row.try_get("", "closer_id").map_err(|e| e.to_string())?;
        let rate: Option<i64> = row
            .try_get("", "commission_rate_ppm")
            .map_err(|e| e.to_string())?;
        let call = json!({
            "id": ids::encode(IdKind::Call, row.try_get::<Uuid>("", "id").map_err(|e| e.to_string())?),
            "scheduledAt": crate::time::format_rfc3339(
                row.try_get::<DateTime<Utc>>("", "scheduled_at").map_err(|e| e.to_string())?
            ),
            "status": row.try_get::<String>("", "status").map_err(|e| e.to_string())?.to_uppercase(),
            "closer": closer.map(|id| json!({
                "id": ids::encode(IdKind::TeamMember, id),
                "name": row.try_get::<Option<String>>("", "closer_name").ok().flatten(),
                "commissionRate": rate.and_then(|ppm| crate::domain::CommissionRate::from_ppm(ppm).ok()).map(|r| r.to_string()),
            })),
        });
        by_lead.entry(lead).or_default().0.push(call);
    }
    for row in &payments {
        let lead: Uuid = row.try_get("", "lead_id").map_err(|e| e.to_string())?;
        let product: Option<Uuid> = row.try_get("", "product_id").map_err(|e| e.to_string())?;
        let payment = json!({
            "id": ids::encode(IdKind::Payment, row.try_get::<Uuid>("", "id").map_err(|e| e.to_string())?),
            "amount": row.try_get::<i64>("", "amount").map_err(|e| e.to_string())?,
            "currency": row.try_get::<String>("", "currency").map_err(|e| e.to_string())?,
            "status": row.try_get::<String>("", "status").map_err(|e| e.to_string())?.to_uppercase(),
            "product": product.map(|id| json!({
                "id": ids::encode(IdKind::Product, id),
                "name": row.try_get::<Option<String>>("", "product_name").ok().flatten(),
            })),
        });
        by_lead.entry(lead).or_default().1.push(payment);
    }
    let edges: Vec<serde_json::Value> = leads
        .iter()
        .zip(&lead_ids)
        .map(|(lead, id)| {
            let (calls, payments) = by_lead.remove(id).unwrap_or_default();
            json!({"node": {
                "id": lead["id"],
                "name": lead["name"],
                "calls": calls,
                "payments": payments,
            }})
        })
        .collect();
    Ok(json!({"data": {"leads": {
        "edges": edges,
        "pageInfo": {
            "hasNextPage": page["pagination"]["has_more"],
            "endCursor": page["pagination"]["next_cursor"],
        },
    }}}))
}

/// The slug of the bench's open booking link.
const OPEN_LINK: &str = "bench-open";

#[handler]
async fn open_link(core: Data<&Core>) -> Response {
    use crate::services::booking_links::{self, NewBookingLink, WeeklyIntervalInput};
    let made = async {
        let db = core.db.conn();
        let org = demo_org(db).await?;
        if crate::services::booking::active_link(db, OPEN_LINK)
            .await
            .is_err()
        {
            let owner = entities::team_member::Entity::find()
                .filter(entities::team_member::Column::OrganizationId.eq(org))
                .filter(entities::team_member::Column::Active.eq(true))
                .one(db)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the demo organization has no active member")?;
            let every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .into_iter()
                .map(|day| WeeklyIntervalInput {
                    day: day.to_owned(),
                    start: "00:00".to_owned(),
                    end: "24:00".to_owned(),
                })
                .collect();
            let input = NewBookingLink {
                slug: OPEN_LINK.to_owned(),
                name: "Bench".to_owned(),
                owner_id: ids::encode(IdKind::TeamMember, owner.id),
                duration_minutes: 5,
                timezone: "UTC".to_owned(),
                weekly_hours: every_day,
                buffer_minutes: Some(0),
                min_notice_minutes: Some(0),
                horizon_days: Some(365),
                questions: None,
                active: Some(true),
            };
            booking_links::create(&core.db, &crate::domain::Actor::operator(org), input)
                .await
                .map_err(|e| e.to_string())?;
        }
        // An hour from now on the five-minute grid, or after the last slot an earlier run
        // booked, whichever is later.
        let link = crate::services::booking::active_link(db, OPEN_LINK)
            .await
            .map_err(|e| e.to_string())?;
        let last: Option<DateTime<Utc>> = entities::call::Entity::find()
            .select_only()
            .column_as(entities::call::Column::ScheduledAt.max(), "last")
            .filter(entities::call::Column::BookingLinkId.eq(link.id))
            .into_tuple()
            .one(db)
            .await
            .map_err(|e| e.to_string())?
            .flatten();
        let now = crate::time::now().timestamp();
        let after_last = last.map_or(0, |at| at.timestamp() + 300);
        let first = ((now / 300 + 12) * 300).max(after_last);
        Ok::<_, String>(json!({"slug": OPEN_LINK, "first_start_unix": first}))
    };
    match made.await {
        Ok(body) => Json(body).into_response(),
        Err(err) => Json(json!({"success": false, "error": err}))
            .with_status(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
    }
}

#[handler]
async fn depth(core: Data<&Core>, Query(params): Query<FloorParams>) -> Response {
    let counted = async {
        let org = demo_org(core.db.conn()).await?;
        let cursor = params
            .after
            .as_deref()
            .and_then(Cursor::decode)
            .ok_or("`after` is not a cursor")?;
        let backend = core.db.get_database_backend();
        let sql = format!(
            "SELECT COUNT(*) AS n FROM leads WHERE organization_id = {} \
             AND (created_at, id) > ({}, {})",
            placeholder(backend, 1),
            placeholder(backend, 2),
            placeholder(backend, 3)
        );
        let values: Vec<Value> = vec![org.into(), cursor.created_at.into(), cursor.id.into()];
        let row = core
            .db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no count")?;
        row.try_get::<i64>("", "n").map_err(|e| e.to_string())
    };
    match counted.await {
        Ok(n) => Json(json!({"rows_before": n})).into_response(),
        Err(err) => Json(json!({"success": false, "error": err}))
            .with_status(StatusCode::BAD_REQUEST)
            .into_response(),
    }
}

fn placeholder(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// A lead row as the REST lead object (`GET /v1/leads`), and its cursor.
fn lead_json(row: &QueryResult) -> Result<(serde_json::Value, Cursor), sea_orm::DbErr> {
    let id: Uuid = row.try_get("", "id")?;
    let created_at: DateTime<Utc> = row.try_get("", "created_at")?;
    let updated_at: DateTime<Utc> = row.try_get("", "updated_at")?;
    let assigned: Option<Uuid> = row.try_get("", "assigned_team_member_id")?;
    let text = |col: &str| row.try_get::<Option<String>>("", col);
    let mut utm = Map::new();
    for (key, col) in [
        ("source", "utm_source"),
        ("medium", "utm_medium"),
        ("campaign", "utm_campaign"),
        ("term", "utm_term"),
        ("content", "utm_content"),
    ] {
        utm.insert(key.to_owned(), json!(text(col)?));
    }
    let status: String = row.try_get("", "status")?;
    let custom_fields: serde_json::Value = row.try_get("", "custom_fields")?;
    let object = json!({
        "id": ids::encode(IdKind::Lead, id),
        "name": row.try_get::<String>("", "name")?,
        "email": text("email")?,
        "phone": text("phone")?,
        "source": text("source")?,
        "status": status,
        "assigned_team_member_id": assigned.map(|tm| ids::encode(IdKind::TeamMember, tm)),
        "utm": utm,
        "custom_fields": custom_fields,
        "created_at": crate::time::format_rfc3339(created_at),
        "updated_at": crate::time::format_rfc3339(updated_at),
    });
    Ok((object, Cursor { created_at, id }))
}

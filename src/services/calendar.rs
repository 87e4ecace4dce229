//! Calendar holds: the 5-minute blocks a scheduled call holds on its closer's calendar.
//! Inserting a call's holds in the transaction that creates or moves it is what makes
//! double booking impossible: the `(team_member_id, block_start)` primary key lets only
//! one call hold a block, on SQLite and on PostgreSQL alike, whatever order concurrent
//! transactions run in. App calls, widget bookings and the seeder all hold time here.

use chrono::{DateTime, Duration, Utc};
use entities::{booking_link, calendar_hold, call, call_slot_claim};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, SqlErr,
};
use uuid::Uuid;

use crate::domain::calendar::availability::{Busy, block, blocks_for};
use crate::domain::calendar::schedule::{MAX_BUFFER_MINUTES, MAX_DURATION_MINUTES};
use crate::error::{AppError, AppResult};

/// The rows a scheduled call with a closer holds (none for any other call).
fn holds_of(call: &call::Model, buffer: Duration) -> Vec<call_slot_claim::ActiveModel> {
    let Some(owner) = call.closer_id else {
        return Vec::new();
    };
    if call.status != call::CallStatus::Scheduled {
        return Vec::new();
    }
    blocks_for(
        call.scheduled_at,
        Duration::minutes(i64::from(call.duration_minutes)),
        buffer,
    )
    .into_iter()
    .map(|block| call_slot_claim::ActiveModel {
        team_member_id: Set(owner),
        block_start: Set(block),
        call_id: Set(call.id),
    })
    .collect()
}

/// Holds the blocks of a scheduled call with a closer; CONFLICT if any is held.
#[tracing::instrument(name = "service.calendar.hold", skip_all)]
pub async fn hold<C: ConnectionTrait>(
    db: &C,
    call: &call::Model,
    buffer: Duration,
) -> AppResult<()> {
    let rows = holds_of(call, buffer);
    let Some(span) = span_of(&rows) else {
        return Ok(());
    };
    match call_slot_claim::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await
    {
        Ok(_) => {
            calendar_hold::Entity::insert(span)
                .exec_without_returning(db)
                .await?;
            Ok(())
        }
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(AppError::Conflict(
                "that time was just taken; ask availableSlots for free ones".to_owned(),
            ))
        }
        Err(err) => Err(err.into()),
    }
}

/// Holds what it can of many calls' blocks at once, keeping the first holder of a block:
/// for imported history (the demo seed), where calls may overlap.
#[tracing::instrument(name = "service.calendar.hold_imported", skip_all)]
pub async fn hold_imported<C: ConnectionTrait>(
    db: &C,
    calls: &[call::Model],
    buffer: Duration,
) -> AppResult<()> {
    let mut rows: Vec<call_slot_claim::ActiveModel> = Vec::new();
    let mut spans: Vec<calendar_hold::ActiveModel> = Vec::new();
    for call in calls {
        let holds = holds_of(call, buffer);
        spans.extend(span_of(&holds));
        rows.extend(holds);
    }
    // An imported call that overlaps an earlier one keeps its whole span busy, though the
    // earlier one holds the shared blocks: availability shows all of it taken.
    for chunk in spans.chunks(500) {
        calendar_hold::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(calendar_hold::Column::CallId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    for chunk in rows.chunks(500) {
        call_slot_claim::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    call_slot_claim::Column::TeamMemberId,
                    call_slot_claim::Column::BlockStart,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Frees every block a call holds.
#[tracing::instrument(name = "service.calendar.release", skip_all)]
pub async fn release<C: ConnectionTrait>(db: &C, call_id: Uuid) -> AppResult<()> {
    call_slot_claim::Entity::delete_many()
        .filter(call_slot_claim::Column::CallId.eq(call_id))
        .exec(db)
        .await?;
    calendar_hold::Entity::delete_by_id(call_id)
        .exec(db)
        .await?;
    Ok(())
}

/// The span row of a call's blocks (`None` when it holds none). Blocks are contiguous.
fn span_of(rows: &[call_slot_claim::ActiveModel]) -> Option<calendar_hold::ActiveModel> {
    let first = rows.first()?;
    let last = rows.last()?;
    Some(calendar_hold::ActiveModel {
        call_id: first.call_id.clone(),
        team_member_id: first.team_member_id.clone(),
        first_block: first.block_start.clone(),
        last_block: last.block_start.clone(),
    })
}

/// The longest span a call can hold: its longest duration and buffer, plus the block its
/// start is rounded down into. Spans that start earlier than this before a window end
/// before it, so the look-up scans the index from there.
fn longest_hold() -> Duration {
    Duration::minutes(i64::from(MAX_DURATION_MINUTES + MAX_BUFFER_MINUTES)) + block()
}

/// The buffer a call keeps after it: its booking link's, if it was booked through one.
#[tracing::instrument(name = "service.calendar.buffer_of", skip_all)]
pub async fn buffer_of<C: ConnectionTrait>(db: &C, call: &call::Model) -> AppResult<Duration> {
    let Some(link_id) = call.booking_link_id else {
        return Ok(Duration::zero());
    };
    let link = booking_link::Entity::find_by_id(link_id).one(db).await?;
    Ok(link.map_or(Duration::zero(), |l| {
        Duration::minutes(i64::from(l.buffer_minutes))
    }))
}

/// When `team_member_id`'s calendar is held in `[from, to)`: one row per call, the span
/// of its blocks (`calendar_holds`), so a week's availability reads one row per call
/// instead of one per five minutes, with no grouping (grouping the claims cost about 1 ms
/// of SQL for a busy week on SQLite).
#[tracing::instrument(name = "service.calendar.busy_between", skip_all)]
pub async fn busy_between<C: ConnectionTrait>(
    db: &C,
    team_member_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Busy> {
    let spans = calendar_hold::Entity::find()
        .select_only()
        .filter(calendar_hold::Column::TeamMemberId.eq(team_member_id))
        .filter(calendar_hold::Column::FirstBlock.gt(from - longest_hold()))
        .filter(calendar_hold::Column::FirstBlock.lt(to))
        .filter(calendar_hold::Column::LastBlock.gt(from - block()));
    let rows: Vec<(DateTime<Utc>, DateTime<Utc>)> = if db.get_database_backend()
        == DbBackend::Sqlite
    {
        // sqlx hands SQLite rows over from its worker thread one at a time, a wake-up
        // each (about 50 context switches for a busy week); one row holding a JSON
        // array of the spans is one hand-off.
        let text: Option<String> = spans
            .column_as(
                Expr::cust("json_group_array(json_array(first_block, last_block))"),
                "spans",
            )
            .into_tuple()
            .one(db)
            .await?;
        match text {
            Some(text) => serde_json::from_str(&text)
                .map_err(|err| AppError::internal(format!("calendar spans from SQLite: {err}")))?,
            None => Vec::new(),
        }
    } else {
        spans
            .column(calendar_hold::Column::FirstBlock)
            .column(calendar_hold::Column::LastBlock)
            .into_tuple()
            .all(db)
            .await?
    };
    Ok(Busy::new(
        rows.into_iter()
            .map(|(first, last)| (first, last + block()))
            .collect(),
    ))
}

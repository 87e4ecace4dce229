//! Calendar holds: the 5-minute blocks a scheduled call holds on its closer's calendar.
//! Inserting a call's holds in the transaction that creates or moves it is what makes
//! double booking impossible: the `(team_member_id, block_start)` primary key lets only
//! one call hold a block, on SQLite and on PostgreSQL alike, whatever order concurrent
//! transactions run in. App calls, widget bookings and the seeder all hold time here.

use chrono::{DateTime, Duration, Utc};
use entities::{booking_link, call, call_slot_claim};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, SqlErr,
};
use uuid::Uuid;

use crate::domain::calendar::availability::{Busy, block, blocks_for};
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
    if rows.is_empty() {
        return Ok(());
    }
    match call_slot_claim::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await
    {
        Ok(_) => Ok(()),
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
    let rows: Vec<call_slot_claim::ActiveModel> =
        calls.iter().flat_map(|c| holds_of(c, buffer)).collect();
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
    Ok(())
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

/// When `team_member_id`'s calendar is held in `[from, to)`: each call's blocks merged
/// into one interval in SQL (a call's blocks are contiguous; where another call holds a
/// gap, the union is the same), so a week's availability reads one row per call instead
/// of one per five minutes.
#[tracing::instrument(name = "service.calendar.busy_between", skip_all)]
pub async fn busy_between<C: ConnectionTrait>(
    db: &C,
    team_member_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Busy> {
    let rows: Vec<(DateTime<Utc>, DateTime<Utc>)> = call_slot_claim::Entity::find()
        .select_only()
        .column_as(call_slot_claim::Column::BlockStart.min(), "first")
        .column_as(call_slot_claim::Column::BlockStart.max(), "last")
        .filter(call_slot_claim::Column::TeamMemberId.eq(team_member_id))
        .filter(call_slot_claim::Column::BlockStart.gte(from))
        .filter(call_slot_claim::Column::BlockStart.lt(to))
        .group_by(call_slot_claim::Column::CallId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(Busy::new(
        rows.into_iter()
            .map(|(first, last)| (first, last + block()))
            .collect(),
    ))
}

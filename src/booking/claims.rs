//! Calendar claims: the blocks a scheduled call holds. Inserting a call's claims in the
//! transaction that creates or moves it is what makes double booking impossible: the
//! `(team_member_id, block_start)` primary key lets only one call hold a block, on SQLite
//! and on PostgreSQL alike, whatever order concurrent transactions run in.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use entities::{call, call_slot_claim};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, SqlErr};
use uuid::Uuid;

use super::availability::blocks_for;
use crate::error::{AppError, AppResult};

/// Claims the blocks of a scheduled call with a closer; CONFLICT if any is held.
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    call: &call::Model,
    buffer: Duration,
) -> AppResult<()> {
    let Some(owner) = call.closer_id else {
        return Ok(());
    };
    if call.status != call::CallStatus::Scheduled {
        return Ok(());
    }
    let rows: Vec<call_slot_claim::ActiveModel> = blocks_for(
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
    .collect();
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

pub async fn release<C: ConnectionTrait>(db: &C, call_id: Uuid) -> AppResult<()> {
    call_slot_claim::Entity::delete_many()
        .filter(call_slot_claim::Column::CallId.eq(call_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn claimed_between<C: ConnectionTrait>(
    db: &C,
    team_member_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<BTreeSet<DateTime<Utc>>> {
    let rows = call_slot_claim::Entity::find()
        .filter(call_slot_claim::Column::TeamMemberId.eq(team_member_id))
        .filter(call_slot_claim::Column::BlockStart.gte(from))
        .filter(call_slot_claim::Column::BlockStart.lt(to))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| r.block_start).collect())
}

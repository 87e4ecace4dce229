//! The sales team: members, their roles and commission rates. A rate change is added to
//! the member's rate history (`commissions::record_rate`) effective now, so payments
//! already made keep the rate they were paid under. Members are never deleted (calls and
//! payments point at them); `active: false` retires one.
//!
//! `role` is the member's part in the sales team (closer, setter, …). It grants nothing:
//! what a signed-in user may do comes from their Clerk organization role.

use entities::team_member::{self, TeamRole};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};

use super::commissions;
use crate::db::Database;
use crate::db::lookup::target;
use crate::domain::text::{required_text, timezone};
use crate::domain::{Action, Actor, CommissionRate, Email};
use crate::error::{AppError, AppResult};
use crate::events::{self, EventType};
use crate::views;

pub struct NewTeamMember {
    pub name: String,
    pub email: String,
    pub role: TeamRole,
    /// `0` when omitted.
    pub commission_rate: Option<Decimal>,
    /// `UTC` when omitted.
    pub timezone: Option<String>,
    /// `true` when omitted.
    pub active: Option<bool>,
}

/// Omitted (`None`) fields keep their value.
#[derive(Default)]
pub struct TeamMemberChanges {
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: Option<TeamRole>,
    pub commission_rate: Option<Decimal>,
    pub timezone: Option<String>,
    pub active: Option<bool>,
}

fn rate(value: Decimal) -> AppResult<CommissionRate> {
    CommissionRate::from_decimal(value)
        .map_err(|message| AppError::validation("commissionRate", message))
}

/// Adds a member to the team, with their commission rate from now on. Records
/// `team_member.created`.
#[tracing::instrument(name = "service.team.create", skip_all)]
pub async fn create(
    db: &Database,
    actor: &Actor,
    input: NewTeamMember,
) -> AppResult<team_member::Model> {
    actor.require_action(Action::ManageTeam)?;
    let org = actor.organization_id;
    let name = required_text("name", &input.name, 200)?;
    let email = Email::parse_field("email", &input.email)?.into_string();
    let rate = match input.commission_rate {
        Some(value) => rate(value)?,
        None => CommissionRate::from_ppm(0).map_err(AppError::internal)?,
    };
    let timezone = timezone("timezone", input.timezone.as_deref().unwrap_or("UTC"))?;

    let txn = db.begin_write().await?;
    let at = crate::time::now();
    let created = team_member::ActiveModel {
        id: Set(crate::ids::new_uuid()),
        organization_id: Set(org),
        name: Set(name),
        email: Set(email),
        role: Set(input.role),
        commission_rate_ppm: Set(rate.ppm()),
        active: Set(input.active.unwrap_or(true)),
        timezone: Set(timezone.name().to_owned()),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    commissions::record_rate(&txn, org, created.id, rate, at).await?;
    events::record(
        &txn,
        org,
        EventType::TeamMemberCreated,
        &views::TeamMember::from(&created),
    )
    .await?;
    db.commit(txn).await?;
    Ok(created)
}

/// Changes a member's details, role or commission rate (effective now), or retires them.
/// Records `team_member.updated` when something changed.
#[tracing::instrument(name = "service.team.update", skip_all)]
pub async fn update(
    db: &Database,
    actor: &Actor,
    id: &str,
    input: TeamMemberChanges,
) -> AppResult<team_member::Model> {
    actor.require_action(Action::ManageTeam)?;
    let org = actor.organization_id;
    let name = input
        .name
        .map(|n| required_text("name", &n, 200))
        .transpose()?;
    let email = input
        .email
        .as_deref()
        .map(|e| Email::parse_field("email", e).map(Email::into_string))
        .transpose()?;
    let rate = input.commission_rate.map(rate).transpose()?;
    let timezone = input
        .timezone
        .as_deref()
        .map(|tz| timezone("timezone", tz))
        .transpose()?;

    let txn = db.begin_write().await?;
    let current = target::<team_member::Entity, _>(&txn, org, id).await?;
    let mut active: team_member::ActiveModel = current.clone().into();
    if let Some(name) = name {
        active.name.set_ne(name);
    }
    if let Some(email) = email {
        active.email.set_ne(email);
    }
    if let Some(role) = input.role {
        active.role.set_ne(role);
    }
    if let Some(rate) = rate {
        active.commission_rate_ppm.set_ne(rate.ppm());
    }
    if let Some(timezone) = timezone {
        active.timezone.set_ne(timezone.name().to_owned());
    }
    if let Some(is_active) = input.active {
        active.active.set_ne(is_active);
    }
    if !active.is_changed() {
        return Ok(current);
    }
    let at = crate::time::now();
    if let (Some(rate), true) = (rate, active.commission_rate_ppm.is_set()) {
        commissions::record_rate(&txn, org, current.id, rate, at).await?;
    }
    active.updated_at = Set(at);
    let updated = active.update(&txn).await?;
    events::record(
        &txn,
        org,
        EventType::TeamMemberUpdated,
        &views::TeamMember::from(&updated),
    )
    .await?;
    db.commit(txn).await?;
    Ok(updated)
}

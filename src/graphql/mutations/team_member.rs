//! `createTeamMember`, `updateTeamMember`: the sales team, their roles and commission
//! rates. A rate change is added to the member's rate history (`commissions::record_rate`)
//! effective now, so payments already made keep the rate they were paid under. Members
//! are never deleted (calls and payments point at them); `active: false` retires one.
//!
//! `role` is the member's part in the sales team (closer, setter, …). It grants nothing:
//! what a signed-in user may do comes from their Clerk organization role.

use async_graphql::{Context, ID, InputObject, Object, Result};
use entities::team_member;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};

use super::{required_text, target, timezone, writer};
use crate::auth::Action;
use crate::domain::{CommissionRate, Email};
use crate::error::{AppError, AppResult};
use crate::events::{self, EventType};
use crate::graphql::resources::team_member::{TeamMember, TeamRole};
use crate::graphql::scalars::Decimal;
use crate::rest::representation::Resource;

#[derive(InputObject)]
pub struct CreateTeamMemberInput {
    /// 1 to 200 characters.
    pub name: String,
    pub email: String,
    pub role: TeamRole,
    /// The fraction of a payment the member earns, an exact decimal between 0 and 1
    /// (`"0.125"` is 12.5 %); `"0"` when omitted.
    pub commission_rate: Option<Decimal>,
    /// IANA time zone; `UTC` when omitted.
    pub timezone: Option<String>,
    /// `true` when omitted.
    pub active: Option<bool>,
}

/// Omitted fields keep their value.
#[derive(InputObject)]
pub struct UpdateTeamMemberInput {
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: Option<TeamRole>,
    /// Applies to payments paid from now on.
    pub commission_rate: Option<Decimal>,
    pub timezone: Option<String>,
    /// `false` retires the member: no new leads, calls or booking links go to them.
    pub active: Option<bool>,
}

fn email(value: &str) -> AppResult<String> {
    Email::parse(value)
        .map(Email::into_string)
        .map_err(|message| AppError::validation("email", message))
}

fn rate(value: Decimal) -> AppResult<CommissionRate> {
    CommissionRate::from_decimal(value.0)
        .map_err(|message| AppError::validation("commissionRate", message))
}

#[derive(Default)]
pub struct TeamMemberMutation;

#[Object]
impl TeamMemberMutation {
    /// Adds a member to the team, with their commission rate from now on. Records
    /// `team_member.created`. Organization admins (Clerk) only.
    async fn create_team_member(
        &self,
        ctx: &Context<'_>,
        input: CreateTeamMemberInput,
    ) -> Result<TeamMember> {
        Ok(create_team_member(ctx, input).await?)
    }

    /// Changes a member's details, role or commission rate (effective now), or retires
    /// them. Records `team_member.updated` when something changed. Organization admins
    /// (Clerk) only.
    async fn update_team_member(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateTeamMemberInput,
    ) -> Result<TeamMember> {
        Ok(update_team_member(ctx, id, input).await?)
    }
}

async fn create_team_member(
    ctx: &Context<'_>,
    input: CreateTeamMemberInput,
) -> AppResult<TeamMember> {
    let (state, org) = writer(ctx, Action::ManageTeam)?;
    let name = required_text("name", &input.name, 200)?;
    let email = email(&input.email)?;
    let rate = match input.commission_rate {
        Some(value) => rate(value)?,
        None => CommissionRate::from_ppm(0).map_err(AppError::internal)?,
    };
    let timezone = timezone("timezone", input.timezone.as_deref().unwrap_or("UTC"))?;

    let txn = crate::db::begin_write(&state.db).await?;
    let at = crate::time::now();
    let created = team_member::ActiveModel {
        id: Set(crate::ids::new_uuid()),
        organization_id: Set(org),
        name: Set(name),
        email: Set(email),
        role: Set(input.role.into()),
        commission_rate_ppm: Set(rate.ppm()),
        active: Set(input.active.unwrap_or(true)),
        timezone: Set(timezone),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    crate::commissions::record_rate(&txn, org, created.id, rate, at).await?;
    events::record(
        &txn,
        org,
        EventType::TeamMemberCreated,
        Resource::TeamMember(created.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(TeamMember(created))
}

async fn update_team_member(
    ctx: &Context<'_>,
    id: ID,
    input: UpdateTeamMemberInput,
) -> AppResult<TeamMember> {
    let (state, org) = writer(ctx, Action::ManageTeam)?;
    let name = input
        .name
        .map(|n| required_text("name", &n, 200))
        .transpose()?;
    let email = input.email.as_deref().map(email).transpose()?;
    let rate = input.commission_rate.map(rate).transpose()?;
    let timezone = input
        .timezone
        .as_deref()
        .map(|tz| timezone("timezone", tz))
        .transpose()?;

    let txn = crate::db::begin_write(&state.db).await?;
    let current = target::<team_member::Entity, _>(&txn, org, &id).await?;
    let mut active: team_member::ActiveModel = current.clone().into();
    if let Some(name) = name {
        active.name.set_ne(name);
    }
    if let Some(email) = email {
        active.email.set_ne(email);
    }
    if let Some(role) = input.role {
        active.role.set_ne(role.into());
    }
    if let Some(rate) = rate {
        active.commission_rate_ppm.set_ne(rate.ppm());
    }
    if let Some(timezone) = timezone {
        active.timezone.set_ne(timezone);
    }
    if let Some(is_active) = input.active {
        active.active.set_ne(is_active);
    }
    if !active.is_changed() {
        return Ok(TeamMember(current));
    }
    let at = crate::time::now();
    if let (Some(rate), true) = (rate, active.commission_rate_ppm.is_set()) {
        crate::commissions::record_rate(&txn, org, current.id, rate, at).await?;
    }
    active.updated_at = Set(at);
    let updated = active.update(&txn).await?;
    events::record(
        &txn,
        org,
        EventType::TeamMemberUpdated,
        Resource::TeamMember(updated.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(TeamMember(updated))
}

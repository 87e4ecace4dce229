//! `createTeamMember`, `updateTeamMember`: the sales team, their roles and commission
//! rates. A rate change is added to the member's rate history (`commissions::record_rate`)
//! effective now, so payments already made keep the rate they were paid under. Members
//! are never deleted (calls and payments point at them); `active: false` retires one.
//!
//! `role` is the member's part in the sales team (closer, setter, …). It grants nothing:
//! what a signed-in user may do comes from their Clerk organization role.

use async_graphql::{Context, ID, InputObject, Object, Result};

use crate::graphql::context::{actor, core};
use crate::graphql::resources::team_member::{TeamMember, TeamRole};
use crate::graphql::scalars::Decimal;
use crate::services::team::{self, NewTeamMember, TeamMemberChanges};

/// A new team member.
#[derive(InputObject)]
pub struct CreateTeamMemberInput {
    /// 1 to 200 characters.
    pub name: String,
    /// Work e-mail address, unique within the team.
    pub email: String,
    /// Their part in the sales team (it grants no permissions).
    pub role: TeamRole,
    /// The fraction of a payment the member earns, an exact decimal between 0 and 1
    /// (`"0.125"` is 12.5 %); `"0"` when omitted.
    pub commission_rate: Option<Decimal>,
    /// IANA time zone; `UTC` when omitted.
    pub timezone: Option<String>,
    /// `true` when omitted.
    pub active: Option<bool>,
}

/// Changes to a team member. Omitted fields keep their value.
#[derive(InputObject)]
pub struct UpdateTeamMemberInput {
    /// A new name, 1 to 200 characters.
    pub name: Option<String>,
    /// A new work e-mail address, unique within the team.
    pub email: Option<String>,
    /// A new role.
    pub role: Option<TeamRole>,
    /// Applies to payments paid from now on.
    pub commission_rate: Option<Decimal>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// `false` retires the member: no new leads, calls or booking links go to them.
    pub active: Option<bool>,
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
        #[graphql(desc = "The team member to create.")] input: CreateTeamMemberInput,
    ) -> Result<TeamMember> {
        let input = NewTeamMember {
            name: input.name,
            email: input.email,
            role: input.role.get(),
            commission_rate: input.commission_rate.map(|d| d.0),
            timezone: input.timezone,
            active: input.active,
        };
        Ok(TeamMember(
            team::create(&core(ctx).db, actor(ctx)?, input).await?,
        ))
    }

    /// Changes a member's details, role or commission rate (effective now), or retires
    /// them. Records `team_member.updated` when something changed. Organization admins
    /// (Clerk) only.
    async fn update_team_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team member's id (`tm_…`).")] id: ID,
        #[graphql(desc = "What to change; omitted fields keep their value.")]
        input: UpdateTeamMemberInput,
    ) -> Result<TeamMember> {
        let changes = TeamMemberChanges {
            name: input.name,
            email: input.email,
            role: input.role.map(|r| r.get()),
            commission_rate: input.commission_rate.map(|d| d.0),
            timezone: input.timezone,
            active: input.active,
        };
        Ok(TeamMember(
            team::update(&core(ctx).db, actor(ctx)?, id.as_str(), changes).await?,
        ))
    }
}

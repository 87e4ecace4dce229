//! `createLead`, `updateLead`: adapters over `services::leads`.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, Result};

use super::{patch, patch_id};
use crate::graphql::context::{actor, core};
use crate::graphql::resources::lead::{Lead, LeadStatus};
use crate::services::leads::{self, LeadChanges, NewLead};

/// Marketing attribution. In an update it replaces all five fields at once.
#[derive(InputObject, Default)]
pub struct UtmInput {
    /// `utm_source`: the site or platform (`facebook_ads`).
    pub source: Option<String>,
    /// `utm_medium`: the channel (`cpc`, `email`).
    pub medium: Option<String>,
    /// `utm_campaign`: the campaign's name.
    pub campaign: Option<String>,
    /// `utm_term`: the paid keyword.
    pub term: Option<String>,
    /// `utm_content`: which ad or link.
    pub content: Option<String>,
}

/// A new lead.
#[derive(InputObject)]
pub struct CreateLeadInput {
    /// 1 to 200 characters.
    pub name: String,
    /// Stored lower-case. Leads are not de-duplicated by e-mail here; booking reuses one.
    pub email: Option<String>,
    /// Phone number, at most 50 characters.
    pub phone: Option<String>,
    /// Where the lead came from (`facebook_ads`, `referral`, …), at most 100 characters.
    pub source: Option<String>,
    /// `NEW` when omitted.
    pub status: Option<LeadStatus>,
    /// The owner: an active team member of your organization.
    pub assigned_team_member_id: Option<ID>,
    /// Marketing attribution.
    pub utm: Option<UtmInput>,
    /// Free-form fields, a JSON object (at most 50 keys, 10 kB).
    pub custom_fields: Option<Json<serde_json::Value>>,
}

/// Changes to a lead. Omitted fields keep their value; `null` clears a clearable one.
#[derive(InputObject)]
pub struct UpdateLeadInput {
    /// A new name, 1 to 200 characters.
    pub name: Option<String>,
    /// A new e-mail address (stored lower-case); `null` clears it.
    pub email: MaybeUndefined<String>,
    /// A new phone number; `null` clears it.
    pub phone: MaybeUndefined<String>,
    /// Where the lead came from, at most 100 characters; `null` clears it.
    pub source: MaybeUndefined<String>,
    /// A new pipeline status.
    pub status: Option<LeadStatus>,
    /// Reassigns the lead (to an active team member); `null` unassigns it.
    pub assigned_team_member_id: MaybeUndefined<ID>,
    /// Replaces the whole attribution.
    pub utm: Option<UtmInput>,
    /// Replaces the whole object.
    pub custom_fields: Option<Json<serde_json::Value>>,
}

#[derive(Default)]
pub struct LeadMutation;

#[Object]
impl LeadMutation {
    /// Creates a lead. Records `lead.created`. Organization members and admins (Clerk).
    async fn create_lead(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The lead to create.")] input: CreateLeadInput,
    ) -> Result<Lead> {
        let input = NewLead {
            name: input.name,
            email: input.email,
            phone: input.phone,
            source: input.source,
            status: input.status.map(|s| s.get()),
            assigned_team_member_id: input.assigned_team_member_id.map(|id| id.0),
            utm: input.utm.map(Into::into),
            custom_fields: input.custom_fields.map(|j| j.0),
        };
        Ok(Lead(
            leads::create(&core(ctx).db, actor(ctx)?, input).await?,
        ))
    }

    /// Changes a lead's fields, status or owner. Records `lead.updated` when something
    /// changed. Organization members and admins (Clerk).
    async fn update_lead(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The lead's id (`lead_…`).")] id: ID,
        #[graphql(desc = "What to change; omitted fields keep their value.")]
        input: UpdateLeadInput,
    ) -> Result<Lead> {
        let changes = LeadChanges {
            name: input.name,
            email: patch(input.email),
            phone: patch(input.phone),
            source: patch(input.source),
            status: input.status.map(|s| s.get()),
            assigned_team_member_id: patch_id(input.assigned_team_member_id),
            utm: input.utm.map(Into::into),
            custom_fields: input.custom_fields.map(|j| j.0),
        };
        Ok(Lead(
            leads::update(&core(ctx).db, actor(ctx)?, id.as_str(), changes).await?,
        ))
    }
}

impl From<UtmInput> for leads::UtmInput {
    fn from(u: UtmInput) -> Self {
        leads::UtmInput {
            source: u.source,
            medium: u.medium,
            campaign: u.campaign,
            term: u.term,
            content: u.content,
        }
    }
}

//! `createLead`, `updateLead`: the pipeline's prospects, their status and who owns them.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, Result};
use entities::lead;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};

use super::{active_member, clearable, json_object, optional_text, required_text, target, writer};
use crate::auth::Action;
use crate::domain::{Email, Phone};
use crate::error::{AppError, AppResult};
use crate::events::{self, EventType};
use crate::graphql::resources::lead::{Lead, LeadStatus};
use crate::ids::IdKind;
use crate::rest::representation::Resource;

/// Marketing attribution. In an update it replaces all five fields at once.
#[derive(InputObject, Default)]
pub struct UtmInput {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub term: Option<String>,
    pub content: Option<String>,
}

#[derive(InputObject)]
pub struct CreateLeadInput {
    /// 1 to 200 characters.
    pub name: String,
    /// Stored lower-case. Leads are not de-duplicated by e-mail here; booking reuses one.
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Where the lead came from (`facebook_ads`, `referral`, …), at most 100 characters.
    pub source: Option<String>,
    /// `NEW` when omitted.
    pub status: Option<LeadStatus>,
    /// The owner: an active team member of your organization.
    pub assigned_team_member_id: Option<ID>,
    pub utm: Option<UtmInput>,
    /// Free-form fields, a JSON object (at most 50 keys, 10 kB).
    pub custom_fields: Option<Json<serde_json::Value>>,
}

/// Omitted fields keep their value; `null` clears a clearable one.
#[derive(InputObject)]
pub struct UpdateLeadInput {
    pub name: Option<String>,
    pub email: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    pub source: MaybeUndefined<String>,
    pub status: Option<LeadStatus>,
    /// Reassigns the lead (to an active team member); `null` unassigns it.
    pub assigned_team_member_id: MaybeUndefined<ID>,
    /// Replaces the whole attribution.
    pub utm: Option<UtmInput>,
    /// Replaces the whole object.
    pub custom_fields: Option<Json<serde_json::Value>>,
}

fn email(value: String) -> AppResult<Option<String>> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    Email::parse(&value)
        .map(|e| Some(e.into_string()))
        .map_err(|message| AppError::validation("email", message))
}

fn phone(value: String) -> AppResult<Option<String>> {
    Phone::parse_optional(&value)
        .map(|p| p.map(Phone::into_string))
        .map_err(|message| AppError::validation("phone", message))
}

fn source(value: String) -> AppResult<Option<String>> {
    optional_text("source", Some(&value), 100)
}

struct Utm([Option<String>; 5]);

impl Utm {
    fn parse(input: UtmInput) -> AppResult<Utm> {
        let field = |name: &str, value: Option<String>| {
            optional_text(&format!("utm.{name}"), value.as_deref(), 200)
        };
        Ok(Utm([
            field("source", input.source)?,
            field("medium", input.medium)?,
            field("campaign", input.campaign)?,
            field("term", input.term)?,
            field("content", input.content)?,
        ]))
    }

    fn apply(self, active: &mut lead::ActiveModel) {
        let [source, medium, campaign, term, content] = self.0;
        active.utm_source.set_ne(source);
        active.utm_medium.set_ne(medium);
        active.utm_campaign.set_ne(campaign);
        active.utm_term.set_ne(term);
        active.utm_content.set_ne(content);
    }
}

#[derive(Default)]
pub struct LeadMutation;

#[Object]
impl LeadMutation {
    /// Creates a lead. Records `lead.created`. Organization members and admins (Clerk).
    async fn create_lead(&self, ctx: &Context<'_>, input: CreateLeadInput) -> Result<Lead> {
        Ok(create_lead(ctx, input).await?)
    }

    /// Changes a lead's fields, status or owner. Records `lead.updated` when something
    /// changed. Organization members and admins (Clerk).
    async fn update_lead(&self, ctx: &Context<'_>, id: ID, input: UpdateLeadInput) -> Result<Lead> {
        Ok(update_lead(ctx, id, input).await?)
    }
}

async fn create_lead(ctx: &Context<'_>, input: CreateLeadInput) -> AppResult<Lead> {
    let (state, org) = writer(ctx, Action::WriteLeads)?;
    let name = required_text("name", &input.name, 200)?;
    let email = input.email.map(email).transpose()?.flatten();
    let phone = input.phone.map(phone).transpose()?.flatten();
    let source = input.source.map(source).transpose()?.flatten();
    let utm = Utm::parse(input.utm.unwrap_or_default())?;
    let custom_fields = json_object(
        "customFields",
        input.custom_fields.map_or(serde_json::Value::Null, |j| j.0),
    )?;

    let txn = crate::db::begin_write(&state.db).await?;
    let assignee = match &input.assigned_team_member_id {
        Some(id) => Some(
            active_member(&txn, org, "assignedTeamMemberId", id)
                .await?
                .id,
        ),
        None => None,
    };
    let at = crate::time::now();
    let mut active = lead::ActiveModel {
        id: Set(crate::ids::new_uuid()),
        organization_id: Set(org),
        name: Set(name),
        email: Set(email),
        phone: Set(phone),
        source: Set(source),
        status: Set(input.status.map_or(lead::LeadStatus::New, Into::into)),
        assigned_team_member_id: Set(assignee),
        custom_fields: Set(custom_fields),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    };
    utm.apply(&mut active);
    let created = active.insert(&txn).await?;
    events::record(
        &txn,
        org,
        EventType::LeadCreated,
        Resource::Lead(created.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(Lead(created))
}

async fn update_lead(ctx: &Context<'_>, id: ID, input: UpdateLeadInput) -> AppResult<Lead> {
    let (state, org) = writer(ctx, Action::WriteLeads)?;
    let name = input
        .name
        .map(|n| required_text("name", &n, 200))
        .transpose()?;
    let email = clearable(input.email, email)?;
    let phone = clearable(input.phone, phone)?;
    let source = clearable(input.source, source)?;
    let utm = input.utm.map(Utm::parse).transpose()?;
    let custom_fields = input
        .custom_fields
        .map(|j| json_object("customFields", j.0))
        .transpose()?;

    let txn = crate::db::begin_write(&state.db).await?;
    let current = target::<lead::Entity, _>(&txn, org, &id).await?;
    let assignee = match &input.assigned_team_member_id {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(member_id) => {
            let unchanged = current.assigned_team_member_id.is_some()
                && crate::ids::decode(IdKind::TeamMember, member_id.as_str()).ok()
                    == current.assigned_team_member_id;
            // Re-sending the current owner is no reassignment, even if they left since.
            if unchanged {
                None
            } else {
                let member = active_member(&txn, org, "assignedTeamMemberId", member_id).await?;
                Some(Some(member.id))
            }
        }
    };

    let mut active: lead::ActiveModel = current.clone().into();
    if let Some(name) = name {
        active.name.set_ne(name);
    }
    if let Some(email) = email {
        active.email.set_ne(email);
    }
    if let Some(phone) = phone {
        active.phone.set_ne(phone);
    }
    if let Some(source) = source {
        active.source.set_ne(source);
    }
    if let Some(status) = input.status {
        active.status.set_ne(status.into());
    }
    if let Some(assignee) = assignee {
        active.assigned_team_member_id.set_ne(assignee);
    }
    if let Some(utm) = utm {
        utm.apply(&mut active);
    }
    if let Some(fields) = custom_fields {
        active.custom_fields.set_ne(fields);
    }
    if !active.is_changed() {
        return Ok(Lead(current));
    }
    active.updated_at = Set(crate::time::now());
    let updated = active.update(&txn).await?;
    events::record(
        &txn,
        org,
        EventType::LeadUpdated,
        Resource::Lead(updated.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(Lead(updated))
}

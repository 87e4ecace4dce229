//! Leads: the pipeline's prospects, their status and who owns them. Also the two lead
//! rules other actions share: a booked call makes an open lead BOOKED ([`mark_booked`]),
//! and public booking reuses the organization's lead with the booker's e-mail
//! ([`find_or_create_for_booking`]).

use entities::lead::{self, LeadStatus};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    QueryFilter, Statement,
};
use uuid::Uuid;

use super::{Patch, active_member};
use crate::db::Database;
use crate::db::lookup::target;
use crate::domain::status::lead_is_open;
use crate::domain::text::{json_object, optional_text, required_text};
use crate::domain::{Action, Actor, Email, Phone};
use crate::error::AppResult;
use crate::events::{self, EventType};
use crate::views;

/// Marketing attribution, as given. In an update it replaces all five fields at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UtmInput {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub term: Option<String>,
    pub content: Option<String>,
}

pub struct NewLead {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub source: Option<String>,
    /// `NEW` when omitted.
    pub status: Option<LeadStatus>,
    pub assigned_team_member_id: Option<String>,
    pub utm: Option<UtmInput>,
    pub custom_fields: Option<serde_json::Value>,
}

/// Omitted fields keep their value; `Patch::Clear` clears a clearable one.
#[derive(Default)]
pub struct LeadChanges {
    pub name: Option<String>,
    pub email: Patch<String>,
    pub phone: Patch<String>,
    pub source: Patch<String>,
    pub status: Option<LeadStatus>,
    pub assigned_team_member_id: Patch<String>,
    pub utm: Option<UtmInput>,
    pub custom_fields: Option<serde_json::Value>,
}

fn email(value: String) -> AppResult<Option<String>> {
    if value.trim().is_empty() && !value.contains('\0') {
        return Ok(None);
    }
    Email::parse_field("email", &value).map(|e| Some(e.into_string()))
}

fn phone(value: String) -> AppResult<Option<String>> {
    Phone::parse_field("phone", &value).map(|p| p.map(Phone::into_string))
}

fn source(value: String) -> AppResult<Option<String>> {
    optional_text("source", Some(&value), 100)
}

/// Validated attribution: each field trimmed, at most 200 characters.
pub struct Utm([Option<String>; 5]);

impl Utm {
    pub fn parse(input: UtmInput) -> AppResult<Utm> {
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

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
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

/// Creates a lead. Records `lead.created`.
#[tracing::instrument(name = "service.leads.create", skip_all)]
pub async fn create(db: &Database, actor: &Actor, input: NewLead) -> AppResult<lead::Model> {
    actor.require_action(Action::WriteLeads)?;
    let org = actor.organization_id;
    let name = required_text("name", &input.name, 200)?;
    let email = input.email.map(email).transpose()?.flatten();
    let phone = input.phone.map(phone).transpose()?.flatten();
    let source = input.source.map(source).transpose()?.flatten();
    let utm = Utm::parse(input.utm.unwrap_or_default())?;
    let custom_fields = json_object(
        "customFields",
        input.custom_fields.unwrap_or(serde_json::Value::Null),
    )?;

    let txn = db.begin_write().await?;
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
        status: Set(input.status.unwrap_or(LeadStatus::New)),
        assigned_team_member_id: Set(assignee),
        custom_fields: Set(serde_json::Value::Object(custom_fields)),
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
        &views::Lead::from(&created),
    )
    .await?;
    db.commit(txn).await?;
    Ok(created)
}

/// Changes a lead's fields, status or owner. Records `lead.updated` when something changed.
#[tracing::instrument(name = "service.leads.update", skip_all)]
pub async fn update(
    db: &Database,
    actor: &Actor,
    id: &str,
    input: LeadChanges,
) -> AppResult<lead::Model> {
    actor.require_action(Action::WriteLeads)?;
    let org = actor.organization_id;
    let name = input
        .name
        .map(|n| required_text("name", &n, 200))
        .transpose()?;
    let email = input.email.parse(email)?;
    let phone = input.phone.parse(phone)?;
    let source = input.source.parse(source)?;
    let utm = input.utm.map(Utm::parse).transpose()?;
    let custom_fields = input
        .custom_fields
        .map(|j| json_object("customFields", j))
        .transpose()?;

    let txn = db.begin_write().await?;
    let current = target::<lead::Entity, _>(&txn, org, id).await?;
    let assignee = super::member_change(
        &txn,
        org,
        "assignedTeamMemberId",
        input.assigned_team_member_id,
        current.assigned_team_member_id,
    )
    .await?;

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
        active.status.set_ne(status);
    }
    if let Some(assignee) = assignee {
        active.assigned_team_member_id.set_ne(assignee);
    }
    if let Some(utm) = utm {
        utm.apply(&mut active);
    }
    if let Some(fields) = custom_fields {
        active
            .custom_fields
            .set_ne(serde_json::Value::Object(fields));
    }
    if !active.is_changed() {
        return Ok(current);
    }
    active.updated_at = Set(crate::time::now());
    let updated = active.update(&txn).await?;
    events::record(
        &txn,
        org,
        EventType::LeadUpdated,
        &views::Lead::from(&updated),
    )
    .await?;
    db.commit(txn).await?;
    Ok(updated)
}

/// A call was booked with `lead`: if the lead is still open it becomes BOOKED, and
/// `lead.updated` is recorded. Returns the lead as it now is.
#[tracing::instrument(name = "service.leads.mark_booked", skip_all)]
pub async fn mark_booked<C: ConnectionTrait>(db: &C, lead: lead::Model) -> AppResult<lead::Model> {
    if !lead_is_open(lead.status) {
        return Ok(lead);
    }
    let org = lead.organization_id;
    let mut active: lead::ActiveModel = lead.into();
    active.status = Set(LeadStatus::Booked);
    active.updated_at = Set(crate::time::now());
    let updated = active.update(db).await?;
    events::record(
        db,
        org,
        EventType::LeadUpdated,
        &views::Lead::from(&updated),
    )
    .await?;
    Ok(updated)
}

/// Who is booking, as a booking widget collected it, validated.
pub struct Booker {
    pub name: String,
    pub email: Email,
    pub phone: Option<Phone>,
    pub answers: serde_json::Map<String, serde_json::Value>,
    pub utm: Utm,
}

/// The lead a public booking belongs to: the organization's lead with the booker's
/// e-mail (case-insensitive), brought up to date (an open lead becomes BOOKED, new
/// answers are merged into its custom fields, a missing phone or attribution is filled
/// in), or a new lead from the booking link, assigned to the link's owner. Concurrent
/// bookings with one new e-mail make one lead: on PostgreSQL the look-up holds a
/// transaction lock on (organization, e-mail); SQLite has one writer.
#[tracing::instrument(name = "service.leads.find_or_create_for_booking", skip_all)]
pub async fn find_or_create_for_booking<C: ConnectionTrait>(
    txn: &C,
    organization_id: Uuid,
    owner_id: Uuid,
    booker: Booker,
) -> AppResult<lead::Model> {
    if txn.get_database_backend() == DbBackend::Postgres {
        let key = lock_key(organization_id, booker.email.as_str());
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [key.into()],
        ))
        .await?;
    }
    let at = crate::time::now();
    let existing = lead::Entity::find()
        .filter(lead::Column::OrganizationId.eq(organization_id))
        .filter(lead::Column::Email.eq(booker.email.as_str()))
        .one(txn)
        .await?;
    let Some(found) = existing else {
        let mut active = lead::ActiveModel {
            id: Set(crate::ids::new_uuid()),
            organization_id: Set(organization_id),
            name: Set(booker.name),
            email: Set(Some(booker.email.into_string())),
            phone: Set(booker.phone.map(Phone::into_string)),
            source: Set(Some("booking_link".to_owned())),
            status: Set(LeadStatus::Booked),
            assigned_team_member_id: Set(Some(owner_id)),
            custom_fields: Set(serde_json::Value::Object(booker.answers)),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        };
        booker.utm.apply(&mut active);
        let created = active.insert(txn).await?;
        events::record(
            txn,
            organization_id,
            EventType::LeadCreated,
            &views::Lead::from(&created),
        )
        .await?;
        return Ok(created);
    };
    let mut fields = match &found.custom_fields {
        serde_json::Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    let mut active: lead::ActiveModel = found.clone().into();
    if lead_is_open(found.status) {
        active.status = Set(LeadStatus::Booked);
    }
    if found.phone.is_none()
        && let Some(phone) = booker.phone
    {
        active.phone = Set(Some(phone.into_string()));
    }
    let has_attribution = [
        &found.utm_source,
        &found.utm_medium,
        &found.utm_campaign,
        &found.utm_term,
        &found.utm_content,
    ]
    .iter()
    .any(|v| v.is_some());
    if !has_attribution && !booker.utm.is_empty() {
        booker.utm.apply(&mut active);
    }
    if booker.answers.iter().any(|(k, v)| fields.get(k) != Some(v)) {
        fields.extend(booker.answers);
        active.custom_fields = Set(serde_json::Value::Object(fields));
    }
    if !active.is_changed() {
        return Ok(found);
    }
    active.updated_at = Set(at);
    let updated = active.update(txn).await?;
    events::record(
        txn,
        organization_id,
        EventType::LeadUpdated,
        &views::Lead::from(&updated),
    )
    .await?;
    Ok(updated)
}

/// A 64-bit lock key for (organization, e-mail).
fn lock_key(organization_id: Uuid, email: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(organization_id.as_bytes());
    hasher.update(email.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

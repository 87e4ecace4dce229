//! Public booking for widgets on client sites: a link's public details, its free slots,
//! and booking, rescheduling and cancelling a call without an API key. Double booking
//! is impossible by construction: a scheduled call holds its closer's calendar blocks in
//! `call_slot_claims`, whose primary key refuses a second holder (see `claims`).

pub mod availability;
pub mod claims;
pub mod graphql;
pub mod schedule;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use entities::{booking_link, call, lead};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter,
};
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};
use crate::events::{self, EventType};
use crate::rest::representation::Resource;
use availability::{Rules, free_slots};
use schedule::WeeklyHours;

/// The longest range `availableSlots` answers for in one call.
pub const MAX_RANGE_DAYS: i64 = 31;
const TOKEN_PREFIX: &str = "bk_";

pub fn rules(link: &booking_link::Model) -> AppResult<Rules> {
    let timezone: Tz = link.timezone.parse().map_err(|_| {
        AppError::internal(format!("booking link has bad timezone {}", link.timezone))
    })?;
    Ok(Rules {
        timezone,
        hours: WeeklyHours::from_json(&link.weekly_hours),
        duration: Duration::minutes(i64::from(link.duration_minutes)),
        buffer: Duration::minutes(i64::from(link.buffer_minutes)),
        min_notice: Duration::minutes(i64::from(link.min_notice_minutes)),
        horizon: Duration::days(i64::from(link.horizon_days)),
    })
}

/// An active link by its slug; inactive and unknown links are both NOT_FOUND.
pub async fn active_link<C: ConnectionTrait>(db: &C, slug: &str) -> AppResult<booking_link::Model> {
    booking_link::Entity::find()
        .filter(booking_link::Column::Slug.eq(slug))
        .filter(booking_link::Column::Active.eq(true))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("booking link `{slug}` not found")))
}

pub async fn slots<C: ConnectionTrait>(
    db: &C,
    link: &booking_link::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<Vec<DateTime<Utc>>> {
    let rules = rules(link)?;
    let claimed = claims::claimed_between(
        db,
        link.owner_id,
        from - rules.duration - rules.buffer,
        to + rules.duration + rules.buffer,
    )
    .await?;
    Ok(free_slots(&rules, &claimed, from, to, now))
}

async fn ensure_free<C: ConnectionTrait>(
    db: &C,
    link: &booking_link::Model,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let free = slots(db, link, start, start + Duration::minutes(1), now).await?;
    if free.first() == Some(&start) {
        Ok(())
    } else {
        Err(AppError::Conflict(format!(
            "{} is not a free slot of `{}`; ask availableSlots for free ones",
            crate::time::format_rfc3339(start),
            link.slug
        )))
    }
}

/// Who is booking, as the widget collected it.
pub struct Booker {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub answers: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Booker {
    /// Validates and normalizes (trimmed, e-mail lower-cased).
    pub fn new(
        name: &str,
        email: &str,
        phone: Option<&str>,
        answers: Option<serde_json::Value>,
    ) -> AppResult<Self> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AppError::validation("name", "must be 1 to 200 characters"));
        }
        let email = crate::domain::Email::parse(email)
            .map_err(|message| AppError::validation("email", message))?
            .into_string();
        let phone = match phone {
            Some(phone) => crate::domain::Phone::parse_optional(phone)
                .map_err(|message| AppError::validation("phone", message))?
                .map(crate::domain::Phone::into_string),
            None => None,
        };
        let answers = match answers {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Object(map))
                if map.len() <= 50
                    && serde_json::to_string(&map)
                        .map(|s| s.len())
                        .unwrap_or(usize::MAX)
                        <= 10_000 =>
            {
                Some(map)
            }
            Some(serde_json::Value::Object(_)) => {
                return Err(AppError::validation(
                    "answers",
                    "is too large (at most 50 keys, 10 kB)",
                ));
            }
            Some(_) => return Err(AppError::validation("answers", "must be a JSON object")),
        };
        Ok(Booker {
            name: name.to_owned(),
            email,
            phone,
            answers,
        })
    }
}

pub struct Booking {
    pub call: call::Model,
    pub link: booking_link::Model,
    /// Present only right after booking: the booker's token for changes.
    pub token: Option<String>,
}

/// Books `start` on the link: reuses the organization's lead with this e-mail (or creates
/// one) and creates the call, its calendar claims and their events in one transaction.
pub async fn book(
    db: &DatabaseConnection,
    slug: &str,
    start: DateTime<Utc>,
    booker: Booker,
    now: DateTime<Utc>,
) -> AppResult<Booking> {
    let txn = crate::db::begin_write(db).await?;
    let link = active_link(&txn, slug).await?;
    ensure_free(&txn, &link, start, now).await?;
    let org = link.organization_id;
    let at = crate::time::now();

    let existing = lead::Entity::find()
        .filter(lead::Column::OrganizationId.eq(org))
        .filter(lead::Column::Email.eq(booker.email.as_str()))
        .one(&txn)
        .await?;
    let lead = match existing {
        None => {
            let mut fields = serde_json::Map::new();
            if let Some(answers) = booker.answers {
                fields.extend(answers);
            }
            let created = lead::ActiveModel {
                id: Set(crate::ids::new_uuid()),
                organization_id: Set(org),
                name: Set(booker.name),
                email: Set(Some(booker.email)),
                phone: Set(booker.phone),
                source: Set(Some("booking_link".to_owned())),
                status: Set(lead::LeadStatus::Booked),
                assigned_team_member_id: Set(Some(link.owner_id)),
                utm_source: Set(None),
                utm_medium: Set(None),
                utm_campaign: Set(None),
                utm_term: Set(None),
                utm_content: Set(None),
                custom_fields: Set(serde_json::Value::Object(fields)),
                created_at: Set(at),
                updated_at: Set(at),
            }
            .insert(&txn)
            .await?;
            events::record(
                &txn,
                org,
                EventType::LeadCreated,
                Resource::Lead(created.clone()),
            )
            .await?;
            created
        }
        Some(found) => {
            let open = matches!(
                found.status,
                lead::LeadStatus::New | lead::LeadStatus::Contacted | lead::LeadStatus::Qualified
            );
            let mut fields = match &found.custom_fields {
                serde_json::Value::Object(map) => map.clone(),
                _ => serde_json::Map::new(),
            };
            let answers_change = booker
                .answers
                .as_ref()
                .is_some_and(|a| a.iter().any(|(k, v)| fields.get(k) != Some(v)));
            let phone_change = found.phone.is_none() && booker.phone.is_some();
            if open || answers_change || phone_change {
                if let Some(answers) = booker.answers {
                    fields.extend(answers);
                }
                let mut active: lead::ActiveModel = found.clone().into();
                if open {
                    active.status = Set(lead::LeadStatus::Booked);
                }
                if phone_change {
                    active.phone = Set(booker.phone);
                }
                active.custom_fields = Set(serde_json::Value::Object(fields));
                active.updated_at = Set(at);
                let updated = active.update(&txn).await?;
                events::record(
                    &txn,
                    org,
                    EventType::LeadUpdated,
                    Resource::Lead(updated.clone()),
                )
                .await?;
                updated
            } else {
                found
            }
        }
    };

    let token = new_token()?;
    let call = call::ActiveModel {
        id: Set(crate::ids::new_uuid()),
        organization_id: Set(org),
        lead_id: Set(lead.id),
        closer_id: Set(Some(link.owner_id)),
        setter_id: Set(None),
        booking_link_id: Set(Some(link.id)),
        scheduled_at: Set(start),
        duration_minutes: Set(link.duration_minutes),
        status: Set(call::CallStatus::Scheduled),
        outcome: Set(None),
        notes: Set(None),
        booking_token_hash: Set(Some(token_hash(&token))),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    claims::claim(
        &txn,
        &call,
        Duration::minutes(i64::from(link.buffer_minutes)),
    )
    .await?;
    events::record(
        &txn,
        org,
        EventType::CallBooked,
        Resource::Call(call.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(Booking {
        call,
        link,
        token: Some(token),
    })
}

async fn call_by_token<C: ConnectionTrait>(db: &C, token: &str) -> AppResult<call::Model> {
    let not_found = || AppError::NotFound("no booking with this token".to_owned());
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 100 {
        return Err(not_found());
    }
    call::Entity::find()
        .filter(call::Column::BookingTokenHash.eq(token_hash(token)))
        .one(db)
        .await?
        .ok_or_else(not_found)
}

async fn link_of<C: ConnectionTrait>(db: &C, call: &call::Model) -> AppResult<booking_link::Model> {
    let id = call
        .booking_link_id
        .ok_or_else(|| AppError::NotFound("no booking with this token".to_owned()))?;
    booking_link::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("the booking link no longer exists".to_owned()))
}

/// Moves a booked call to another free slot of its link.
pub async fn reschedule(
    db: &DatabaseConnection,
    token: &str,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<Booking> {
    let txn = crate::db::begin_write(db).await?;
    let call = call_by_token(&txn, token).await?;
    if call.status != call::CallStatus::Scheduled {
        return Err(AppError::Conflict(
            "only a scheduled call can be rescheduled".to_owned(),
        ));
    }
    if call.scheduled_at <= now {
        return Err(AppError::Conflict(
            "the call has already started".to_owned(),
        ));
    }
    let link = link_of(&txn, &call).await?;
    if !link.active {
        return Err(AppError::Conflict(
            "the booking link is no longer active".to_owned(),
        ));
    }
    // The call's own blocks must not count against its new time.
    claims::release(&txn, call.id).await?;
    ensure_free(&txn, &link, start, now).await?;
    let mut active: call::ActiveModel = call.into();
    active.scheduled_at = Set(start);
    active.duration_minutes = Set(link.duration_minutes);
    active.updated_at = Set(crate::time::now());
    let call = active.update(&txn).await?;
    claims::claim(
        &txn,
        &call,
        Duration::minutes(i64::from(link.buffer_minutes)),
    )
    .await?;
    events::record(
        &txn,
        call.organization_id,
        EventType::CallUpdated,
        Resource::Call(call.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(Booking {
        call,
        link,
        token: None,
    })
}

/// Cancels a booked call and frees its time. Cancelling twice is harmless.
pub async fn cancel(
    db: &DatabaseConnection,
    token: &str,
    reason: Option<&str>,
) -> AppResult<Booking> {
    if reason.is_some_and(|r| r.chars().count() > 1000) {
        return Err(AppError::validation(
            "reason",
            "must be at most 1000 characters",
        ));
    }
    let txn = crate::db::begin_write(db).await?;
    let call = call_by_token(&txn, token).await?;
    let link = link_of(&txn, &call).await?;
    if call.status == call::CallStatus::Canceled {
        return Ok(Booking {
            call,
            link,
            token: None,
        });
    }
    if call.status != call::CallStatus::Scheduled {
        return Err(AppError::Conflict(
            "only a scheduled call can be canceled".to_owned(),
        ));
    }
    claims::release(&txn, call.id).await?;
    let mut active: call::ActiveModel = call.into();
    active.status = Set(call::CallStatus::Canceled);
    if let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) {
        active.outcome = Set(Some("canceled_by_lead".to_owned()));
        active.notes = Set(Some(format!("Canceled by the lead: {reason}")));
    }
    active.updated_at = Set(crate::time::now());
    let call = active.update(&txn).await?;
    events::record(
        &txn,
        call.organization_id,
        EventType::CallCanceled,
        Resource::Call(call.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(Booking {
        call,
        link,
        token: None,
    })
}

fn new_token() -> AppResult<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(AppError::internal)?;
    use base64::Engine;
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booker_validation_names_fields() {
        assert!(
            Booker::new("Ava", "Ava@Example.com ", None, None)
                .is_ok_and(|b| b.email == "ava@example.com")
        );
        let field = |r: AppResult<Booker>| r.err().and_then(|e| e.field().map(str::to_owned));
        assert_eq!(
            field(Booker::new(" ", "a@b.co", None, None)),
            Some("name".into())
        );
        assert_eq!(
            field(Booker::new("A", "not-an-email", None, None)),
            Some("email".into())
        );
        assert_eq!(
            field(Booker::new("A", "a@b", None, None)),
            Some("email".into())
        );
        assert_eq!(
            field(Booker::new("A", "a@b.co", Some("call me"), None)),
            Some("phone".into())
        );
        assert_eq!(
            field(Booker::new(
                "A",
                "a@b.co",
                None,
                Some(serde_json::json!([1]))
            )),
            Some("answers".into())
        );
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}

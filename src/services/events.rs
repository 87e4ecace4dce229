//! Reading events: an event carries its resource's object, so reading one needs the read
//! scope of its resource, exactly as reading the resource does (`payment.*` needs
//! `payments:read`, `webhook.test` needs `webhooks:read`). The events API and live
//! subscriptions both ask here.

use entities::event;

use crate::domain::Actor;
use crate::error::{AppError, AppResult};
use crate::views::{EventType, WireEnum};

/// The types a listing or subscription delivers: those asked for (each needing its
/// scope), or every type the actor may read.
pub fn readable_types(actor: &Actor, requested: Option<&[EventType]>) -> AppResult<Vec<EventType>> {
    let Some(requested) = requested else {
        let readable: Vec<EventType> = EventType::values()
            .filter(|t| actor.scopes.contains(t.read_scope()))
            .collect();
        if readable.is_empty() {
            return Err(AppError::Forbidden(
                "your credential may read no event type".to_owned(),
            ));
        }
        return Ok(readable);
    };
    if requested.is_empty() {
        return Err(AppError::validation(
            "types",
            "name at least one event type, or omit `types` for all",
        ));
    }
    let mut wanted = Vec::new();
    for event_type in requested {
        actor.require(event_type.read_scope())?;
        if !wanted.contains(event_type) {
            wanted.push(*event_type);
        }
    }
    Ok(wanted)
}

/// Event types named as text (`lead.created`), for callers that take them as strings.
pub fn parse_types(field: &str, names: &[String]) -> AppResult<Vec<EventType>> {
    names
        .iter()
        .map(|name| {
            EventType::parse(name.trim()).ok_or_else(|| {
                let known: Vec<&str> = EventType::values().map(EventType::as_str).collect();
                AppError::validation(
                    field,
                    format!(
                        "`{}` is not an event type; known: {}",
                        crate::db::lookup::shown(name),
                        known.join(", ")
                    ),
                )
            })
        })
        .collect()
}

/// Whether the actor may see this event (another type's event is not theirs, as another
/// organization's is not).
pub fn may_read(actor: &Actor, event: &event::Model) -> bool {
    event.organization_id == actor.organization_id
        && EventType::parse(&event.event_type).is_none_or(|t| actor.scopes.contains(t.read_scope()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Credential, ScopeSet};

    fn actor(scopes: &str) -> Actor {
        Actor {
            organization_id: uuid::Uuid::now_v7(),
            credential: Credential::ApiKey {
                key_id: uuid::Uuid::now_v7(),
            },
            scopes: ScopeSet::parse_list(scopes).unwrap(),
        }
    }

    #[test]
    fn types_need_their_resources_scope() {
        let leads_only = actor("leads:read");
        assert_eq!(
            readable_types(&leads_only, None).unwrap(),
            [EventType::LeadCreated, EventType::LeadUpdated]
        );
        assert!(readable_types(&leads_only, Some(&[EventType::LeadCreated])).is_ok());
        let refused = readable_types(&leads_only, Some(&[EventType::PaymentCreated])).unwrap_err();
        assert_eq!(refused.code(), "FORBIDDEN");
        assert!(refused.to_string().contains("payments:read"));
        let unknown = parse_types("types", &["lead.deleted".to_owned()]).unwrap_err();
        assert_eq!(unknown.field(), Some("types"));
        assert_eq!(
            readable_types(&leads_only, Some(&[])).unwrap_err().field(),
            Some("types")
        );
        assert_eq!(
            readable_types(&actor("webhooks:write"), None)
                .unwrap_err()
                .code(),
            "FORBIDDEN"
        );
        let readers = actor(&ScopeSet::read_only().to_string());
        for t in EventType::values() {
            assert!(readers.require(t.read_scope()).is_ok());
        }
    }
}

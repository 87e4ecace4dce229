//! The `events` subscription: the signed-in organization's events as they commit,
//! optionally filtered by type, optionally starting with a replay from the outbox.
//!
//! Reading an event needs the read scope of its resource (`payment.*` needs
//! `payments:read`, `webhook.test` needs `webhooks:read`), exactly as reading the
//! resource itself does, since an event carries the resource's REST object.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use async_graphql::{Context, ID, Json, Result, SimpleObject, Subscription};
use chrono::{DateTime as ChronoDateTime, Utc};
use entities::{api_key, event};
use futures_util::Stream;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use super::SharedEvent;
use crate::auth::{Credential, Principal, Scope};
use crate::error::{AppError, AppResult};
use crate::events::EventType;
use crate::graphql::context::state;
use crate::graphql::scalars::DateTime;
use crate::ids::{self, IdKind};

/// How far back `since` may reach.
pub const MAX_REPLAY: chrono::Duration = chrono::Duration::hours(1);
/// How often a subscription made with an API key checks that the key still works.
const KEY_CHECK: Duration = Duration::from_secs(30);
/// After this long, an event replayed from the outbox can no longer also arrive live.
const REPLAY_OVERLAP: Duration = Duration::from_secs(30);
const REPLAY_PAGE: u64 = 200;

/// An event, as it committed.
#[derive(SimpleObject, Debug, Clone)]
pub struct LiveEvent {
    /// `evt_…`; the same event always has the same id, so replays can be de-duplicated.
    pub id: ID,
    /// `lead.created`, `call.booked`, `payment.refunded`, …
    #[graphql(name = "type")]
    pub event_type: String,
    pub created_at: DateTime,
    /// The resource's REST object (as `GET /v1/…/{id}` returns it) at the time of the event.
    pub data: Json<serde_json::Value>,
}

impl From<&event::Model> for LiveEvent {
    fn from(event: &event::Model) -> Self {
        LiveEvent {
            id: ID(ids::encode(IdKind::Event, event.id)),
            event_type: event.event_type.clone(),
            created_at: DateTime(event.created_at),
            data: Json(event.data.clone()),
        }
    }
}

/// The scope that reading an event of this type needs.
pub fn read_scope(event_type: EventType) -> Scope {
    match event_type {
        EventType::LeadCreated | EventType::LeadUpdated => Scope::LeadsRead,
        EventType::CallBooked | EventType::CallUpdated | EventType::CallCanceled => {
            Scope::CallsRead
        }
        EventType::PaymentCreated | EventType::PaymentUpdated | EventType::PaymentRefunded => {
            Scope::PaymentsRead
        }
        EventType::TeamMemberCreated | EventType::TeamMemberUpdated => Scope::TeamRead,
        EventType::ProductCreated | EventType::ProductUpdated => Scope::ProductsRead,
        EventType::BookingLinkCreated | EventType::BookingLinkUpdated => Scope::BookingLinksRead,
        EventType::WebhookTest => Scope::WebhooksRead,
    }
}

/// The types a subscription delivers: those asked for (each needing its scope), or every
/// type the caller may read.
pub fn wanted_types(principal: &Principal, types: Option<&[String]>) -> AppResult<Vec<EventType>> {
    let Some(types) = types else {
        let readable: Vec<EventType> = EventType::ALL
            .into_iter()
            .filter(|t| principal.scopes.contains(read_scope(*t)))
            .collect();
        if readable.is_empty() {
            return Err(AppError::Forbidden(
                "your credential may read no event type".to_owned(),
            ));
        }
        return Ok(readable);
    };
    if types.is_empty() {
        return Err(AppError::validation(
            "types",
            "name at least one event type, or omit `types` for all",
        ));
    }
    let mut wanted = Vec::new();
    for name in types {
        let event_type = EventType::parse(name.trim()).ok_or_else(|| {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            AppError::validation(
                "types",
                format!("`{name}` is not an event type; known: {}", known.join(", ")),
            )
        })?;
        principal.require(read_scope(event_type))?;
        if !wanted.contains(&event_type) {
            wanted.push(event_type);
        }
    }
    Ok(wanted)
}

#[derive(Default)]
pub struct LiveSubscription;

#[Subscription(name = "Subscription")]
impl LiveSubscription {
    /// Your organization's events as they commit (within about a quarter of a second),
    /// over `GET /graphql/ws` (graphql-transport-ws, credential in `connection_init`).
    /// `types` keeps only those types (`["lead.created", "call.booked"]`); without it,
    /// every type your credential may read. `since` (at most an hour ago) first replays
    /// the events created after it from the outbox, then continues live: resubscribing
    /// with the last `createdAt` you saw bridges a dropped connection; de-duplicate by
    /// `id`. Each type needs its resource's read scope (`payment.*` needs
    /// `payments:read`).
    async fn events(
        &self,
        ctx: &Context<'_>,
        types: Option<Vec<String>>,
        since: Option<DateTime>,
    ) -> Result<impl Stream<Item = Result<LiveEvent>> + use<>> {
        let principal = ctx.data_opt::<Principal>().ok_or_else(|| {
            AppError::Unauthorized(
                "subscriptions are served on /graphql/ws, with a credential in connection_init"
                    .to_owned(),
            )
        })?;
        let wanted = wanted_types(principal, types.as_deref())?;
        if let Some(since) = since
            && since.0 < crate::time::now() - MAX_REPLAY
        {
            return Err(AppError::validation("since", "must be within the last hour").into());
        }
        let live = &state(ctx).live;
        let receiver = live.subscribe().await?;
        let feed = Feed {
            receiver,
            db: live.db().clone(),
            organization_id: principal.organization_id,
            types: wanted.iter().map(|t| t.as_str()).collect(),
            replay: since.map(|s| Replay {
                since: s.0,
                after: None,
            }),
            buffer: VecDeque::new(),
            replayed: HashSet::new(),
            replay_done: None,
            key: match principal.credential {
                Credential::ApiKey { key_id } => Some(key_id),
                Credential::ClerkUser { .. } => None,
            },
            next_key_check: tokio::time::Instant::now() + KEY_CHECK,
            ended: false,
        };
        Ok(futures_util::stream::unfold(feed, |mut feed| async move {
            let item = feed.next().await?;
            Some((item.map_err(async_graphql::Error::from), feed))
        }))
    }
}

struct Replay {
    since: ChronoDateTime<Utc>,
    after: Option<(ChronoDateTime<Utc>, Uuid)>,
}

/// One subscription: replayed events first, then live ones, of one organization and
/// the wanted types.
struct Feed {
    receiver: broadcast::Receiver<SharedEvent>,
    db: DatabaseConnection,
    organization_id: Uuid,
    types: HashSet<&'static str>,
    replay: Option<Replay>,
    buffer: VecDeque<LiveEvent>,
    /// Replayed ids, so an event replayed and then broadcast is delivered once.
    replayed: HashSet<Uuid>,
    replay_done: Option<tokio::time::Instant>,
    key: Option<Uuid>,
    next_key_check: tokio::time::Instant,
    ended: bool,
}

impl Feed {
    async fn next(&mut self) -> Option<AppResult<LiveEvent>> {
        if self.ended {
            return None;
        }
        loop {
            if let Some(event) = self.buffer.pop_front() {
                return Some(Ok(event));
            }
            if self.replay.is_some() {
                if let Err(err) = self.replay_page().await {
                    return Some(Err(self.end(err)));
                }
                continue;
            }
            if self
                .replay_done
                .is_some_and(|done| done.elapsed() > REPLAY_OVERLAP)
            {
                self.replayed.clear();
                self.replay_done = None;
            }
            let received = match self.key {
                Some(key_id) => {
                    tokio::select! {
                        received = self.receiver.recv() => received,
                        () = tokio::time::sleep_until(self.next_key_check) => {
                            self.next_key_check = tokio::time::Instant::now() + KEY_CHECK;
                            if let Err(err) = key_still_valid(&self.db, key_id).await {
                                return Some(Err(self.end(err)));
                            }
                            continue;
                        }
                    }
                }
                None => self.receiver.recv().await,
            };
            match received {
                Ok(event) => {
                    if event.organization_id == self.organization_id
                        && self.types.contains(event.event_type.as_str())
                        && !self.replayed.remove(&event.id)
                    {
                        return Some(Ok(LiveEvent::from(&*event)));
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    return Some(Err(self.end(AppError::Unavailable(format!(
                        "this subscription fell {missed} events behind and was ended; \
                         subscribe again with `since` to catch up"
                    )))));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    fn end(&mut self, err: AppError) -> AppError {
        self.ended = true;
        err
    }

    /// Buffers the next page of the replay, or ends the replay.
    async fn replay_page(&mut self) -> AppResult<()> {
        let Some(replay) = &mut self.replay else {
            return Ok(());
        };
        let mut query = event::Entity::find()
            .filter(event::Column::OrganizationId.eq(self.organization_id))
            .filter(event::Column::EventType.is_in(self.types.iter().copied()))
            .filter(event::Column::CreatedAt.gt(replay.since))
            .order_by_asc(event::Column::CreatedAt)
            .order_by_asc(event::Column::Id)
            .limit(REPLAY_PAGE);
        if let Some((at, id)) = replay.after {
            query = query.filter(
                Condition::any().add(event::Column::CreatedAt.gt(at)).add(
                    Condition::all()
                        .add(event::Column::CreatedAt.eq(at))
                        .add(event::Column::Id.gt(id)),
                ),
            );
        }
        let rows = query.all(&self.db).await?;
        if (rows.len() as u64) < REPLAY_PAGE {
            self.replay = None;
            self.replay_done = Some(tokio::time::Instant::now());
        } else {
            replay.after = rows.last().map(|e| (e.created_at, e.id));
        }
        for row in rows {
            self.replayed.insert(row.id);
            self.buffer.push_back(LiveEvent::from(&row));
        }
        Ok(())
    }
}

/// A subscription outlives the request that opened it; a revoked or expired key must
/// not keep it open.
async fn key_still_valid(db: &DatabaseConnection, key_id: Uuid) -> AppResult<()> {
    type RevokedAndExpires = (Option<ChronoDateTime<Utc>>, Option<ChronoDateTime<Utc>>);
    let key: Option<RevokedAndExpires> = api_key::Entity::find_by_id(key_id)
        .select_only()
        .column(api_key::Column::RevokedAt)
        .column(api_key::Column::ExpiresAt)
        .into_tuple()
        .one(db)
        .await?;
    match key {
        Some((None, expires)) if expires.is_none_or(|at| at > crate::time::now()) => Ok(()),
        _ => Err(AppError::Unauthorized(
            "this API key has been revoked or has expired".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::ScopeSet;

    fn principal(scopes: &str) -> Principal {
        Principal {
            organization_id: Uuid::now_v7(),
            credential: Credential::ApiKey {
                key_id: Uuid::now_v7(),
            },
            scopes: ScopeSet::parse_list(scopes).unwrap(),
        }
    }

    #[test]
    fn types_need_their_resources_scope() {
        let leads_only = principal("leads:read");
        assert_eq!(
            wanted_types(&leads_only, None).unwrap(),
            [EventType::LeadCreated, EventType::LeadUpdated]
        );
        assert!(wanted_types(&leads_only, Some(&["lead.created".to_owned()])).is_ok());
        let refused = wanted_types(&leads_only, Some(&["payment.created".to_owned()])).unwrap_err();
        assert_eq!(refused.code(), "FORBIDDEN");
        assert!(refused.to_string().contains("payments:read"));
        let unknown = wanted_types(&leads_only, Some(&["lead.deleted".to_owned()])).unwrap_err();
        assert_eq!(unknown.field(), Some("types"));
        assert_eq!(
            wanted_types(&leads_only, Some(&[])).unwrap_err().field(),
            Some("types")
        );
        assert_eq!(
            wanted_types(&principal("webhooks:write"), None)
                .unwrap_err()
                .code(),
            "FORBIDDEN"
        );
        for t in EventType::ALL {
            let all = principal(&ScopeSet::read_only().to_string());
            assert!(all.require(read_scope(t)).is_ok());
        }
    }
}

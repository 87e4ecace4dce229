//! One live subscription's feed: replayed events first (from the outbox, when asked with
//! `since`), then live ones, of one organization and the wanted types, each once. A feed
//! opened with an API key re-checks the key while it runs and ends when the key stops
//! working. Knows no transport: the GraphQL subscription maps what it yields.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use entities::{api_key, event};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use super::{LiveEvents, SharedEvent};
use crate::domain::{Actor, Credential};
use crate::error::{AppError, AppResult};
use crate::views::EventType;

/// How far back `since` may reach.
pub const MAX_REPLAY: chrono::Duration = chrono::Duration::hours(1);
/// How often a feed opened with an API key checks that the key still works.
const KEY_CHECK: Duration = Duration::from_secs(30);
/// After this long, an event replayed from the outbox can no longer also arrive live.
const REPLAY_OVERLAP: Duration = Duration::from_secs(30);
const REPLAY_PAGE: u64 = 200;

/// Opens a feed of `actor`'s organization's events of `types` (already checked against
/// the actor's scopes), replaying from `since` first when given.
pub async fn open(
    live: &LiveEvents,
    actor: &Actor,
    types: &[EventType],
    since: Option<DateTime<Utc>>,
) -> AppResult<Feed> {
    if let Some(since) = since
        && since < crate::time::now() - MAX_REPLAY
    {
        return Err(AppError::validation(
            "since",
            "must be within the last hour",
        ));
    }
    let receiver = live.subscribe().await?;
    Ok(Feed {
        receiver,
        db: live.db().clone(),
        organization_id: actor.organization_id,
        types: types.iter().map(|t| t.as_str()).collect(),
        replay: since.map(|since| Replay {
            since,
            after: None,
            left: live.max_replay(),
        }),
        max_replay: live.max_replay(),
        buffer: VecDeque::new(),
        replayed: HashSet::new(),
        replay_done: None,
        key: match actor.credential {
            Credential::ApiKey { key_id } => Some(key_id),
            _ => None,
        },
        next_key_check: tokio::time::Instant::now() + KEY_CHECK,
        ended: false,
    })
}

struct Replay {
    since: DateTime<Utc>,
    after: Option<(DateTime<Utc>, Uuid)>,
    /// How many more events the replay may hold (`--ws-max-replay`).
    left: usize,
}

/// One subscription: replayed events first, then live ones, of one organization and
/// the wanted types.
pub struct Feed {
    receiver: broadcast::Receiver<SharedEvent>,
    db: DatabaseConnection,
    organization_id: Uuid,
    types: HashSet<&'static str>,
    replay: Option<Replay>,
    max_replay: usize,
    buffer: VecDeque<SharedEvent>,
    /// Replayed ids, so an event replayed and then broadcast is delivered once.
    replayed: HashSet<Uuid>,
    replay_done: Option<tokio::time::Instant>,
    key: Option<Uuid>,
    next_key_check: tokio::time::Instant,
    ended: bool,
}

impl Feed {
    /// The next event, or an error that ends the feed, or `None` when it is over.
    pub async fn next(&mut self) -> Option<AppResult<SharedEvent>> {
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
                        return Some(Ok(event));
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    return Some(Err(self.end(AppError::unavailable(format!(
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
            // One more than may be delivered, to tell a replay that is too long.
            .limit(REPLAY_PAGE.min(replay.left as u64 + 1));
        if let Some((at, id)) = replay.after {
            query = query.filter(
                Condition::any().add(event::Column::CreatedAt.gt(at)).add(
                    Condition::all()
                        .add(event::Column::CreatedAt.eq(at))
                        .add(event::Column::Id.gt(id)),
                ),
            );
        }
        let asked = REPLAY_PAGE.min(replay.left as u64 + 1);
        let rows = query.all(&self.db).await?;
        if rows.len() > replay.left {
            // Refused before anything is delivered only when the first page shows it;
            // past that, the subscriber has what came before and is told where to resume.
            let resume = replay
                .after
                .map_or_else(|| replay.since.to_rfc3339(), |(at, _)| at.to_rfc3339());
            return Err(AppError::validation(
                "since",
                format!(
                    "a replay holds at most {} events and more happened since {resume}; \
                     catch up with the events API (GET /v1/events), then subscribe with \
                     `since` set to the last event you have",
                    self.max_replay
                ),
            ));
        }
        replay.left -= rows.len();
        if (rows.len() as u64) < asked {
            self.replay = None;
            self.replay_done = Some(tokio::time::Instant::now());
        } else {
            replay.after = rows.last().map(|e| (e.created_at, e.id));
        }
        for row in rows {
            self.replayed.insert(row.id);
            self.buffer.push_back(std::sync::Arc::new(row));
        }
        Ok(())
    }
}

/// A subscription outlives the request that opened it; a revoked or expired key must
/// not keep it open.
async fn key_still_valid(db: &DatabaseConnection, key_id: Uuid) -> AppResult<()> {
    type RevokedAndExpires = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);
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

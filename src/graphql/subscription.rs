//! The `events` subscription, and the event object it shares with the `events` query:
//! an adapter over `live::feed` (the feed) and `services::events` (who may read what).

use async_graphql::{Context, ID, Json, Result, SimpleObject, Subscription};
use entities::event;
use futures_util::Stream;

use super::context::core;
use super::scalars::DateTime;
use crate::domain::Actor;
use crate::error::AppError;
use crate::ids::{self, IdKind};
use crate::services::events::{parse_types, readable_types};

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

#[derive(Default)]
pub struct LiveSubscription;

#[Subscription(name = "Subscription")]
impl LiveSubscription {
    /// Your organization's events as they commit, over a WebSocket (graphql-transport-ws,
    /// credential in `connection_init`). `types` keeps only those types
    /// (`["lead.created", "call.booked"]`); without it, every type your credential may
    /// read. `since` (at most an hour ago) first replays the events created after it from
    /// the outbox, then continues live: resubscribing with the last `createdAt` you saw
    /// bridges a dropped connection; de-duplicate by `id`. Each type needs its resource's
    /// read scope (`payment.*` needs `payments:read`).
    async fn events(
        &self,
        ctx: &Context<'_>,
        types: Option<Vec<String>>,
        since: Option<DateTime>,
    ) -> Result<impl Stream<Item = Result<LiveEvent>> + use<>> {
        let actor = ctx.data_opt::<Actor>().ok_or_else(|| {
            AppError::Unauthorized(
                "subscriptions are served over WebSockets, with a credential in connection_init"
                    .to_owned(),
            )
        })?;
        let requested = types.map(|t| parse_types("types", &t)).transpose()?;
        let wanted = readable_types(actor, requested.as_deref())?;
        let feed =
            crate::live::feed::open(&core(ctx).live, actor, &wanted, since.map(|s| s.0)).await?;
        Ok(futures_util::stream::unfold(feed, |mut feed| async move {
            let item = feed.next().await?;
            Some((
                item.map(|event| LiveEvent::from(&*event))
                    .map_err(async_graphql::Error::from),
                feed,
            ))
        }))
    }
}

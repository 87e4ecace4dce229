//! The `events` subscription, and the event object it shares with the `events` query:
//! an adapter over `live::feed` (the feed) and `services::events` (who may read what).

use async_graphql::{Context, ID, Json, Object, Result, Subscription};
use entities::event;
use futures_util::Stream;

use super::context::core;
use super::enums::Gql;
use super::scalars::DateTime;
use crate::domain::Actor;
use crate::error::AppError;
use crate::ids::{self, IdKind};
use crate::services::events::readable_types;
use crate::views::EventType;

/// An event, as it committed.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub id: ID,
    pub event_type: Gql<EventType>,
    pub created_at: DateTime,
    pub data: Json<serde_json::Value>,
}

/// Something that happened, as it committed: what webhooks deliver and the `events`
/// subscription streams.
#[Object]
impl LiveEvent {
    /// `evt_…`; the same event always has the same id, so replays can be de-duplicated.
    /// Also the `webhook-id` of its deliveries.
    pub async fn id(&self) -> ID {
        self.id.clone()
    }
    /// What happened.
    #[graphql(name = "type")]
    async fn event_type(&self) -> Gql<EventType> {
        self.event_type
    }
    /// When the change committed.
    async fn created_at(&self) -> DateTime {
        self.created_at
    }
    /// The resource's REST object (as `GET /v1/…/{id}` returns it) at the time of the event.
    async fn data(&self) -> &Json<serde_json::Value> {
        &self.data
    }
}

impl From<&event::Model> for LiveEvent {
    fn from(event: &event::Model) -> Self {
        LiveEvent {
            id: ID(ids::encode(IdKind::Event, event.id)),
            // Events are recorded only with an `EventType` (`events::record`).
            event_type: Gql(crate::views::webhooks::event_type(&event.event_type)
                .unwrap_or(EventType::WebhookTest)),
            created_at: DateTime(event.created_at),
            data: Json(event.data.clone()),
        }
    }
}

#[derive(Default)]
pub struct LiveSubscription;

/// Live events, over a WebSocket (graphql-transport-ws on `/graphql` or `/graphql/ws`).
#[Subscription(name = "Subscription")]
impl LiveSubscription {
    /// Your organization's events as they commit, over a WebSocket (graphql-transport-ws,
    /// credential in `connection_init`). `types` keeps only those types
    /// (`[LEAD_CREATED, CALL_BOOKED]`); without it, every type your credential may
    /// read. `since` (at most an hour ago) first replays the events created after it from
    /// the outbox, then continues live: resubscribing with the last `createdAt` you saw
    /// bridges a dropped connection; de-duplicate by `id`. Each type needs its resource's
    /// read scope (`payment.*` needs `payments:read`).
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these event types; every type you may read when omitted.")]
        types: Option<Vec<Gql<EventType>>>,
        #[graphql(
            desc = "Replay the events created after this instant (at most an hour ago) before the live ones."
        )]
        since: Option<DateTime>,
    ) -> Result<impl Stream<Item = Result<LiveEvent>> + use<>> {
        let actor = ctx.data_opt::<Actor>().ok_or_else(|| {
            AppError::Unauthorized(
                "subscriptions are served over WebSockets, with a credential in connection_init"
                    .to_owned(),
            )
        })?;
        let requested: Option<Vec<EventType>> =
            types.map(|types| types.into_iter().map(|t| t.get()).collect());
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

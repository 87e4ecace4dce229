//! A resource's REST object, rendered from an in-memory model through the same GraphQL
//! type and selection the REST endpoints use, without touching the database. Events
//! (and so webhooks) carry exactly what `GET /v1/<resource>/{id}` would have returned.

use std::sync::OnceLock;

use async_graphql::{Context, EmptyMutation, EmptySubscription, Object, Request, Schema};
use entities::{booking_link, call, lead, payment, product, team_member};
use poem_openapi::types::ToJSON;
use serde::de::DeserializeOwned;

use super::objects;
use super::operations::{self as ops, ItemResult};
use crate::error::{AppError, AppResult};
use crate::graphql::resources::{
    booking_link::BookingLink, call::Call, lead::Lead, payment::Payment, product::Product,
    team_member::TeamMember,
};

/// A row to render.
#[derive(Debug, Clone)]
pub enum Resource {
    Lead(lead::Model),
    Call(call::Model),
    TeamMember(team_member::Model),
    BookingLink(booking_link::Model),
    Product(product::Model),
    Payment(payment::Model),
}

struct RenderQuery;

#[Object]
impl RenderQuery {
    async fn lead(&self, ctx: &Context<'_>) -> Option<Lead> {
        match ctx.data_opt::<Resource>() {
            Some(Resource::Lead(m)) => Some(Lead(m.clone())),
            _ => None,
        }
    }
    async fn call(&self, ctx: &Context<'_>) -> Option<Call> {
        match ctx.data_opt::<Resource>() {
            Some(Resource::Call(m)) => Some(Call::from(m.clone())),
            _ => None,
        }
    }
    async fn team_member(&self, ctx: &Context<'_>) -> Option<TeamMember> {
        match ctx.data_opt::<Resource>() {
            Some(Resource::TeamMember(m)) => Some(TeamMember(m.clone())),
            _ => None,
        }
    }
    async fn booking_link(&self, ctx: &Context<'_>) -> Option<BookingLink> {
        match ctx.data_opt::<Resource>() {
            Some(Resource::BookingLink(m)) => Some(BookingLink(m.clone())),
            _ => None,
        }
    }
    async fn product(&self, ctx: &Context<'_>) -> Option<Product> {
        match ctx.data_opt::<Resource>() {
            Some(Resource::Product(m)) => Some(Product(m.clone())),
            _ => None,
        }
    }
    async fn payment(&self, ctx: &Context<'_>) -> Option<Payment> {
        match ctx.data_opt::<Resource>() {
            Some(Resource::Payment(m)) => Some(Payment::from(m.clone())),
            _ => None,
        }
    }
}

fn schema() -> &'static Schema<RenderQuery, EmptyMutation, EmptySubscription> {
    static SCHEMA: OnceLock<Schema<RenderQuery, EmptyMutation, EmptySubscription>> =
        OnceLock::new();
    SCHEMA.get_or_init(|| Schema::new(RenderQuery, EmptyMutation, EmptySubscription))
}

/// The REST object of `resource`, as JSON.
pub async fn represent(resource: Resource) -> AppResult<serde_json::Value> {
    match &resource {
        Resource::Lead(_) => render::<objects::Lead>(ops::RENDER_LEAD, resource).await,
        Resource::Call(_) => render::<objects::Call>(ops::RENDER_CALL, resource).await,
        Resource::TeamMember(_) => {
            render::<objects::TeamMember>(ops::RENDER_TEAM_MEMBER, resource).await
        }
        Resource::BookingLink(_) => {
            render::<objects::BookingLink>(ops::RENDER_BOOKING_LINK, resource).await
        }
        Resource::Product(_) => render::<objects::Product>(ops::RENDER_PRODUCT, resource).await,
        Resource::Payment(_) => render::<objects::Payment>(ops::RENDER_PAYMENT, resource).await,
    }
}

async fn render<T: DeserializeOwned + ToJSON>(
    document: &'static str,
    resource: Resource,
) -> AppResult<serde_json::Value> {
    let response = schema()
        .execute(Request::new(document).data(resource))
        .await;
    if let Some(error) = response.errors.first() {
        return Err(AppError::internal(format!("rendering: {}", error.message)));
    }
    let item: ItemResult<T> = async_graphql::from_value(response.data)
        .map_err(|e| AppError::internal(format!("rendering: {e}")))?;
    item.item
        .to_json()
        .ok_or_else(|| AppError::internal("rendering produced no JSON"))
}

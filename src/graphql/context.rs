//! What resolvers read from their context: the core they call into, and, for a caller
//! with a credential, who is asking and the loaders scoped to their organization.

use async_graphql::Context;

use super::loaders::Loaders;
use crate::db::Database;
use crate::domain::{Actor, Scope};
use crate::error::{AppError, AppResult};
use crate::live::LiveEvents;
use crate::webhooks::Webhooks;

/// The core the schema runs on, shared by every request.
#[derive(Clone)]
pub struct Core {
    pub db: Database,
    pub webhooks: Webhooks,
    pub live: LiveEvents,
}

/// Per-request data: who is asking, and the loaders scoped to their organization.
pub struct RequestContext {
    pub actor: Actor,
    pub loaders: Loaders,
}

pub fn core<'a>(ctx: &Context<'a>) -> &'a Core {
    ctx.data_unchecked::<Core>()
}

fn unauthenticated() -> AppError {
    AppError::Unauthorized(
        "authentication required: send `Authorization: Bearer <API key or Clerk token>`".to_owned(),
    )
}

pub fn request<'a>(ctx: &Context<'a>) -> AppResult<&'a RequestContext> {
    ctx.data_opt::<RequestContext>().ok_or_else(unauthenticated)
}

/// The caller, for resolvers that hand it to a service (which asks the permission
/// questions itself).
pub fn actor<'a>(ctx: &Context<'a>) -> AppResult<&'a Actor> {
    Ok(&request(ctx)?.actor)
}

/// The caller, if they hold `scope`: what every read resolver asks first.
pub fn authorize<'a>(ctx: &Context<'a>, scope: Scope) -> AppResult<&'a RequestContext> {
    let request = request(ctx)?;
    request.actor.require(scope)?;
    Ok(request)
}

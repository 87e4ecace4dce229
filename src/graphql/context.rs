//! Reading the request's principal, loaders and the app state from a resolver context.

use async_graphql::Context;

use super::loaders::Loaders;
use crate::auth::{Principal, Scope};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Per-request data: who is asking, and the loaders scoped to their organization.
pub struct RequestContext {
    pub principal: Principal,
    pub loaders: Loaders,
}

pub fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}

pub fn request<'a>(ctx: &Context<'a>) -> AppResult<&'a RequestContext> {
    ctx.data_opt::<RequestContext>().ok_or_else(|| {
        AppError::Unauthorized(
            "authentication required: send `Authorization: Bearer <API key or Clerk token>`"
                .to_owned(),
        )
    })
}

/// The caller, if they hold `scope`; the single place where scopes are enforced.
pub fn authorize<'a>(ctx: &Context<'a>, scope: Scope) -> AppResult<&'a RequestContext> {
    let request = request(ctx)?;
    request.principal.require(scope)?;
    Ok(request)
}

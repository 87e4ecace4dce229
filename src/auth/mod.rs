//! Authentication: who is calling, for which organization, with which scopes.
//!
//! The HTTP guard (`crate::http::ApiGuard`) turns `Authorization: Bearer …` (an API key
//! or a Clerk session token, see [`clerk`]) into a [`Principal`] stored in the request's
//! extensions. GraphQL resolvers (and through them the REST facade) read it
//! from the context and scope every query to its organization.

pub mod api_key;
mod authenticator;
pub mod clerk;
pub mod keys;
mod roles;
mod scope;

pub use authenticator::{AuthPolicy, Authenticator};
pub use roles::Action;
pub use scope::{Scope, ScopeSet};

use uuid::Uuid;

use crate::error::{AppError, AppResult};

#[derive(Debug, Clone)]
pub struct Principal {
    pub organization_id: Uuid,
    pub credential: Credential,
    pub scopes: ScopeSet,
}

#[derive(Debug, Clone)]
pub enum Credential {
    ApiKey { key_id: Uuid },
    ClerkUser { user_id: String, is_admin: bool },
}

impl Principal {
    pub fn require(&self, scope: Scope) -> AppResult<()> {
        if self.scopes.contains(scope) {
            return Ok(());
        }
        let who = match self.credential {
            Credential::ApiKey { .. } => "this API key",
            Credential::ClerkUser { .. } => "your organization role",
        };
        Err(AppError::Forbidden(format!(
            "{who} lacks the `{scope}` scope required here"
        )))
    }

    /// API keys are managed only by an organization admin signed in with Clerk; a key can
    /// never mint or revoke keys, whatever its scopes.
    pub fn require_key_admin(&self) -> AppResult<()> {
        match self.credential {
            Credential::ClerkUser { is_admin: true, .. } => Ok(()),
            Credential::ClerkUser { .. } => Err(AppError::Forbidden(
                "managing API keys needs the organization admin role".to_owned(),
            )),
            Credential::ApiKey { .. } => Err(AppError::Forbidden(
                "API keys cannot manage API keys: sign in with Clerk as an organization admin"
                    .to_owned(),
            )),
        }
    }
}

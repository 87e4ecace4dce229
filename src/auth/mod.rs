//! Authentication: who is calling, for which organization, with which scopes.
//!
//! A poem middleware turns `Authorization: Bearer …` into a [`Principal`] stored in the
//! request's extensions. GraphQL resolvers (and through them the REST facade) read it
//! from the context and scope every query to its organization.

pub mod api_key;
pub mod keys;
mod middleware;
mod scope;

pub use middleware::{AuthPolicy, Authenticate, Authenticator};
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
}

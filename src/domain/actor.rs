//! Who is acting, as the core sees it: the organization, the credential (an API key, a
//! Clerk user, the operator at the CLI) and what it may do. Every permission question is a
//! method here, asked by the service that performs the action, never by a transport.
//!
//! Partners read through API keys; people change data through the apps, signed in with
//! Clerk. So API keys are read-only for resources whatever their scopes (they may write
//! only webhooks), and a Clerk user's organization role decides which changes they may
//! make: admins everything, members the day-to-day work of the pipeline.

use std::fmt;

use uuid::Uuid;

use super::scope::{Scope, ScopeSet};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub organization_id: Uuid,
    pub credential: Credential,
    pub scopes: ScopeSet,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Credential {
    ApiKey {
        key_id: Uuid,
    },
    ClerkUser {
        user_id: String,
        is_admin: bool,
    },
    /// The operator at the command line (or the seeder): every permission, no budget.
    Operator,
}

impl fmt::Display for Credential {
    /// How logs and spans name the credential: its id, never a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::ApiKey { key_id } => {
                f.write_str(&crate::ids::encode(crate::ids::IdKind::ApiKey, *key_id))
            }
            Credential::ClerkUser { user_id, .. } => f.write_str(user_id),
            Credential::Operator => f.write_str("operator"),
        }
    }
}

/// A kind of change, as the role matrix (README, "App writes") lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Create and update leads (fields, status, assignment).
    WriteLeads,
    /// Create calls, reschedule, cancel, reassign, log outcomes.
    WriteCalls,
    /// Record payments and update them (status, paid time, who closed and set).
    RecordPayments,
    RefundPayments,
    ManageProducts,
    /// Team members, their roles and commission rates.
    ManageTeam,
    ManageBookingLinks,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::WriteLeads,
        Action::WriteCalls,
        Action::RecordPayments,
        Action::RefundPayments,
        Action::ManageProducts,
        Action::ManageTeam,
        Action::ManageBookingLinks,
    ];

    /// Whether an organization member (any Clerk role other than admin) may do it.
    pub const fn open_to_members(self) -> bool {
        match self {
            Action::WriteLeads | Action::WriteCalls | Action::RecordPayments => true,
            Action::RefundPayments
            | Action::ManageProducts
            | Action::ManageTeam
            | Action::ManageBookingLinks => false,
        }
    }

    const fn describe(self) -> &'static str {
        match self {
            Action::WriteLeads => "changing leads",
            Action::WriteCalls => "changing calls",
            Action::RecordPayments => "recording payments",
            Action::RefundPayments => "refunding payments",
            Action::ManageProducts => "managing products",
            Action::ManageTeam => "managing the team",
            Action::ManageBookingLinks => "managing booking links",
        }
    }
}

impl Actor {
    /// The operator of `organization_id` (CLI, seeder): may do anything there.
    pub fn operator(organization_id: Uuid) -> Self {
        Actor {
            organization_id,
            credential: Credential::Operator,
            scopes: ScopeSet::all(),
        }
    }

    /// FORBIDDEN unless the credential holds `scope`.
    pub fn require(&self, scope: Scope) -> AppResult<()> {
        if self.scopes.contains(scope) {
            return Ok(());
        }
        let who = match self.credential {
            Credential::ApiKey { .. } => "this API key",
            Credential::ClerkUser { .. } => "your organization role",
            Credential::Operator => "the operator",
        };
        Err(AppError::Forbidden(format!(
            "{who} lacks the `{scope}` scope required here"
        )))
    }

    /// FORBIDDEN unless this caller may perform `action`.
    pub fn require_action(&self, action: Action) -> AppResult<()> {
        match self.credential {
            Credential::ApiKey { .. } => Err(AppError::Forbidden(format!(
                "API keys are read-only: {} needs a user signed in with Clerk",
                action.describe()
            ))),
            Credential::Operator | Credential::ClerkUser { is_admin: true, .. } => Ok(()),
            Credential::ClerkUser { .. } if action.open_to_members() => Ok(()),
            Credential::ClerkUser { .. } => Err(AppError::Forbidden(format!(
                "{} needs the organization admin role",
                action.describe()
            ))),
        }
    }

    /// API keys are managed only by an organization admin signed in with Clerk (or the
    /// operator); a key can never mint or revoke keys, whatever its scopes.
    pub fn require_key_admin(&self) -> AppResult<()> {
        match self.credential {
            Credential::Operator | Credential::ClerkUser { is_admin: true, .. } => Ok(()),
            Credential::ClerkUser { .. } => Err(AppError::Forbidden(
                "managing API keys needs the organization admin role".to_owned(),
            )),
            Credential::ApiKey { .. } => Err(AppError::Forbidden(
                "API keys cannot manage API keys: sign in with Clerk as an organization admin"
                    .to_owned(),
            )),
        }
    }

    /// The API key behind this actor, if it is one.
    pub fn key_id(&self) -> Option<Uuid> {
        match self.credential {
            Credential::ApiKey { key_id } => Some(key_id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(credential: Credential) -> Actor {
        Actor {
            organization_id: uuid::Uuid::now_v7(),
            credential,
            scopes: ScopeSet::all(),
        }
    }

    #[test]
    fn the_role_matrix() {
        let admin = actor(Credential::ClerkUser {
            user_id: "user_a".into(),
            is_admin: true,
        });
        let member = actor(Credential::ClerkUser {
            user_id: "user_m".into(),
            is_admin: false,
        });
        let key = actor(Credential::ApiKey {
            key_id: uuid::Uuid::now_v7(),
        });
        let operator = actor(Credential::Operator);
        for action in Action::ALL {
            assert!(admin.require_action(action).is_ok(), "{action:?}");
            assert!(operator.require_action(action).is_ok(), "{action:?}");
            assert_eq!(
                member.require_action(action).is_ok(),
                action.open_to_members(),
                "{action:?}"
            );
            let refused = key.require_action(action).unwrap_err();
            assert_eq!(refused.code(), "FORBIDDEN");
        }
        let members_may: Vec<Action> = Action::ALL
            .into_iter()
            .filter(|a| a.open_to_members())
            .collect();
        assert_eq!(
            members_may,
            [
                Action::WriteLeads,
                Action::WriteCalls,
                Action::RecordPayments
            ]
        );
        assert!(key.require_key_admin().is_err());
        assert!(member.require_key_admin().is_err());
        assert!(admin.require_key_admin().is_ok());
    }

    #[test]
    fn credentials_are_named_without_secrets() {
        let key_id = uuid::Uuid::now_v7();
        let shown = Credential::ApiKey { key_id }.to_string();
        assert!(shown.starts_with("key_"));
    }
}

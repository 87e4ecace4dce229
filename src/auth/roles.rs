//! Who may change what. Partners read through API keys; people change data through the
//! apps, signed in with Clerk. So API keys are read-only for resources whatever their
//! scopes, and a Clerk user's organization role decides which changes they may make:
//! admins everything, members the day-to-day work of the pipeline.

use super::{Credential, Principal};
use crate::error::{AppError, AppResult};

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

impl Principal {
    /// FORBIDDEN unless this caller may perform `action`.
    pub fn require_action(&self, action: Action) -> AppResult<()> {
        match self.credential {
            Credential::ApiKey { .. } => Err(AppError::Forbidden(format!(
                "API keys are read-only: {} needs a user signed in with Clerk",
                action.describe()
            ))),
            Credential::ClerkUser { is_admin: true, .. } => Ok(()),
            Credential::ClerkUser { .. } if action.open_to_members() => Ok(()),
            Credential::ClerkUser { .. } => Err(AppError::Forbidden(format!(
                "{} needs the organization admin role",
                action.describe()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::ScopeSet;

    fn principal(credential: Credential) -> Principal {
        Principal {
            organization_id: uuid::Uuid::now_v7(),
            credential,
            scopes: ScopeSet::all(),
        }
    }

    #[test]
    fn the_role_matrix() {
        let admin = principal(Credential::ClerkUser {
            user_id: "user_a".into(),
            is_admin: true,
        });
        let member = principal(Credential::ClerkUser {
            user_id: "user_m".into(),
            is_admin: false,
        });
        let key = principal(Credential::ApiKey {
            key_id: uuid::Uuid::now_v7(),
        });
        for action in Action::ALL {
            assert!(admin.require_action(action).is_ok(), "{action:?}");
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
    }
}

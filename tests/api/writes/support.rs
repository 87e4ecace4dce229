//! A Clerk-connected organization with an admin, a member and an API key, seeded data,
//! and a second organization whose ids must never be reachable.

use crate::factory::keys;
use aura::domain::ScopeSet;
use entities::event;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use uuid::Uuid;

use crate::clerk_support::{claims, clerk_org, pem_config, token};
use crate::factory::{Seeded, seed};
use crate::helpers::TestApp;

pub struct World {
    pub app: TestApp,
    pub org: Uuid,
    pub admin: String,
    pub member: String,
    /// An API key of the same organization holding every scope.
    pub key: String,
    /// Two leads, each with a scheduled call and a succeeded payment, one closer.
    pub own: Seeded,
    pub other_org: Uuid,
    pub other: Seeded,
}

pub async fn world() -> World {
    let app = TestApp::builder()
        .configure(|c| c.clerk = Some(pem_config()))
        .build()
        .await;
    let org = clerk_org(&app.db, "acme", "org_acme").await;
    let other_org = clerk_org(&app.db, "bravo", "org_bravo").await;
    let key = keys::create(&app.db, org, "all scopes", ScopeSet::all(), None)
        .await
        .expect("key")
        .secret;
    let own = seed(&app.db, org, "acme", 2).await;
    let other = seed(&app.db, other_org, "bravo", 1).await;
    World {
        admin: token(&claims("user_admin", "org_acme", "admin")),
        member: token(&claims("user_member", "org_acme", "member")),
        app,
        org,
        key,
        own,
        other_org,
        other,
    }
}

impl World {
    /// Runs a mutation that must succeed and returns its `data`.
    pub async fn ok(&self, bearer: &str, query: &str, variables: Value) -> Value {
        self.app.graphql_ok(bearer, query, variables).await
    }

    /// Runs an operation that must fail; returns the body.
    pub async fn fails(&self, bearer: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.app.graphql(bearer, query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["errors"][0].is_object(), "expected an error: {body}");
        assert!(body["data"].is_null(), "{body}");
        body
    }

    /// The organization's events, oldest first, as `(type, data)`.
    pub async fn events(&self, org: Uuid) -> Vec<(String, Value)> {
        event::Entity::find()
            .filter(event::Column::OrganizationId.eq(org))
            .order_by_asc(event::Column::CreatedAt)
            .order_by_asc(event::Column::Id)
            .all(&self.app.db)
            .await
            .expect("events")
            .into_iter()
            .map(|e| (e.event_type, e.data))
            .collect()
    }

    /// Every event recorded in any organization.
    pub async fn event_count(&self) -> usize {
        event::Entity::find()
            .all(&self.app.db)
            .await
            .expect("events")
            .len()
    }
}

pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

pub fn field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or("")
}

/// An RFC 3339 instant `days` from now, on a whole hour.
pub fn days_ahead(days: i64) -> String {
    use chrono::{DurationRound, Utc};
    let at = (Utc::now() + chrono::Duration::days(days))
        .duration_trunc(chrono::Duration::hours(1))
        .unwrap();
    aura::time::format_rfc3339(at)
}

/// Midnight UTC, `days` from today.
pub fn midnight_ahead(days: i64) -> String {
    use chrono::{DurationRound, Utc};
    let at = (Utc::now() + chrono::Duration::days(days))
        .duration_trunc(chrono::Duration::days(1))
        .unwrap();
    aura::time::format_rfc3339(at)
}

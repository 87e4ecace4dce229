//! Test data written straight through the entities, independent of the code under test.

use aura::domain::ScopeSet;
use aura::domain::Slug;
use aura::ids::{IdKind, encode};
use chrono::{Duration, Utc};
use entities::{booking_link, call, lead, payment, product, team_member};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection};
use serde_json::json;
use uuid::Uuid;

/// API keys as the tests make them: through the service, as the operator of `org`.
pub mod keys {
    use aura::db::Database;
    use aura::domain::{Actor, ScopeSet};
    use aura::error::AppResult;
    use aura::services::api_keys::{self, CreatedKey, NewKey};
    use chrono::{DateTime, Utc};
    use entities::api_key;
    use sea_orm::DatabaseConnection;
    use uuid::Uuid;

    pub async fn create(
        db: &DatabaseConnection,
        org: Uuid,
        name: &str,
        scopes: ScopeSet,
        expires_at: Option<DateTime<Utc>>,
    ) -> AppResult<CreatedKey> {
        let input = NewKey {
            name: name.to_owned(),
            scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            expires_at,
        };
        api_keys::create(db, &Actor::operator(org), input).await
    }

    pub async fn list(db: &DatabaseConnection, org: Uuid) -> AppResult<Vec<api_key::Model>> {
        api_keys::list(db, &Actor::operator(org)).await
    }

    /// Revokes `key_id` through the service on `db`: on a test app's own [`Database`] the
    /// app's key cache hears of it at once, as the instance that revoked it.
    #[allow(dead_code)]
    pub async fn revoke_on(db: &Database, org: Uuid, key_id: Uuid) -> AppResult<api_key::Model> {
        let id = aura::ids::encode(aura::ids::IdKind::ApiKey, key_id);
        api_keys::revoke(db, &Actor::operator(org), &id).await
    }
}

pub struct TestOrg {
    pub id: Uuid,
    pub key: String,
}

pub async fn org_with_key(db: &DatabaseConnection, slug: &str, scopes: ScopeSet) -> TestOrg {
    let org = aura::services::orgs::create(
        db,
        &format!("Org {slug}"),
        &Slug::parse(slug).unwrap(),
        None,
    )
    .await
    .expect("create org");
    let key = keys::create(db, org.id, "test key", scopes, None)
        .await
        .expect("create key");
    TestOrg {
        id: org.id,
        key: key.secret,
    }
}

/// A small but complete data set: ids in their public form.
#[allow(dead_code)]
pub struct Seeded {
    pub team_member: String,
    pub leads: Vec<String>,
    pub calls: Vec<String>,
    pub product: String,
    pub payments: Vec<String>,
    pub booking_link: String,
}

/// `leads` leads, each with one call and one payment, all handled by one closer.
#[allow(clippy::needless_update)] // new columns keep their defaults
pub async fn seed(db: &DatabaseConnection, org: Uuid, tag: &str, leads: usize) -> Seeded {
    let base = Utc::now() - Duration::days(5);
    let at = |n: i64| aura::time::truncate_to_micros(base + Duration::seconds(n));
    let member = team_member::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        name: Set(format!("Closer {tag}")),
        email: Set(format!("closer@{tag}.test")),
        role: Set(team_member::TeamRole::Closer),
        commission_rate_ppm: Set(125_000),
        active: Set(true),
        timezone: Set("America/New_York".into()),
        created_at: Set(at(0)),
        updated_at: Set(at(0)),
    }
    .insert(db)
    .await
    .unwrap();
    aura::services::commissions::record_rate(
        db,
        org,
        member.id,
        aura::domain::CommissionRate::from_ppm(125_000).unwrap(),
        at(0),
    )
    .await
    .unwrap();
    let prod = product::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        name: Set(format!("Program {tag}")),
        description: Set(None),
        price_amount: Set(150_000),
        currency: Set("USD".into()),
        billing: Set(product::Billing::OneTime),
        active: Set(true),
        created_at: Set(at(1)),
        updated_at: Set(at(1)),
    }
    .insert(db)
    .await
    .unwrap();
    let link = booking_link::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        slug: Set(format!("{tag}-call")),
        name: Set("Call".into()),
        owner_id: Set(member.id),
        duration_minutes: Set(30),
        timezone: Set("America/New_York".into()),
        weekly_hours: Set(json!([{"day": "mon", "start": "09:00", "end": "17:00"}])),
        buffer_minutes: Set(0),
        min_notice_minutes: Set(0),
        horizon_days: Set(30),
        active: Set(true),
        created_at: Set(at(2)),
        updated_at: Set(at(2)),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let mut out = Seeded {
        team_member: encode(IdKind::TeamMember, member.id),
        leads: vec![],
        calls: vec![],
        product: encode(IdKind::Product, prod.id),
        payments: vec![],
        booking_link: encode(IdKind::BookingLink, link.id),
    };
    for n in 0..leads {
        let t = 10 + n as i64 * 10;
        let l = lead::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(org),
            name: Set(format!("Lead {tag} {n}")),
            email: Set(Some(format!("lead{n}@{tag}.test"))),
            phone: Set(None),
            source: Set(Some("referral".into())),
            status: Set(lead::LeadStatus::Booked),
            assigned_team_member_id: Set(Some(member.id)),
            utm_source: Set(None),
            utm_medium: Set(None),
            utm_campaign: Set(None),
            utm_term: Set(None),
            utm_content: Set(None),
            custom_fields: Set(json!({"n": n})),
            created_at: Set(at(t)),
            updated_at: Set(at(t)),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        let c = call::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(org),
            lead_id: Set(l.id),
            closer_id: Set(Some(member.id)),
            setter_id: Set(None),
            booking_link_id: Set(Some(link.id)),
            scheduled_at: Set(at(t + 86_400)),
            duration_minutes: Set(30),
            status: Set(call::CallStatus::Scheduled),
            outcome: Set(None),
            notes: Set(None),
            booking_token_hash: Set(None),
            created_at: Set(at(t + 1)),
            updated_at: Set(at(t + 1)),
        }
        .insert(db)
        .await
        .unwrap();
        let p = payment::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(org),
            lead_id: Set(l.id),
            product_id: Set(Some(prod.id)),
            closer_id: Set(Some(member.id)),
            setter_id: Set(None),
            amount: Set(150_000),
            currency: Set("USD".into()),
            status: Set(payment::PaymentStatus::Succeeded),
            processor: Set("stripe".into()),
            external_id: Set(Some(format!("pi_{tag}_{n}"))),
            paid_at: Set(Some(at(t + 2))),
            closer_rate_ppm: Set(Some(125_000)),
            setter_rate_ppm: Set(None),
            created_at: Set(at(t + 2)),
            updated_at: Set(at(t + 2)),
        }
        .insert(db)
        .await
        .unwrap();
        out.leads.push(encode(IdKind::Lead, l.id));
        out.calls.push(encode(IdKind::Call, c.id));
        out.payments.push(encode(IdKind::Payment, p.id));
    }
    out
}

/// The demo organization with `leads` leads, and its key.
pub async fn demo_with_leads(db: &DatabaseConnection, leads: usize) -> aura::seed::DemoOutcome {
    aura::seed::ensure_demo(
        db,
        aura::seed::DemoOptions {
            leads,
            ..Default::default()
        },
    )
    .await
    .expect("seed the demo organization")
}

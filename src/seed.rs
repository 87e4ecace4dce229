//! The seeder: demo data for a realistic sales team, deterministic from a fixed seed. The
//! same seed gives the same people, products, leads, calls and payments in the same order;
//! timestamps are laid out over the 90 days before the anchor (today, by default).
//!
//! The organization, its API key and the calendar holds of upcoming calls are made by the
//! services, as the CLI and the API make them. The 90 days of history are imported as
//! rows (many per statement, so a million leads load in minutes): they are data, not
//! activity, so they record no events.

use chrono::{DateTime, Duration, DurationRound, Utc};
use entities::{
    booking_link, call, commission_rate, lead, organization, payment, product, team_member,
};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::domain::{Actor, ScopeSet, Slug};
use crate::error::{AppError, AppResult};
use crate::services::api_keys::{self as keys, NewKey};

pub const DEMO_SLUG: &str = "demo";
pub const DEFAULT_LEADS: usize = 500;
const SEED: u64 = 0x00A0_2A5E_ED5E_ED01;
const INSERT_CHUNK: usize = 500;
/// 2026-12-01T00:00:00Z: the day the demo's ids are made as if seeded on.
const ID_ANCHOR_UNIX: i64 = 1_796_083_200;

/// SplitMix64: tiny, fast, and stable forever (unlike `StdRng`), so the demo data is too.
/// `id_shift` moves the time part of the ids it makes from the anchor to a fixed day, so
/// the demo's ids are the same whichever day it is seeded (the API documents' examples
/// are demo ids), while rows keep their real, anchor-relative timestamps.
struct Rng {
    state: u64,
    id_shift: Duration,
}

impl Rng {
    fn new(seed: u64, anchor: DateTime<Utc>) -> Self {
        Rng {
            state: seed,
            id_shift: DateTime::<Utc>::from_timestamp(ID_ANCHOR_UNIX, 0).unwrap_or_default()
                - anchor,
        }
    }
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// A UUIDv7 for `at` (as if seeded on the fixed day), with random bits from this
    /// generator.
    fn uuid_at(&mut self, at: DateTime<Utc>) -> Uuid {
        let mut bytes = [0u8; 10];
        bytes[..8].copy_from_slice(&self.next_u64().to_be_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_be_bytes()[..2]);
        let millis = (at + self.id_shift).timestamp_millis().max(0) as u64;
        uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
    }
}

const FIRST_NAMES: &[&str] = &[
    "Ava", "Liam", "Sofia", "Noah", "Maya", "Ethan", "Zoe", "Lucas", "Chloe", "Mateo", "Aria",
    "Elijah", "Nora", "James", "Leah", "Daniel", "Priya", "Omar", "Hana", "Diego", "Grace", "Kai",
    "Ines", "Samuel", "Yuki", "Aaron", "Fatima", "Jonas", "Camila", "Ravi",
];
const LAST_NAMES: &[&str] = &[
    "Nguyen", "Patel", "Garcia", "Smith", "Kim", "Johnson", "Rossi", "Müller", "Okafor", "Silva",
    "Brown", "Cohen", "Larsen", "Tanaka", "Dubois", "Martin", "Haddad", "Lopez", "Walker", "Novak",
    "Reyes", "Ahmed", "Fischer", "Moreau",
];
const SOURCES: &[&str] = &[
    "facebook_ads",
    "instagram",
    "youtube",
    "google_ads",
    "referral",
    "webinar",
    "podcast",
    "organic",
];
const CAMPAIGNS: &[&str] = &[
    "black_friday",
    "q4_scale",
    "free_training",
    "case_study",
    "retargeting_30d",
];
const TIMEZONES: &[&str] = &[
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Europe/London",
];
const OUTCOMES: &[&str] = &[
    "closed_won",
    "follow_up",
    "not_a_fit",
    "needs_financing",
    "thinking_it_over",
];

pub struct DemoOutcome {
    pub organization: organization::Model,
    pub api_key: String,
    /// False when the demo organization already existed and only a key was minted.
    pub seeded: bool,
    pub leads: usize,
}

pub struct DemoOptions {
    pub leads: usize,
    pub anchor: DateTime<Utc>,
    /// Print progress lines to stderr while seeding (for large `--leads`).
    pub progress: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            leads: DEFAULT_LEADS,
            anchor: Utc::now()
                .duration_trunc(Duration::days(1))
                .unwrap_or_else(|_| Utc::now()),
            progress: false,
        }
    }
}

/// Seeds the demo organization unless it exists, then mints an API key for it.
pub async fn ensure_demo(db: &DatabaseConnection, options: DemoOptions) -> AppResult<DemoOutcome> {
    let (organization, seeded, leads) =
        match crate::services::orgs::find_by_slug(db, DEMO_SLUG).await? {
            Some(org) => (org, false, 0),
            None => {
                let org = seed(db, &options).await?;
                (org, true, options.leads)
            }
        };
    let key = keys::create(
        db,
        &Actor::operator(organization.id),
        NewKey {
            name: "Demo key".to_owned(),
            scopes: ScopeSet::all()
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            expires_at: None,
        },
    )
    .await?;
    Ok(DemoOutcome {
        organization,
        api_key: key.secret,
        seeded,
        leads,
    })
}

/// Whether the database holds no organization at all.
pub async fn is_empty(db: &DatabaseConnection) -> AppResult<bool> {
    use sea_orm::PaginatorTrait;
    Ok(organization::Entity::find().count(db).await? == 0)
}

async fn seed(db: &DatabaseConnection, options: &DemoOptions) -> AppResult<organization::Model> {
    let txn = db.begin().await?;
    // A bench-scale seed on SQLite is one big transaction: a page cache large enough to hold
    // it avoids spilling half-built indexes to the WAL and reading them back. Only this
    // connection's cache; put back before commit.
    let big_sqlite = txn.get_database_backend() == sea_orm::DbBackend::Sqlite
        && options.leads > 10 * DEFAULT_LEADS;
    if big_sqlite {
        txn.execute_unprepared("PRAGMA cache_size = -1048576")
            .await?;
    }
    let slug = Slug::parse(DEMO_SLUG).map_err(AppError::internal)?;
    let org = crate::services::orgs::create(&txn, "Demo Sales Team", &slug, None).await?;
    let mut rng = Rng::new(SEED, options.anchor);
    let anchor = options.anchor;
    let start = anchor - Duration::days(90);
    let team = seed_team(&txn, &mut rng, org.id, start).await?;
    let products = seed_products(&txn, &mut rng, org.id, start).await?;
    let links = seed_booking_links(&txn, &mut rng, org.id, &team, start).await?;
    seed_pipeline(&txn, &mut rng, org.id, options, &team, &products, &links).await?;
    if big_sqlite {
        txn.execute_unprepared("PRAGMA cache_size = -2000").await?;
    }
    txn.commit().await?;
    Ok(org)
}

struct Member {
    id: Uuid,
    role: team_member::TeamRole,
    rate_ppm: i64,
}

async fn seed_team<C: ConnectionTrait>(
    db: &C,
    rng: &mut Rng,
    org: Uuid,
    start: DateTime<Utc>,
) -> AppResult<Vec<Member>> {
    use team_member::TeamRole::*;
    let roster = [
        ("Morgan Reyes", Owner, 0),
        ("Jordan Blake", Admin, 0),
        ("Casey Whitfield", Manager, 20_000),
        ("Alex Romero", Closer, 100_000),
        ("Sam Okafor", Closer, 120_000),
        ("Riley Chen", Closer, 125_000),
        ("Devon Price", Closer, 100_000),
        ("Taylor Brooks", Closer, 150_000),
        ("Jamie Novak", Setter, 30_000),
        ("Quinn Harper", Setter, 40_000),
        ("Avery Santos", Setter, 35_000),
        ("Parker Lee", Setter, 50_000),
    ];
    let mut members = Vec::new();
    let mut rows = Vec::new();
    let mut rates = Vec::new();
    for (i, (name, role, rate)) in roster.into_iter().enumerate() {
        let at = start - Duration::days(30) + Duration::hours(i as i64 * 7);
        let id = rng.uuid_at(at);
        let email = format!("{}@demo.aura-app.ai", name.to_lowercase().replace(' ', "."));
        rows.push(team_member::ActiveModel {
            id: Set(id),
            organization_id: Set(org),
            name: Set(name.to_owned()),
            email: Set(email),
            role: Set(role),
            commission_rate_ppm: Set(rate),
            active: Set(i != 7),
            timezone: Set(rng.pick(TIMEZONES).to_string()),
            created_at: Set(at),
            updated_at: Set(at),
        });
        members.push(Member {
            id,
            role,
            rate_ppm: rate,
        });
        rates.push(commission_rate::ActiveModel {
            id: Set(rng.uuid_at(at)),
            organization_id: Set(org),
            team_member_id: Set(id),
            rate_ppm: Set(rate),
            effective_from: Set(at),
            created_at: Set(at),
        });
    }
    team_member::Entity::insert_many(rows).exec(db).await?;
    commission_rate::Entity::insert_many(rates).exec(db).await?;
    Ok(members)
}

struct DemoProduct {
    id: Uuid,
    price: i64,
    billing: product::Billing,
}

async fn seed_products<C: ConnectionTrait>(
    db: &C,
    rng: &mut Rng,
    org: Uuid,
    start: DateTime<Utc>,
) -> AppResult<Vec<DemoProduct>> {
    use product::Billing::*;
    let catalog = [
        (
            "Sales Accelerator Program",
            "Eight-week group program with weekly live calls.",
            499_700,
            OneTime,
        ),
        (
            "Inner Circle Mastermind",
            "Monthly mastermind with hot seats and a private community.",
            99_700,
            Recurring,
        ),
        (
            "1:1 Coaching (6 months)",
            "Private coaching, paid in six monthly installments.",
            900_000,
            PaymentPlan,
        ),
        (
            "Starter Course",
            "Self-paced fundamentals course.",
            49_700,
            OneTime,
        ),
        (
            "Done-For-You Funnel Setup",
            "We build and launch your funnel.",
            250_000,
            OneTime,
        ),
        (
            "Annual Membership",
            "Everything, billed yearly.",
            500_000,
            Recurring,
        ),
    ];
    let mut out = Vec::new();
    let mut rows = Vec::new();
    for (i, (name, description, price, billing)) in catalog.into_iter().enumerate() {
        let at = start - Duration::days(20) + Duration::hours(i as i64 * 5);
        let id = rng.uuid_at(at);
        rows.push(product::ActiveModel {
            id: Set(id),
            organization_id: Set(org),
            name: Set(name.to_owned()),
            description: Set(Some(description.to_owned())),
            price_amount: Set(price),
            currency: Set("USD".to_owned()),
            billing: Set(billing),
            active: Set(i != 4),
            created_at: Set(at),
            updated_at: Set(at),
        });
        out.push(DemoProduct { id, price, billing });
    }
    product::Entity::insert_many(rows).exec(db).await?;
    Ok(out)
}

async fn seed_booking_links<C: ConnectionTrait>(
    db: &C,
    rng: &mut Rng,
    org: Uuid,
    team: &[Member],
    start: DateTime<Utc>,
) -> AppResult<Vec<(Uuid, Uuid)>> {
    let weekdays = |from: &str, to: &str| {
        json!(
            ["mon", "tue", "wed", "thu", "fri"]
                .iter()
                .map(|d| json!({"day": d, "start": from, "end": to}))
                .collect::<Vec<_>>()
        )
    };
    let closers: Vec<&Member> = team
        .iter()
        .filter(|m| m.role == team_member::TeamRole::Closer)
        .collect();
    let mut links = Vec::new();
    let mut rows = Vec::new();
    for (i, closer) in closers.iter().take(3).enumerate() {
        let at = start - Duration::days(10) + Duration::hours(i as i64);
        let id = rng.uuid_at(at);
        let (slug, name, duration, hours) = match i {
            0 => (
                "demo-strategy-call",
                "Strategy Call",
                45,
                weekdays("09:00", "17:00"),
            ),
            1 => (
                "demo-discovery-call",
                "Discovery Call",
                30,
                weekdays("10:00", "18:00"),
            ),
            _ => (
                "demo-vip-consult",
                "VIP Consultation",
                60,
                weekdays("12:00", "16:00"),
            ),
        };
        rows.push(booking_link::ActiveModel {
            id: Set(id),
            organization_id: Set(org),
            slug: Set(slug.to_owned()),
            name: Set(name.to_owned()),
            owner_id: Set(closer.id),
            duration_minutes: Set(duration),
            timezone: Set("America/New_York".to_owned()),
            weekly_hours: Set(hours),
            buffer_minutes: Set(15),
            min_notice_minutes: Set(240),
            horizon_days: Set(30),
            questions: Set(demo_questions()),
            active: Set(true),
            created_at: Set(at),
            updated_at: Set(at),
        });
        links.push((id, closer.id));
    }
    booking_link::Entity::insert_many(rows).exec(db).await?;
    Ok(links)
}

/// What the demo links ask beside name, e-mail and phone.
fn demo_questions() -> serde_json::Value {
    use crate::domain::booking_form::{BookingForm, QuestionInput};
    let form = BookingForm::parse(vec![QuestionInput {
        key: "goal".to_owned(),
        label: "What would you like to get out of this call?".to_owned(),
        required: Some(false),
        multiline: Some(true),
    }]);
    form.map_or_else(|_| serde_json::json!([]), |form| form.to_json())
}

// Rows spell out every field the demo fills and end with `..Default::default()`, so a
// column added to a table later needs no change here.
#[allow(clippy::needless_update)]
async fn seed_pipeline<C: ConnectionTrait>(
    db: &C,
    rng: &mut Rng,
    org: Uuid,
    options: &DemoOptions,
    team: &[Member],
    products: &[DemoProduct],
    links: &[(Uuid, Uuid)],
) -> AppResult<()> {
    use call::CallStatus;
    use lead::LeadStatus;
    use payment::PaymentStatus;

    let closers: Vec<Uuid> = team
        .iter()
        .filter(|m| m.role == team_member::TeamRole::Closer)
        .map(|m| m.id)
        .collect();
    let setters: Vec<Uuid> = team
        .iter()
        .filter(|m| m.role == team_member::TeamRole::Setter)
        .map(|m| m.id)
        .collect();
    let rate_of: std::collections::HashMap<Uuid, i64> =
        team.iter().map(|m| (m.id, m.rate_ppm)).collect();
    let window_secs = 90 * 24 * 3600;
    let start = options.anchor - Duration::days(90);

    let mut progress = Progress::new(options);
    let mut leads = Vec::with_capacity(INSERT_CHUNK);
    let mut calls = Vec::new();
    let mut payments = Vec::new();
    for n in 0..options.leads {
        // Later leads are newer, so the list order follows the generation order.
        let offset = (n as i64 * window_secs) / options.leads.max(1) as i64;
        let created = start + Duration::seconds(offset + rng.below(600) as i64);
        let lead_id = rng.uuid_at(created);
        let first = rng.pick(FIRST_NAMES);
        let last = rng.pick(LAST_NAMES);
        let status = match rng.below(100) {
            0..=24 => LeadStatus::New,
            25..=44 => LeadStatus::Contacted,
            45..=59 => LeadStatus::Qualified,
            60..=74 => LeadStatus::Booked,
            75..=87 => LeadStatus::Won,
            _ => LeadStatus::Lost,
        };
        // The newest leads are still in flight: nobody has won or lost them yet.
        let status = if created > options.anchor - Duration::days(10)
            && matches!(status, LeadStatus::Won | LeadStatus::Lost)
        {
            LeadStatus::Booked
        } else {
            status
        };
        let closer = *rng.pick(&closers);
        let setter = *rng.pick(&setters);
        let assigned = match status {
            LeadStatus::New => None,
            LeadStatus::Contacted | LeadStatus::Qualified => Some(setter),
            _ => Some(closer),
        };
        let source = rng.pick(SOURCES);
        let paid_source = matches!(
            *source,
            "facebook_ads" | "instagram" | "youtube" | "google_ads"
        );
        let budget = rng.pick(&["under_5k", "5k_10k", "10k_25k", "25k_plus"]);
        let size = rng.pick(&["solo", "2_10", "11_50", "51_200"]);
        let updated = created + Duration::hours(rng.below(72) as i64);
        leads.push(lead::ActiveModel {
            id: Set(lead_id),
            organization_id: Set(org),
            name: Set(format!("{first} {last}")),
            email: Set(Some(format!(
                "{}.{}{}@example.com",
                first.to_lowercase(),
                last.to_lowercase().replace('ü', "ue"),
                n
            ))),
            phone: Set(Some(format!("+1555{:07}", rng.below(10_000_000)))),
            source: Set(Some(source.to_string())),
            status: Set(status),
            assigned_team_member_id: Set(assigned),
            utm_source: Set(paid_source.then(|| source.to_string())),
            utm_medium: Set(paid_source.then(|| "cpc".to_owned())),
            utm_campaign: Set(paid_source.then(|| rng.pick(CAMPAIGNS).to_string())),
            utm_term: Set(None),
            utm_content: Set(paid_source.then(|| format!("ad_{}", rng.below(12) + 1))),
            custom_fields: Set(json!({"budget": budget, "team_size": size})),
            created_at: Set(created),
            updated_at: Set(updated.min(options.anchor)),
            // Fields the demo does not fill keep their database default.
            ..Default::default()
        });

        let booked = matches!(
            status,
            LeadStatus::Booked | LeadStatus::Won | LeadStatus::Lost
        );
        if booked {
            let link = links
                .iter()
                .find(|(_, owner)| *owner == closer)
                .map(|(id, _)| *id);
            let call_count = 1 + rng.below(2);
            for c in 0..call_count {
                let booked_at = created + Duration::hours(2 + rng.below(48) as i64 + c as i64 * 72);
                let scheduled = (booked_at + Duration::days(1 + rng.below(6) as i64))
                    .duration_trunc(Duration::minutes(15))
                    .unwrap_or(booked_at);
                let last_call = c + 1 == call_count;
                let call_status = if scheduled > options.anchor {
                    CallStatus::Scheduled
                } else if !last_call {
                    *rng.pick(&[
                        CallStatus::Rescheduled,
                        CallStatus::NoShow,
                        CallStatus::Completed,
                    ])
                } else if status == LeadStatus::Booked {
                    *rng.pick(&[
                        CallStatus::Completed,
                        CallStatus::NoShow,
                        CallStatus::Canceled,
                    ])
                } else {
                    CallStatus::Completed
                };
                let outcome = match (call_status, status) {
                    (CallStatus::Completed, LeadStatus::Won) if last_call => {
                        Some("closed_won".to_owned())
                    }
                    (CallStatus::Completed, LeadStatus::Lost) if last_call => {
                        Some("not_a_fit".to_owned())
                    }
                    (CallStatus::Completed, _) => Some(rng.pick(OUTCOMES).to_string()),
                    _ => None,
                };
                calls.push(call::ActiveModel {
                    id: Set(rng.uuid_at(booked_at)),
                    organization_id: Set(org),
                    lead_id: Set(lead_id),
                    closer_id: Set(Some(closer)),
                    setter_id: Set(rng.chance(70).then_some(setter)),
                    booking_link_id: Set(link),
                    scheduled_at: Set(scheduled),
                    duration_minutes: Set(*rng.pick(&[30, 45, 60])),
                    status: Set(call_status),
                    outcome: Set(outcome),
                    notes: Set(rng
                        .chance(40)
                        .then(|| "Discussed goals, budget and timeline.".to_owned())),
                    booking_token_hash: Set(None),
                    created_at: Set(booked_at),
                    updated_at: Set(booked_at.max(scheduled.min(options.anchor))),
                });
                if status == LeadStatus::Won && last_call {
                    let product = rng.pick(products);
                    let installments = match product.billing {
                        product::Billing::PaymentPlan => 3,
                        product::Billing::Recurring => 1 + rng.below(3),
                        product::Billing::OneTime => 1,
                    };
                    for k in 0..installments {
                        let paid = scheduled
                            + Duration::hours(1 + rng.below(24) as i64)
                            + Duration::days(30 * k as i64);
                        if paid > options.anchor {
                            break;
                        }
                        let pay_status = match rng.below(100) {
                            0..=84 => PaymentStatus::Succeeded,
                            85..=90 => PaymentStatus::Refunded,
                            91..=95 => PaymentStatus::Failed,
                            _ => PaymentStatus::Pending,
                        };
                        let amount = match product.billing {
                            product::Billing::PaymentPlan => product.price / 6,
                            _ => product.price,
                        };
                        let processor =
                            *rng.pick(&["stripe", "stripe", "stripe", "paypal", "wire"]);
                        payments.push(payment::ActiveModel {
                            id: Set(rng.uuid_at(paid)),
                            organization_id: Set(org),
                            lead_id: Set(lead_id),
                            product_id: Set(Some(product.id)),
                            closer_id: Set(Some(closer)),
                            setter_id: Set(Some(setter)),
                            amount: Set(amount),
                            currency: Set("USD".to_owned()),
                            status: Set(pay_status),
                            processor: Set(processor.to_owned()),
                            external_id: Set(Some(format!(
                                "{}_{:016x}",
                                if processor == "stripe" { "pi" } else { "txn" },
                                rng.next_u64()
                            ))),
                            paid_at: Set((pay_status != PaymentStatus::Pending
                                && pay_status != PaymentStatus::Failed)
                                .then_some(paid)),
                            closer_rate_ppm: Set(rate_of.get(&closer).copied()),
                            setter_rate_ppm: Set(rate_of.get(&setter).copied()),
                            created_at: Set(paid),
                            updated_at: Set(paid),
                        });
                    }
                }
            }
        }
        if leads.len() >= INSERT_CHUNK {
            flush(db, &mut leads, &mut calls, &mut payments).await?;
            progress.report(n + 1);
        }
    }
    if !leads.is_empty() {
        flush(db, &mut leads, &mut calls, &mut payments).await?;
        progress.report(options.leads);
    }
    Ok(())
}

/// Progress lines on stderr, about every 5% of the leads (stdout stays for the key).
struct Progress {
    enabled: bool,
    total: usize,
    step: usize,
    next: usize,
    started: std::time::Instant,
}

impl Progress {
    fn new(options: &DemoOptions) -> Self {
        let step = (options.leads / 20).max(INSERT_CHUNK);
        Progress {
            enabled: options.progress,
            total: options.leads,
            step,
            next: step,
            started: std::time::Instant::now(),
        }
    }

    fn report(&mut self, done: usize) {
        if !self.enabled || (done < self.next && done < self.total) {
            return;
        }
        while self.next <= done {
            self.next += self.step;
        }
        let secs = self.started.elapsed().as_secs_f64();
        eprintln!(
            "seeding: {done}/{} leads ({:.0}%), {secs:.1} s, {:.0} leads/s",
            self.total,
            done as f64 * 100.0 / self.total.max(1) as f64,
            done as f64 / secs.max(1e-9)
        );
    }
}

/// Scheduled calls hold their closer's calendar, so the demo booking links show them as
/// busy: the calendar service's holds, keeping the first holder where random demo calls
/// overlap.
async fn claim_upcoming<C: ConnectionTrait>(db: &C, calls: &[call::ActiveModel]) -> AppResult<()> {
    use sea_orm::TryIntoModel;
    let scheduled: Vec<call::Model> = calls
        .iter()
        .filter_map(|call| call.clone().try_into_model().ok())
        .collect();
    crate::services::calendar::hold_imported(db, &scheduled, Duration::minutes(15)).await
}

async fn flush<C: ConnectionTrait>(
    db: &C,
    leads: &mut Vec<lead::ActiveModel>,
    calls: &mut Vec<call::ActiveModel>,
    payments: &mut Vec<payment::ActiveModel>,
) -> AppResult<()> {
    if !leads.is_empty() {
        lead::Entity::insert_many(std::mem::take(leads))
            .exec_without_returning(db)
            .await?;
    }
    let calls = std::mem::take(calls);
    for chunk in calls.chunks(INSERT_CHUNK) {
        call::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    claim_upcoming(db, &calls).await?;
    for chunk in std::mem::take(payments).chunks(INSERT_CHUNK) {
        payment::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

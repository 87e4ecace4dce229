//! The resources' wire objects: what `GET /v1/<resource>/{id}` returns, what a webhook's
//! `data` holds and what a live event carries. Each is built from its entity model here
//! and nowhere else.

use entities::{booking_link, call, lead, payment, product, team_member};
use poem_openapi::Object;
use poem_openapi::types::Example;
use serde::{Deserialize, Serialize};

use super::enums::{Participation, Weekday, Wire, WireEnum};
use super::scalars::{DecimalString, Timestamp};
use crate::domain::CommissionRate;
use crate::domain::calendar::schedule::WeeklyIntervalJson;
use crate::domain::commission::{self, Side};
use crate::ids::{IdKind, encode};

fn id(kind: IdKind, id: uuid::Uuid) -> String {
    encode(kind, id)
}

fn optional_id(kind: IdKind, value: Option<uuid::Uuid>) -> Option<String> {
    value.map(|v| encode(kind, v))
}

/// Marketing attribution captured with the lead.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Utm {
    /// `utm_source`: the site or platform (`facebook_ads`).
    pub source: Option<String>,
    /// `utm_medium`: the channel (`cpc`, `email`).
    pub medium: Option<String>,
    /// `utm_campaign`: the campaign's name.
    pub campaign: Option<String>,
    /// `utm_term`: the paid keyword.
    pub term: Option<String>,
    /// `utm_content`: which ad or link.
    pub content: Option<String>,
}

/// A prospect in the sales pipeline.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[oai(example)]
pub struct Lead {
    /// `lead_…`
    pub id: String,
    /// The lead's full name.
    pub name: String,
    /// E-mail address, lower-case.
    pub email: Option<String>,
    /// Phone number, as given.
    pub phone: Option<String>,
    /// Where the lead came from (`facebook_ads`, `referral`, …).
    pub source: Option<String>,
    pub status: Wire<lead::LeadStatus>,
    /// The team member who owns the lead (`tm_…`).
    pub assigned_team_member_id: Option<String>,
    /// Marketing attribution captured with the lead.
    pub utm: Utm,
    /// Free-form answers and fields collected with the lead.
    pub custom_fields: serde_json::Value,
    /// When the lead was created.
    pub created_at: Timestamp,
    /// When the lead last changed.
    pub updated_at: Timestamp,
}

impl From<&lead::Model> for Lead {
    fn from(m: &lead::Model) -> Self {
        Lead {
            id: id(IdKind::Lead, m.id),
            name: m.name.clone(),
            email: m.email.clone(),
            phone: m.phone.clone(),
            source: m.source.clone(),
            status: Wire(m.status),
            assigned_team_member_id: optional_id(IdKind::TeamMember, m.assigned_team_member_id),
            utm: Utm {
                source: m.utm_source.clone(),
                medium: m.utm_medium.clone(),
                campaign: m.utm_campaign.clone(),
                term: m.utm_term.clone(),
                content: m.utm_content.clone(),
            },
            custom_fields: m.custom_fields.clone(),
            created_at: Timestamp::from_utc(m.created_at),
            updated_at: Timestamp::from_utc(m.updated_at),
        }
    }
}

/// A sales call with a lead.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[oai(example)]
pub struct Call {
    /// `call_…`
    pub id: String,
    /// `lead_…`
    pub lead_id: String,
    /// The team member who runs the call (`tm_…`).
    pub closer_id: Option<String>,
    /// The team member who set the call up (`tm_…`).
    pub setter_id: Option<String>,
    /// The booking link it was booked through (`bl_…`).
    pub booking_link_id: Option<String>,
    /// When the call starts.
    pub scheduled_at: Timestamp,
    /// How long the call is booked for.
    pub duration_minutes: i32,
    pub status: Wire<call::CallStatus>,
    /// What came of the call (`closed_won`, `follow_up`, …), once logged.
    pub outcome: Option<String>,
    /// The closer's notes.
    pub notes: Option<String>,
    /// When the call was booked.
    pub created_at: Timestamp,
    /// When the call last changed.
    pub updated_at: Timestamp,
}

impl From<&call::Model> for Call {
    fn from(m: &call::Model) -> Self {
        Call {
            id: id(IdKind::Call, m.id),
            lead_id: id(IdKind::Lead, m.lead_id),
            closer_id: optional_id(IdKind::TeamMember, m.closer_id),
            setter_id: optional_id(IdKind::TeamMember, m.setter_id),
            booking_link_id: optional_id(IdKind::BookingLink, m.booking_link_id),
            scheduled_at: Timestamp::from_utc(m.scheduled_at),
            duration_minutes: m.duration_minutes,
            status: Wire(m.status),
            outcome: m.outcome.clone(),
            notes: m.notes.clone(),
            created_at: Timestamp::from_utc(m.created_at),
            updated_at: Timestamp::from_utc(m.updated_at),
        }
    }
}

/// A member of the sales team.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[oai(example)]
pub struct TeamMember {
    /// `tm_…`
    pub id: String,
    /// The member's full name.
    pub name: String,
    /// Work e-mail address.
    pub email: String,
    pub role: Wire<team_member::TeamRole>,
    /// The fraction of a payment this member earns, as an exact decimal string
    /// (`"0.1"` is 10 %).
    pub commission_rate: DecimalString,
    /// Whether the member is still on the team (members who left stay, inactive).
    pub active: bool,
    /// IANA time zone.
    pub timezone: String,
    /// When the member was added.
    pub created_at: Timestamp,
    /// When the member last changed.
    pub updated_at: Timestamp,
}

impl From<&team_member::Model> for TeamMember {
    fn from(m: &team_member::Model) -> Self {
        let rate = CommissionRate::from_ppm(m.commission_rate_ppm)
            .map(CommissionRate::to_decimal)
            .unwrap_or_default();
        TeamMember {
            id: id(IdKind::TeamMember, m.id),
            name: m.name.clone(),
            email: m.email.clone(),
            role: Wire(m.role),
            commission_rate: DecimalString::from_decimal(rate),
            active: m.active,
            timezone: m.timezone.clone(),
            created_at: Timestamp::from_utc(m.created_at),
            updated_at: Timestamp::from_utc(m.updated_at),
        }
    }
}

/// One stretch of bookable time in a week, in the link's time zone.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeeklyInterval {
    pub day: Wire<Weekday>,
    /// `HH:MM`, 24-hour.
    pub start: String,
    /// `HH:MM`, 24-hour.
    pub end: String,
}

/// A link's weekly hours as stored (validated when written).
pub fn weekly_hours(stored: &serde_json::Value) -> Vec<WeeklyInterval> {
    serde_json::from_value::<Vec<WeeklyIntervalJson>>(stored.clone())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| {
            Some(WeeklyInterval {
                day: Wire(Weekday::from_wire(&i.day)?),
                start: i.start,
                end: i.end,
            })
        })
        .collect()
}

/// A question a booking link's form asks beside name, e-mail and phone.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingQuestion {
    /// The answer's key in the booking's `answers`.
    pub key: String,
    /// What the booker sees.
    pub label: String,
    /// Whether a booking needs an answer.
    pub required: bool,
    /// A text area instead of one line.
    pub multiline: bool,
}

/// A link's questions as stored (validated when written).
pub fn booking_questions(stored: &serde_json::Value) -> Vec<BookingQuestion> {
    crate::domain::booking_form::BookingForm::from_json(stored)
        .questions()
        .iter()
        .map(|q| BookingQuestion {
            key: q.key.clone(),
            label: q.label.clone(),
            required: q.required,
            multiline: q.multiline,
        })
        .collect()
}

/// A bookable calendar: widgets show its free slots and book calls through it.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[oai(example)]
pub struct BookingLink {
    /// `bl_…`
    pub id: String,
    /// Unique across Aura; widgets address the link by it.
    pub slug: String,
    /// What the booking page calls it.
    pub name: String,
    /// The team member whose calendar the link books (`tm_…`).
    pub owner_id: String,
    /// How long a booked call lasts.
    pub duration_minutes: i32,
    /// IANA time zone the weekly hours are written in.
    pub timezone: String,
    /// When in the week it can be booked.
    pub weekly_hours: Vec<WeeklyInterval>,
    /// Minutes kept free after each call.
    pub buffer_minutes: i32,
    /// How far ahead a slot must be booked, in minutes.
    pub min_notice_minutes: i32,
    /// How many days ahead slots are offered.
    pub horizon_days: i32,
    /// What the booking form asks beside name, e-mail and phone.
    pub questions: Vec<BookingQuestion>,
    /// Whether it takes bookings.
    pub active: bool,
    /// When the link was created.
    pub created_at: Timestamp,
    /// When the link last changed.
    pub updated_at: Timestamp,
}

impl From<&booking_link::Model> for BookingLink {
    fn from(m: &booking_link::Model) -> Self {
        BookingLink {
            id: id(IdKind::BookingLink, m.id),
            slug: m.slug.clone(),
            name: m.name.clone(),
            owner_id: id(IdKind::TeamMember, m.owner_id),
            duration_minutes: m.duration_minutes,
            timezone: m.timezone.clone(),
            weekly_hours: weekly_hours(&m.weekly_hours),
            buffer_minutes: m.buffer_minutes,
            min_notice_minutes: m.min_notice_minutes,
            horizon_days: m.horizon_days,
            questions: booking_questions(&m.questions),
            active: m.active,
            created_at: Timestamp::from_utc(m.created_at),
            updated_at: Timestamp::from_utc(m.updated_at),
        }
    }
}

/// Something the team sells.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[oai(example)]
pub struct Product {
    /// `prod_…`
    pub id: String,
    /// The product's name.
    pub name: String,
    /// What the product is.
    pub description: Option<String>,
    /// Price in minor units of `currency` (cents for USD).
    pub price_amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    pub billing: Wire<product::Billing>,
    /// Whether it is still sold.
    pub active: bool,
    /// When the product was added.
    pub created_at: Timestamp,
    /// When the product last changed.
    pub updated_at: Timestamp,
}

impl From<&product::Model> for Product {
    fn from(m: &product::Model) -> Self {
        Product {
            id: id(IdKind::Product, m.id),
            name: m.name.clone(),
            description: m.description.clone(),
            price_amount: m.price_amount,
            currency: m.currency.clone(),
            billing: Wire(m.billing),
            active: m.active,
            created_at: Timestamp::from_utc(m.created_at),
            updated_at: Timestamp::from_utc(m.updated_at),
        }
    }
}

/// What a payment earns one team member.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commission {
    /// `tm_…`
    pub team_member_id: String,
    /// Whether the member closed or set the sale.
    pub role: Wire<Participation>,
    /// The member's rate when the payment was paid.
    pub rate: DecimalString,
    /// `amount × rate` in whole minor units of `currency`, rounded half to even (banker's
    /// rounding); 0 unless the payment succeeded.
    pub amount: i64,
    /// The same amount exactly, in minor units, as a decimal string (`"12462.5"`).
    pub amount_decimal: DecimalString,
    /// ISO 4217 code of the payment.
    pub currency: String,
}

impl From<&commission::Commission> for Commission {
    fn from(c: &commission::Commission) -> Self {
        Commission {
            team_member_id: id(IdKind::TeamMember, c.team_member_id),
            role: Wire(match c.side {
                Side::Closer => Participation::Closer,
                Side::Setter => Participation::Setter,
            }),
            rate: DecimalString::from_decimal(c.rate.to_decimal()),
            amount: c.whole_amount(),
            amount_decimal: DecimalString::from_decimal(c.amount),
            currency: c.currency.clone(),
        }
    }
}

/// Money received from a lead.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[oai(example)]
pub struct Payment {
    /// `pay_…`
    pub id: String,
    /// `lead_…`
    pub lead_id: String,
    /// The product paid for (`prod_…`).
    pub product_id: Option<String>,
    /// Who closed the sale (`tm_…`).
    pub closer_id: Option<String>,
    /// Who set the sale up (`tm_…`).
    pub setter_id: Option<String>,
    /// Minor units of `currency` (cents for USD).
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    pub status: Wire<payment::PaymentStatus>,
    /// `stripe`, `paypal`, `wire`, …
    pub processor: String,
    /// The processor's own id for the payment.
    pub external_id: Option<String>,
    /// When the money arrived; null unless it succeeded.
    pub paid_at: Option<Timestamp>,
    /// What the payment earns its closer and setter.
    pub commissions: Vec<Commission>,
    /// When the payment was recorded.
    pub created_at: Timestamp,
    /// When the payment last changed.
    pub updated_at: Timestamp,
}

impl From<&payment::Model> for Payment {
    fn from(m: &payment::Model) -> Self {
        Payment {
            id: id(IdKind::Payment, m.id),
            lead_id: id(IdKind::Lead, m.lead_id),
            product_id: optional_id(IdKind::Product, m.product_id),
            closer_id: optional_id(IdKind::TeamMember, m.closer_id),
            setter_id: optional_id(IdKind::TeamMember, m.setter_id),
            amount: m.amount,
            currency: m.currency.clone(),
            status: Wire(m.status),
            processor: m.processor.clone(),
            external_id: m.external_id.clone(),
            paid_at: Timestamp::optional(m.paid_at),
            commissions: commission::of_payment(m)
                .iter()
                .map(Commission::from)
                .collect(),
            created_at: Timestamp::from_utc(m.created_at),
            updated_at: Timestamp::from_utc(m.updated_at),
        }
    }
}

/// Commissions earned in one currency over a period.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[oai(example)]
pub struct CommissionTotal {
    /// ISO 4217 code.
    pub currency: String,
    /// Whole minor units of `currency`, rounded half to even.
    pub amount: i64,
    /// The same total exactly, in minor units, as a decimal string.
    pub amount_decimal: DecimalString,
    /// Succeeded payments counted.
    pub payments: i64,
}

impl From<&commission::EarnedTotal> for CommissionTotal {
    fn from(t: &commission::EarnedTotal) -> Self {
        CommissionTotal {
            currency: t.currency.clone(),
            amount: commission::whole_minor_units(t.amount),
            amount_decimal: DecimalString::from_decimal(t.amount),
            payments: t.payments,
        }
    }
}

fn ts(text: &str) -> Timestamp {
    Timestamp(text.to_owned())
}

// The examples are records of the demo organization (`aura demo`, `aura serve --demo`),
// whose ids do not depend on the day it is seeded (`seed.rs`); their timestamps are those
// of a demo seeded on 2026-12-01. `tests/api/contract.rs` checks that the ids exist in a
// fresh demo.
pub const EXAMPLE_LEAD_ID: &str = "lead_01m434fkz0fmd8gw1mkwp861jb";
pub const EXAMPLE_CALL_ID: &str = "call_01m45kefb0f79thxqjc2g52zv2";
pub const EXAMPLE_TEAM_MEMBER_ID: &str = "tm_01kz66waw0fvysb0bty036bkmr";
pub const EXAMPLE_SETTER_ID: &str = "tm_01kz9z1hr0f07vnjk14gzbxvdk";
pub const EXAMPLE_BOOKING_LINK_ID: &str = "bl_01m0p5h780fnvsnswbc77sk9cf";
pub const EXAMPLE_PRODUCT_ID: &str = "prod_01kzw6pa00e3c9mn9c72rdrrj6";
pub const EXAMPLE_PAYMENT_ID: &str = "pay_01m4fzyze0fvd9vfn60w7by57d";

/// The example id of a resource (a demo record's, for the six resources the demo seeds).
pub fn example_id(kind: IdKind) -> Option<&'static str> {
    Some(match kind {
        IdKind::Lead => EXAMPLE_LEAD_ID,
        IdKind::Call => EXAMPLE_CALL_ID,
        IdKind::TeamMember => EXAMPLE_TEAM_MEMBER_ID,
        IdKind::BookingLink => EXAMPLE_BOOKING_LINK_ID,
        IdKind::Product => EXAMPLE_PRODUCT_ID,
        IdKind::Payment => EXAMPLE_PAYMENT_ID,
        IdKind::Webhook => super::webhooks::EXAMPLE_WEBHOOK_ID,
        IdKind::Delivery => super::webhooks::EXAMPLE_DELIVERY_ID,
        IdKind::Event => super::event::EXAMPLE_EVENT_ID,
        IdKind::ApiKey | IdKind::Organization => return None,
    })
}

impl Example for CommissionTotal {
    fn example() -> Self {
        CommissionTotal {
            currency: "USD".into(),
            amount: 249_888,
            amount_decimal: DecimalString("249887.5".into()),
            payments: 8,
        }
    }
}

impl Example for Lead {
    fn example() -> Self {
        Lead {
            id: EXAMPLE_LEAD_ID.into(),
            name: "Lucas Haddad".into(),
            email: Some("lucas.haddad180@example.com".into()),
            phone: Some("+15552945250".into()),
            source: Some("google_ads".into()),
            status: Wire(lead::LeadStatus::Won),
            assigned_team_member_id: Some(EXAMPLE_TEAM_MEMBER_ID.into()),
            utm: Utm {
                source: Some("google_ads".into()),
                medium: Some("cpc".into()),
                campaign: Some("q4_scale".into()),
                term: None,
                content: Some("ad_4".into()),
            },
            custom_fields: serde_json::json!({"budget": "10k_25k", "team_size": "2_10"}),
            created_at: ts("2026-10-04T09:38:52Z"),
            updated_at: ts("2026-10-05T15:38:52Z"),
        }
    }
}

impl Example for Call {
    fn example() -> Self {
        Call {
            id: EXAMPLE_CALL_ID.into(),
            lead_id: EXAMPLE_LEAD_ID.into(),
            closer_id: Some(EXAMPLE_TEAM_MEMBER_ID.into()),
            setter_id: None,
            booking_link_id: Some(EXAMPLE_BOOKING_LINK_ID.into()),
            scheduled_at: ts("2026-10-09T08:30:00Z"),
            duration_minutes: 45,
            status: Wire(call::CallStatus::Completed),
            outcome: Some("closed_won".into()),
            notes: Some("Discussed goals, budget and timeline.".into()),
            created_at: ts("2026-10-05T08:38:52Z"),
            updated_at: ts("2026-10-09T08:30:00Z"),
        }
    }
}

impl Example for TeamMember {
    fn example() -> Self {
        TeamMember {
            id: EXAMPLE_TEAM_MEMBER_ID.into(),
            name: "Riley Chen".into(),
            email: "riley.chen@demo.aura-app.ai".into(),
            role: Wire(team_member::TeamRole::Closer),
            commission_rate: DecimalString("0.125".into()),
            active: true,
            timezone: "America/Chicago".into(),
            created_at: ts("2026-08-04T11:00:00Z"),
            updated_at: ts("2026-08-04T11:00:00Z"),
        }
    }
}

impl Example for BookingLink {
    fn example() -> Self {
        BookingLink {
            id: EXAMPLE_BOOKING_LINK_ID.into(),
            slug: "demo-vip-consult".into(),
            name: "VIP Consultation".into(),
            owner_id: EXAMPLE_TEAM_MEMBER_ID.into(),
            duration_minutes: 60,
            timezone: "America/New_York".into(),
            weekly_hours: [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ]
            .into_iter()
            .map(|day| WeeklyInterval {
                day: Wire(day),
                start: "12:00".into(),
                end: "16:00".into(),
            })
            .collect(),
            buffer_minutes: 15,
            min_notice_minutes: 240,
            horizon_days: 30,
            questions: vec![BookingQuestion {
                key: "goal".into(),
                label: "What would you like to get out of this call?".into(),
                required: false,
                multiline: true,
            }],
            active: true,
            created_at: ts("2026-08-23T02:00:00Z"),
            updated_at: ts("2026-08-23T02:00:00Z"),
        }
    }
}

impl Example for Product {
    fn example() -> Self {
        Product {
            id: EXAMPLE_PRODUCT_ID.into(),
            name: "Sales Accelerator Program".into(),
            description: Some("Eight-week group program with weekly live calls.".into()),
            price_amount: 499_700,
            currency: "USD".into(),
            billing: Wire(product::Billing::OneTime),
            active: true,
            created_at: ts("2026-08-13T00:00:00Z"),
            updated_at: ts("2026-08-13T00:00:00Z"),
        }
    }
}

impl Example for Payment {
    fn example() -> Self {
        Payment {
            id: EXAMPLE_PAYMENT_ID.into(),
            lead_id: EXAMPLE_LEAD_ID.into(),
            product_id: Some(EXAMPLE_PRODUCT_ID.into()),
            closer_id: Some(EXAMPLE_TEAM_MEMBER_ID.into()),
            setter_id: Some(EXAMPLE_SETTER_ID.into()),
            amount: 499_700,
            currency: "USD".into(),
            status: Wire(payment::PaymentStatus::Succeeded),
            processor: "stripe".into(),
            external_id: Some("pi_4bee40aa591ee870".into()),
            paid_at: Some(ts("2026-10-09T09:30:00Z")),
            commissions: vec![
                Commission {
                    team_member_id: EXAMPLE_TEAM_MEMBER_ID.into(),
                    role: Wire(Participation::Closer),
                    rate: DecimalString("0.125".into()),
                    amount: 62_462,
                    amount_decimal: DecimalString("62462.5".into()),
                    currency: "USD".into(),
                },
                Commission {
                    team_member_id: EXAMPLE_SETTER_ID.into(),
                    role: Wire(Participation::Setter),
                    rate: DecimalString("0.035".into()),
                    amount: 17_490,
                    amount_decimal: DecimalString("17489.5".into()),
                    currency: "USD".into(),
                },
            ],
            created_at: ts("2026-10-09T09:30:00Z"),
            updated_at: ts("2026-10-09T09:30:00Z"),
        }
    }
}

//! `BookingLink`: a bookable calendar, its calls as a connection, and its filter.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entities::{booking_link, call};
use sea_orm::{ColumnTrait, QueryFilter, Select};

use super::call::Call;
use super::team_member::TeamMember;
use super::{TimeRange, parse_id, public_id};
use crate::db::page::Cursor;
use crate::domain::Scope;
use crate::graphql::enums::Gql;
use crate::graphql::pagination::PageConnection;
use crate::graphql::scalars::DateTime;
use crate::ids::IdKind;
use crate::views::enums::Weekday;

/// A bookable calendar: widgets show its free slots and book calls through it.
pub struct BookingLink(pub booking_link::Model);

/// One stretch of bookable time in a week, in the link's time zone.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct WeeklyInterval {
    /// The day of the week.
    pub day: Gql<Weekday>,
    /// `HH:MM`, 24-hour.
    pub start: String,
    /// `HH:MM`, 24-hour, after `start`.
    pub end: String,
}

/// A question the booking form asks beside name, e-mail and phone.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct BookingQuestion {
    /// The answer's key in `bookCall(answers:)`.
    pub key: String,
    /// What the booker sees.
    pub label: String,
    /// Whether a booking needs a non-blank answer.
    pub required: bool,
    /// A text area instead of one line.
    pub multiline: bool,
}

/// A link's weekly hours as stored.
pub fn weekly_hours(stored: &serde_json::Value) -> Vec<WeeklyInterval> {
    crate::views::resources::weekly_hours(stored)
        .into_iter()
        .map(|i| WeeklyInterval {
            day: Gql(i.day.get()),
            start: i.start,
            end: i.end,
        })
        .collect()
}

/// A link's questions as stored.
pub fn questions(stored: &serde_json::Value) -> Vec<BookingQuestion> {
    crate::views::resources::booking_questions(stored)
        .into_iter()
        .map(|q| BookingQuestion {
            key: q.key,
            label: q.label,
            required: q.required,
            multiline: q.multiline,
        })
        .collect()
}

/// A bookable calendar: widgets show its free slots and book calls through it.
#[Object(serial)]
impl BookingLink {
    /// `bl_…`
    pub async fn id(&self) -> ID {
        public_id(IdKind::BookingLink, self.0.id)
    }
    /// Unique across Aura; the widget addresses the link by it.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// What the booking page calls it.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The team member whose calendar the link books (`tm_…`).
    async fn owner_id(&self) -> ID {
        public_id(IdKind::TeamMember, self.0.owner_id)
    }
    /// The team member whose calendar the link books. Needs `team:read`.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<TeamMember>> {
        super::member(ctx, Some(self.0.owner_id)).await
    }
    /// How long a booked call lasts.
    async fn duration_minutes(&self) -> i32 {
        self.0.duration_minutes
    }
    /// IANA time zone the weekly hours are written in.
    async fn timezone(&self) -> &str {
        &self.0.timezone
    }
    /// When in the week it can be booked.
    async fn weekly_hours(&self) -> Vec<WeeklyInterval> {
        weekly_hours(&self.0.weekly_hours)
    }
    /// Minutes kept free after each call.
    async fn buffer_minutes(&self) -> i32 {
        self.0.buffer_minutes
    }
    /// How far ahead of a slot it must be booked.
    async fn min_notice_minutes(&self) -> i32 {
        self.0.min_notice_minutes
    }
    /// How many days ahead slots are offered.
    async fn horizon_days(&self) -> i32 {
        self.0.horizon_days
    }
    /// What the booking form asks beside name, e-mail and phone.
    async fn questions(&self) -> Vec<BookingQuestion> {
        questions(&self.0.questions)
    }
    /// Whether it takes bookings.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Calls booked through this link, newest first. Needs `calls:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn calls(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25, desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<PageConnection<Call>> {
        super::children(
            ctx,
            Scope::CallsRead,
            |l| &l.calls_by_booking_link,
            self.0.id,
            first,
            after,
            Cursor::of::<call::Entity>,
            Call::from,
        )
        .await
    }
    /// When the link was created.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When the link last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
}

/// Narrows `bookingLinks`: every field given must match.
#[derive(InputObject, Default)]
pub struct BookingLinkFilter {
    #[graphql(flatten)]
    pub time: TimeRange,
    /// Only links owned by this team member (`tm_…`).
    pub owner_id: Option<ID>,
    /// Only links that take bookings (`true`) or not (`false`).
    pub active: Option<bool>,
}

impl BookingLinkFilter {
    pub fn apply(
        self,
        mut select: Select<booking_link::Entity>,
    ) -> crate::error::AppResult<Select<booking_link::Entity>> {
        select = self.time.apply(select);
        if let Some(id) = &self.owner_id {
            let id = parse_id(IdKind::TeamMember, "ownerId", id)?;
            select = select.filter(booking_link::Column::OwnerId.eq(id));
        }
        if let Some(active) = self.active {
            select = select.filter(booking_link::Column::Active.eq(active));
        }
        Ok(select)
    }
}

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entities::booking_link;
use sea_orm::{ColumnTrait, QueryFilter, Select};

use super::call::Call;
use super::team_member::TeamMember;
use super::{TimeRange, parse_id, public_id};
use crate::domain::Scope;
use crate::graphql::scalars::DateTime;
use crate::ids::IdKind;

/// A bookable calendar: widgets show its free slots and book calls through it.
pub struct BookingLink(pub booking_link::Model);

/// One stretch of bookable time in a week, in the link's time zone.
#[derive(SimpleObject, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WeeklyInterval {
    /// `mon`, `tue`, `wed`, `thu`, `fri`, `sat` or `sun`.
    pub day: String,
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

#[Object(serial)]
impl BookingLink {
    pub async fn id(&self) -> ID {
        public_id(IdKind::BookingLink, self.0.id)
    }
    /// Unique across Aura; the widget addresses the link by it.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn owner_id(&self) -> ID {
        public_id(IdKind::TeamMember, self.0.owner_id)
    }
    /// The team member whose calendar the link books. Needs `team:read`.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<TeamMember>> {
        super::member(ctx, Some(self.0.owner_id)).await
    }
    async fn duration_minutes(&self) -> i32 {
        self.0.duration_minutes
    }
    /// IANA time zone the weekly hours are written in.
    async fn timezone(&self) -> &str {
        &self.0.timezone
    }
    async fn weekly_hours(&self) -> Vec<WeeklyInterval> {
        serde_json::from_value(self.0.weekly_hours.clone()).unwrap_or_default()
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
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Calls booked through this link, newest first. Needs `calls:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn calls(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25)] first: i32,
    ) -> Result<Vec<Call>> {
        super::children(
            ctx,
            Scope::CallsRead,
            |l| &l.calls_by_booking_link,
            self.0.id,
            first,
            Call::from,
        )
        .await
    }
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
}

#[derive(InputObject, Default)]
pub struct BookingLinkFilter {
    #[graphql(flatten)]
    pub time: TimeRange,
    pub owner_id: Option<ID>,
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

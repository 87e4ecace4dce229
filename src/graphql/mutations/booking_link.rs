//! `createBookingLink`, `updateBookingLink`: the calendars widgets book. Slugs are unique
//! across Aura (widgets address a link by slug alone); the database's unique constraint
//! decides, so two admins racing for one slug get one link and one CONFLICT. Changes
//! apply to bookings made from then on; calls already booked keep their time and hold.

use async_graphql::{Context, ID, InputObject, Object, Result};

use crate::domain::booking_form::QuestionInput;
use crate::graphql::context::{actor, core};
use crate::graphql::enums::Gql;
use crate::graphql::resources::booking_link::BookingLink;
use crate::services::booking_links::{self, BookingLinkChanges, NewBookingLink};
use crate::views::WireEnum;
use crate::views::enums::Weekday;

/// One stretch of bookable time in a week, in the link's time zone.
#[derive(InputObject)]
pub struct WeeklyIntervalInput {
    /// The day of the week.
    pub day: Gql<Weekday>,
    /// `HH:MM`, 24-hour, on a 5-minute grid.
    pub start: String,
    /// `HH:MM` after `start`, or `24:00`.
    pub end: String,
}

/// A question for the booking form.
#[derive(InputObject)]
pub struct BookingQuestionInput {
    /// The answer's key in `bookCall(answers:)`: 1 to 40 lower-case letters, digits and
    /// `_`, starting with a letter, unique within the link.
    pub key: String,
    /// What the booker sees, 1 to 200 characters.
    pub label: String,
    /// Whether a booking needs a non-blank answer; `false` when omitted.
    pub required: Option<bool>,
    /// A text area instead of one line; `false` when omitted.
    pub multiline: Option<bool>,
}

/// A new booking link.
#[derive(InputObject)]
pub struct CreateBookingLinkInput {
    /// Unique across Aura: 2 to 64 lower-case letters, digits and single hyphens.
    pub slug: String,
    /// 1 to 200 characters.
    pub name: String,
    /// The active team member whose calendar the link books.
    pub owner_id: ID,
    /// A multiple of 5 between 5 and 480.
    pub duration_minutes: i32,
    /// IANA time zone the weekly hours are written in.
    pub timezone: String,
    /// Non-overlapping intervals; none at all means nothing can be booked.
    pub weekly_hours: Vec<WeeklyIntervalInput>,
    /// Kept free after each call: a multiple of 5 up to 240; 0 when omitted.
    pub buffer_minutes: Option<i32>,
    /// How long before a slot it must be booked, up to 43,200 (30 days); 0 when omitted.
    pub min_notice_minutes: Option<i32>,
    /// How many days ahead slots are offered, 1 to 365; 60 when omitted.
    pub horizon_days: Option<i32>,
    /// At most 20 questions beside name, e-mail and phone; none when omitted.
    pub questions: Option<Vec<BookingQuestionInput>>,
    /// `true` when omitted.
    pub active: Option<bool>,
}

/// Changes to a booking link. Omitted fields keep their value.
#[derive(InputObject)]
pub struct UpdateBookingLinkInput {
    /// A new slug; the old one stops working at once.
    pub slug: Option<String>,
    /// A new name, 1 to 200 characters.
    pub name: Option<String>,
    /// New bookings go to this member's calendar.
    pub owner_id: Option<ID>,
    /// A multiple of 5 between 5 and 480, for calls booked from now on.
    pub duration_minutes: Option<i32>,
    /// IANA time zone the weekly hours are written in.
    pub timezone: Option<String>,
    /// Replaces all the weekly hours.
    pub weekly_hours: Option<Vec<WeeklyIntervalInput>>,
    /// Kept free after each call: a multiple of 5 up to 240.
    pub buffer_minutes: Option<i32>,
    /// How long before a slot it must be booked, up to 43,200 (30 days).
    pub min_notice_minutes: Option<i32>,
    /// How many days ahead slots are offered, 1 to 365.
    pub horizon_days: Option<i32>,
    /// Replaces every question; calls already booked keep their answers.
    pub questions: Option<Vec<BookingQuestionInput>>,
    /// `false` takes the link off the web: widgets get NOT_FOUND.
    pub active: Option<bool>,
}

#[derive(Default)]
pub struct BookingLinkMutation;

#[Object]
impl BookingLinkMutation {
    /// Creates a booking link on a team member's calendar. A slug already used anywhere in
    /// Aura is CONFLICT. Records `booking_link.created`. Organization admins (Clerk) only.
    async fn create_booking_link(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The booking link to create.")] input: CreateBookingLinkInput,
    ) -> Result<BookingLink> {
        let input = NewBookingLink {
            slug: input.slug,
            name: input.name,
            owner_id: input.owner_id.0,
            duration_minutes: input.duration_minutes,
            timezone: input.timezone,
            weekly_hours: hours(input.weekly_hours),
            buffer_minutes: input.buffer_minutes,
            min_notice_minutes: input.min_notice_minutes,
            horizon_days: input.horizon_days,
            questions: input.questions.map(questions),
            active: input.active,
        };
        Ok(BookingLink(
            booking_links::create(&core(ctx).db, actor(ctx)?, input).await?,
        ))
    }

    /// Changes a link's slug, owner, hours, duration, buffer, notice, horizon, or takes
    /// it off the web. Records `booking_link.updated` when something changed.
    /// Organization admins (Clerk) only.
    async fn update_booking_link(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The booking link's id (`bl_…`).")] id: ID,
        #[graphql(desc = "What to change; omitted fields keep their value.")]
        input: UpdateBookingLinkInput,
    ) -> Result<BookingLink> {
        let changes = BookingLinkChanges {
            slug: input.slug,
            name: input.name,
            owner_id: input.owner_id.map(|id| id.0),
            duration_minutes: input.duration_minutes,
            timezone: input.timezone,
            weekly_hours: input.weekly_hours.map(hours),
            buffer_minutes: input.buffer_minutes,
            min_notice_minutes: input.min_notice_minutes,
            horizon_days: input.horizon_days,
            questions: input.questions.map(questions),
            active: input.active,
        };
        Ok(BookingLink(
            booking_links::update(&core(ctx).db, actor(ctx)?, id.as_str(), changes).await?,
        ))
    }
}

fn hours(items: Vec<WeeklyIntervalInput>) -> Vec<booking_links::WeeklyIntervalInput> {
    items
        .into_iter()
        .map(|i| booking_links::WeeklyIntervalInput {
            day: i.day.get().wire_name().to_owned(),
            start: i.start,
            end: i.end,
        })
        .collect()
}

fn questions(items: Vec<BookingQuestionInput>) -> Vec<QuestionInput> {
    items
        .into_iter()
        .map(|q| QuestionInput {
            key: q.key,
            label: q.label,
            required: q.required,
            multiline: q.multiline,
        })
        .collect()
}

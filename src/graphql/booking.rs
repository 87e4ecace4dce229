//! The public booking operations: adapters over `services::booking`. They need no
//! credential: a widget runs in a stranger's browser. They expose only what a booking page
//! shows, never internal ids or other data.

use async_graphql::{Context, Json, Object, Result, SimpleObject};
use chrono::Duration;
use entities::booking_link;

use super::context::core;
use super::enums::Gql;
use super::mutations::lead::UtmInput;
use super::resources::booking_link::{BookingQuestion, WeeklyInterval, questions, weekly_hours};
use super::scalars::DateTime;
use crate::domain::text::timezone as parse_zone;
use crate::services::booking::{self as service, BookerInput, Booking};

/// What a booking page shows about a link.
pub struct PublicBookingLink(pub booking_link::Model);

/// What a booking page shows about an active booking link (no internal ids).
#[Object]
impl PublicBookingLink {
    /// The link's slug (`/book/{slug}`).
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// What the booking page calls it.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// How long a booked call lasts.
    async fn duration_minutes(&self) -> i32 {
        self.0.duration_minutes
    }
    /// IANA time zone the link's hours are written in.
    async fn timezone(&self) -> &str {
        &self.0.timezone
    }
    /// When in the week it can be booked, in `timezone`.
    async fn weekly_hours(&self) -> Vec<WeeklyInterval> {
        weekly_hours(&self.0.weekly_hours)
    }
    /// How far ahead a slot must be booked, in minutes.
    async fn min_notice_minutes(&self) -> i32 {
        self.0.min_notice_minutes
    }
    /// How many days ahead slots are offered.
    async fn horizon_days(&self) -> i32 {
        self.0.horizon_days
    }
    /// What the booking form asks beside name, e-mail and phone; answers go in
    /// `bookCall(answers:)` under each question's `key`.
    async fn questions(&self) -> Vec<BookingQuestion> {
        questions(&self.0.questions)
    }
}

/// A bookable start time.
#[derive(SimpleObject)]
pub struct AvailableSlot {
    /// When the call would start: pass it to `bookCall(start:)`.
    pub start: DateTime,
    /// When the call would end.
    pub end: DateTime,
    /// `start` in the requested time zone, RFC 3339 with its offset, for display.
    pub local_start: String,
}

/// A call booked through a public link, as the booker may see it.
#[derive(SimpleObject)]
pub struct PublicBooking {
    /// When the call starts.
    pub start: DateTime,
    /// When the call ends.
    pub end: DateTime,
    /// `SCHEDULED` or `CANCELED`.
    pub status: super::resources::call::CallStatus,
    /// The link it was booked through.
    pub booking_link: PublicBookingLinkRef,
    /// Reschedules or cancels this booking; returned only by `bookCall`. Keep it secret.
    pub token: Option<String>,
}

/// The link a booking belongs to.
#[derive(SimpleObject)]
pub struct PublicBookingLinkRef {
    /// The link's slug.
    pub slug: String,
    /// What the booking page calls it.
    pub name: String,
    /// IANA time zone of the link.
    pub timezone: String,
    /// The link's call length now (the booking's own is `end - start`).
    pub duration_minutes: i32,
}

impl From<Booking> for PublicBooking {
    fn from(booking: Booking) -> Self {
        let start = booking.call.scheduled_at;
        PublicBooking {
            start: DateTime(start),
            end: DateTime(start + Duration::minutes(i64::from(booking.call.duration_minutes))),
            status: Gql(booking.call.status),
            booking_link: PublicBookingLinkRef {
                slug: booking.link.slug,
                name: booking.link.name,
                timezone: booking.link.timezone,
                duration_minutes: booking.link.duration_minutes,
            },
            token: booking.token,
        }
    }
}

#[derive(Default)]
pub struct PublicBookingQuery;

#[Object]
impl PublicBookingQuery {
    /// An active booking link by its slug, as a booking widget shows it. No credential
    /// needed. (`bookingLink(id:)` is the authenticated view.)
    async fn public_booking_link(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The link's slug, as in `/book/{slug}`.")] slug: String,
    ) -> Result<PublicBookingLink> {
        Ok(PublicBookingLink(
            service::active_link(core(ctx).db.conn(), &slug).await?,
        ))
    }

    /// A booking by its token (from `bookCall`), as its booker may see it: for a page
    /// that shows, moves or cancels it. No credential needed: the token is the credential.
    async fn public_booking(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token `bookCall` returned.")] token: String,
    ) -> Result<PublicBooking> {
        Ok(service::find(&core(ctx).db, &token).await?.into())
    }

    /// Free start times of an active link between `from` and `to` (at most 31 days apart),
    /// honouring its weekly hours in its own time zone, duration, buffer, minimum notice,
    /// horizon and its owner's calendar. `timezone` only changes `localStart`. No
    /// credential needed.
    async fn available_slots(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The link's slug.")] slug: String,
        #[graphql(desc = "The first instant to look from.")] from: DateTime,
        #[graphql(desc = "The instant to look until, at most 31 days after `from`.")] to: DateTime,
        #[graphql(desc = "IANA time zone for `localStart`; the link's own when omitted.")]
        timezone: Option<String>,
    ) -> Result<Vec<AvailableSlot>> {
        service::check_range(from.0, to.0)?;
        let db = core(ctx).db.conn();
        let link = service::active_link(db, &slug).await?;
        let display = match &timezone {
            Some(name) => parse_zone("timezone", name)?,
            None => parse_zone("timezone", &link.timezone)?,
        };
        let duration = Duration::minutes(i64::from(link.duration_minutes));
        let starts = service::slots(db, &link, from.0, to.0, crate::time::now()).await?;
        Ok(starts
            .into_iter()
            .map(|start| AvailableSlot {
                start: DateTime(start),
                end: DateTime(start + duration),
                local_start: start.with_timezone(&display).to_rfc3339(),
            })
            .collect())
    }
}

#[derive(Default)]
pub struct BookingMutation;

#[Object]
impl BookingMutation {
    /// Books a call at a free `start` of an active link: reuses the organization's lead
    /// with this e-mail or creates one, in one transaction with the call. A start that is
    /// not free (taken, or off the link's hours) is CONFLICT. Returns the booker's token
    /// for `rescheduleBooking` and `cancelBooking`. No credential needed.
    #[allow(clippy::too_many_arguments)]
    async fn book_call(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The link's slug.")] slug: String,
        #[graphql(desc = "A `start` from `availableSlots`.")] start: DateTime,
        #[graphql(desc = "The booker's name, 1 to 200 characters.")] name: String,
        #[graphql(desc = "The booker's e-mail address; an existing lead with it is reused.")]
        email: String,
        #[graphql(desc = "The booker's phone number.")] phone: Option<String>,
        #[graphql(desc = "Answers to the booking form, as a JSON object.")] answers: Option<
            Json<serde_json::Value>,
        >,
        #[graphql(
            desc = "Marketing attribution from the page the booking came from, kept on the lead."
        )]
        utm: Option<UtmInput>,
    ) -> Result<PublicBooking> {
        let booker = BookerInput {
            name,
            email,
            phone,
            answers: answers.map(|a| a.0),
            utm: utm.map(Into::into),
        };
        let booking =
            service::book(&core(ctx).db, &slug, start.0, booker, crate::time::now()).await?;
        Ok(booking.into())
    }

    /// Moves a booking to another free start of its link. No credential needed: the token
    /// from `bookCall` is the credential.
    async fn reschedule_booking(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token `bookCall` returned.")] token: String,
        #[graphql(desc = "A free `start` of the same link.")] start: DateTime,
    ) -> Result<PublicBooking> {
        let booking =
            service::reschedule(&core(ctx).db, &token, start.0, crate::time::now()).await?;
        Ok(booking.into())
    }

    /// Cancels a booking and frees its time. Cancelling twice is harmless.
    async fn cancel_booking(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token `bookCall` returned.")] token: String,
        #[graphql(desc = "Why, at most 1000 characters; added to the call's notes.")]
        reason: Option<String>,
    ) -> Result<PublicBooking> {
        let booking = service::cancel(&core(ctx).db, &token, reason.as_deref()).await?;
        Ok(booking.into())
    }
}

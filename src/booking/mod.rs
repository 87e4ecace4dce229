//! Booking, beyond what the services do: the calendar file a booker downloads for their
//! booking (`ics`).

pub mod ics;

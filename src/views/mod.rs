//! Wire objects: plain serde structs (with their OpenAPI schemas) built from entity models.
//! They are the single source of a REST object's shape, of a webhook's `data` and of a
//! live event's payload, so all three always agree. Nothing here touches the database or
//! knows a transport.

pub mod enums;
pub mod error;
pub mod event;
pub mod resources;
pub mod scalars;
pub mod webhooks;

pub use enums::{ErrorCode, Participation, Wire, WireEnum};
pub use error::ErrorBody;
pub use event::{Event, EventSelector, EventSubject, EventType, WebhookPayload};
pub use resources::{
    BookingLink, Call, Commission, CommissionTotal, Lead, Payment, Product, TeamMember, Utm,
    WeeklyInterval,
};
pub use scalars::{DecimalString, Failed, Succeeded, Timestamp};
pub use webhooks::{
    Deleted, Delivery, DeliveryAttempt, Webhook, WebhookTestResult, WebhookWithSecret,
};

/// A view as the JSON a webhook or live event carries: exactly what REST returns for it.
pub fn to_json<T: poem_openapi::types::ToJSON>(view: &T) -> serde_json::Value {
    view.to_json().unwrap_or(serde_json::Value::Null)
}

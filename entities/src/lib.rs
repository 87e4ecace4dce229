//! sea-orm entities, one module per table. The migrations in `migration/` are the source
//! of truth; these mirror them. Enumerated columns are stored as short strings so that
//! SQLite and PostgreSQL hold the same values.

pub mod api_key;
pub mod booking_link;
pub mod calendar_hold;
pub mod call;
pub mod call_slot_claim;
pub mod commission_rate;
pub mod event;
pub mod idempotency_key;
pub mod lead;
pub mod organization;
pub mod payment;
pub mod product;
pub mod team_member;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_subscription;

pub mod prelude {
    pub use super::api_key::Entity as ApiKey;
    pub use super::booking_link::Entity as BookingLink;
    pub use super::call::Entity as Call;
    pub use super::lead::Entity as Lead;
    pub use super::organization::Entity as Organization;
    pub use super::payment::Entity as Payment;
    pub use super::product::Entity as Product;
    pub use super::team_member::Entity as TeamMember;
}

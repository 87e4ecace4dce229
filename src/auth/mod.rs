//! Authentication: who is calling, for which organization, with which scopes. An
//! [`Authenticator`] turns `Authorization: Bearer …` (an API key, or a Clerk session token,
//! see [`clerk`]) into the core's [`Actor`](crate::domain::Actor); the transports put that
//! actor in front of every operation. Knows no transport.

mod authenticator;
pub mod clerk;
pub mod key_cache;

pub use authenticator::{AuthPolicy, Authenticator};

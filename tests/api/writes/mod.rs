//! App writes over GraphQL: every mutation family for an organization admin, the role
//! matrix for members and API keys, validation naming fields, other organizations' ids
//! refused as NOT_FOUND, and each change's event in the `events` table.

mod booking_links;
mod calls;
mod leads;
mod payments;
mod products;
mod roles;
pub(crate) mod support;
mod team;
mod tenancy;

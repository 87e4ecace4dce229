//! The integration tests: one binary, each test with its own app and database.

mod clerk_support;
mod factory;
mod helpers;

mod api_keys;
mod auth;
#[cfg(feature = "bench")]
mod bench_routes;
mod booking;
mod bus;
mod clerk;
mod cli;
mod commissions;
mod contract;
mod errors;
mod faults;
mod graphql;
mod graphql_limits;
mod hardening;
mod health;
mod layers;
mod live;
mod metrics;
mod ratelimit;
mod rest;
mod schema;
mod scopes;
mod tenancy;
mod webhooks;
mod writes;

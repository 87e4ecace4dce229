//! The integration tests: one binary, each test with its own app and database.

mod factory;
mod helpers;

mod auth;
mod booking;
mod cli;
mod errors;
mod graphql;
mod health;
mod rest;
mod schema;
mod tenancy;

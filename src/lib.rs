//! Aura Partner API: a GraphQL-first API over a sales team's data, with a REST facade
//! for partners. See README.md for the shape of the code.

pub mod auth;
pub mod bench_routes;
pub mod booking;
pub mod cli;
pub mod commissions;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod ids;
pub mod live;
pub mod orgs;
pub mod ratelimit;
pub mod rest;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod time;
pub mod tls;
pub mod webhooks;

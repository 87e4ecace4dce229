//! Aura Partner API: a GraphQL-first API over a sales team's data, with a REST facade
//! for partners. The layers, bottom to top (each uses only those below it; a test,
//! `tests/api/layers.rs`, holds the rule):
//!
//! - `domain`, `ids`, `error`, `time`, `crypto`, `meter`, `db`: valid values, the actor,
//!   the one error type, the metric families, the database;
//! - `views`, `events`: wire objects and the transactional outbox;
//! - `services`: every rule, once;
//! - `auth`, `ratelimit`, `webhooks`, `booking`, `live`: capabilities over the core;
//! - `graphql`: the schema, the API's core, whose resolvers call services and loaders;
//! - `rest`, `http`: the REST facade and the HTTP edge;
//! - `startup`, `state`, `config`, `cli`, `seed`, `telemetry`: the process.

pub mod auth;
#[cfg(feature = "bench")]
pub mod bench_routes;
pub mod booking;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod ids;
pub mod live;
pub mod meter;
pub mod ratelimit;
pub mod rest;
pub mod seed;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod time;
pub mod views;
pub mod webhooks;

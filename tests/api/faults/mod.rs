//! Fault tests (issue 13, points 4–7): a database reset and outage, a Redis outage, and
//! SIGTERM under load, against real PostgreSQL (`TEST_DATABASE_URL`) and Redis processes.
//! The shared servers are never stopped or reconfigured: a database outage is a proxy the
//! test stops in front of its own fresh database (or backends of that database only,
//! terminated), and a Redis outage is a private `redis-server` the test starts and kills.

mod database;
mod readiness;
mod redis_outage;
mod shutdown;
mod support;

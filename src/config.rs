//! Settings. Every setting is a flag and an environment variable; a bad value stops the
//! process with a one-line reason before anything starts.

use std::net::SocketAddr;

use clap::Args;

use crate::telemetry::LogFormat;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://aura.db?mode=rwc";
/// Request bodies above this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What the server needs to run, independent of how it was given.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub bind: SocketAddr,
}

impl Config {
    /// A server on an ephemeral port over `database_url`, for tests and tools.
    pub fn ephemeral(database_url: &str) -> Self {
        Config {
            database_url: database_url.to_owned(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Database URL: `sqlite://path.db?mode=rwc` (embedded) or `postgres://user@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true, value_parser = parse_database_url)]
    pub database_url: String,
    /// Log format: `text` (readable) or `json`.
    #[arg(long, env = "AURA_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: LogFormat,
    /// Log filter, e.g. `info` or `aura=debug,info`.
    #[arg(long, env = "AURA_LOG", default_value = "info", global = true)]
    pub log: String,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "AURA_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Seed the demo organization if the database is empty, and print an API key for it.
    #[arg(long, env = "AURA_DEMO")]
    pub demo: bool,
}

impl ServeArgs {
    pub fn config(&self, global: &GlobalArgs) -> Config {
        Config {
            database_url: global.database_url.clone(),
            bind: self.bind,
        }
    }
}

fn parse_database_url(text: &str) -> Result<String, String> {
    let known = ["sqlite:", "postgres://", "postgresql://"];
    if known.iter().any(|prefix| text.starts_with(prefix)) {
        Ok(text.to_owned())
    } else {
        Err("expected sqlite:… or postgres://…".to_owned())
    }
}

/// Parses `30d`, `12h`, `90m` or `3600s`.
pub fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    let bad = || format!("`{text}` is not a duration like 30d, 12h, 90m or 3600s");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| bad())?;
    if number <= 0 {
        return Err(bad());
    }
    let duration = match unit {
        "d" => chrono::Duration::try_days(number),
        "h" => chrono::Duration::try_hours(number),
        "m" => chrono::Duration::try_minutes(number),
        "s" => chrono::Duration::try_seconds(number),
        _ => None,
    };
    duration.ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d").unwrap(), chrono::Duration::days(30));
        assert_eq!(
            parse_duration("90m").unwrap(),
            chrono::Duration::minutes(90)
        );
        for bad in ["", "d", "0d", "-1d", "5w", "1.5h", "99999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn database_urls() {
        assert!(parse_database_url("sqlite::memory:").is_ok());
        assert!(parse_database_url("postgres://u@h/db").is_ok());
        assert!(parse_database_url("mysql://x").is_err());
    }
}

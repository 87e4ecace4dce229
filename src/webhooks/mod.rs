//! Webhooks: subscriptions, fan-out of outbox events into deliveries, the dispatcher that
//! sends them (Standard Webhooks signatures, retries, the delivery log), and the SSRF
//! guard every target passes. The dispatcher runs inside `aura serve` and alone as
//! `aura worker`; any number of them may share one database.

pub mod dispatcher;
pub mod fanout;
pub mod graphql;
pub mod schedule;
pub mod secret;
pub mod sender;
pub mod service;
pub mod signature;
pub mod target;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub use dispatcher::Dispatcher;
use schedule::{Jitter, SharedClock, SystemClock};
use secret::SecretBox;
use sender::Sender;

/// Whether a response status counts as delivered: any 2xx.
pub fn is_success(status: Option<i32>) -> bool {
    status.is_some_and(|s| (200..300).contains(&s))
}

/// How webhooks are sent. Defaults follow the contract (15 s timeout, no private targets).
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Seals signing secrets at rest.
    pub secret_box: SecretBox,
    /// Lets targets resolve to loopback and private addresses (development and tests only).
    pub allow_private_targets: bool,
    /// A response must arrive within this.
    pub timeout: Duration,
    /// How long a dispatcher holds a claimed delivery; longer than `timeout`, so a
    /// delivery is only taken over from a dispatcher that died.
    pub lease: Duration,
    /// Requests in flight per dispatcher.
    pub concurrency: usize,
    /// Requests in flight per subscription and dispatcher, so a slow partner takes at most
    /// this many slots and never delays the others.
    pub per_subscription: usize,
    /// How often an idle dispatcher looks for due deliveries.
    pub poll_interval: Duration,
    /// Whether `aura serve` runs a dispatcher (off when dedicated `aura worker`s do).
    pub run_dispatcher: bool,
}

impl WebhookConfig {
    /// Contract defaults with a throwaway key, for tests and tools.
    pub fn ephemeral() -> Self {
        WebhookConfig {
            secret_box: SecretBox::ephemeral(),
            allow_private_targets: false,
            timeout: Duration::from_secs(15),
            lease: Duration::from_secs(60),
            concurrency: 32,
            per_subscription: 4,
            poll_interval: Duration::from_millis(200),
            run_dispatcher: true,
        }
    }
}

/// What the API and the dispatcher share: the config, the HTTP client, the clock, and a
/// bell that wakes this process's dispatcher when there is work (a manual retry).
#[derive(Clone)]
pub struct Webhooks {
    pub config: Arc<WebhookConfig>,
    pub sender: Sender,
    pub clock: SharedClock,
    pub jitter: Jitter,
    pub wake: Arc<Notify>,
}

impl Webhooks {
    /// How long a claimed delivery is held, as a chrono duration.
    pub fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::minutes(1))
    }

    pub fn new(config: WebhookConfig) -> Result<Self, String> {
        Self::with_clock(config, Arc::new(SystemClock), schedule::random_jitter())
    }

    pub fn with_clock(
        config: WebhookConfig,
        clock: SharedClock,
        jitter: Jitter,
    ) -> Result<Self, String> {
        if config.lease <= config.timeout {
            return Err("the webhook lease must be longer than the webhook timeout".to_owned());
        }
        let sender = Sender::new(config.timeout, config.allow_private_targets)?;
        Ok(Webhooks {
            config: Arc::new(config),
            sender,
            clock,
            jitter,
            wake: Arc::new(Notify::new()),
        })
    }
}

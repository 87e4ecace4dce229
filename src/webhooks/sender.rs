//! One HTTP attempt: the signed request, and what came back. Redirects are not followed
//! (a 3xx is a failure), the whole exchange has a deadline, hosts resolve through the
//! SSRF guard, and only the first kilobyte of the response is read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::redirect::Policy;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::schedule::parse_retry_after;
use super::signature;
use crate::crypto::SigningSecret;
use crate::domain::webhook_target::{self as target, TargetError};

/// reqwest's resolver for webhook requests: the SSRF guard's rule at connection time, so
/// the address that was checked is the address connected to.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addresses = target::resolve(name.as_str(), 0, allow_private)
                .await
                .map_err(|err| -> Box<dyn std::error::Error + Send + Sync> { Box::new(err) })?;
            let addrs: Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

/// The response body kept with an attempt.
pub const EXCERPT_BYTES: usize = 1024;

#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
    timeout: Duration,
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub latency: Duration,
    pub response_excerpt: Option<String>,
    /// A `Retry-After` the receiver asked for.
    pub retry_after: Option<chrono::Duration>,
}

impl AttemptOutcome {
    pub fn succeeded(&self) -> bool {
        super::is_success(self.status_code.map(i32::from))
    }

    /// 410 Gone: the receiver wants no more deliveries.
    pub fn gone(&self) -> bool {
        self.status_code == Some(410)
    }

    fn refused(error: String) -> Self {
        AttemptOutcome {
            status_code: None,
            error: Some(error),
            latency: Duration::ZERO,
            response_excerpt: None,
            retry_after: None,
        }
    }
}

/// What is signed and sent.
pub struct Message<'a> {
    /// `webhook-id`: the event's id, the same on every retry.
    pub id: &'a str,
    pub body: &'a [u8],
}

impl Sender {
    pub fn new(timeout: Duration, allow_private: bool) -> Result<Self, String> {
        crate::crypto::tls::install_crypto_provider();
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .user_agent(concat!("Aura-Webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(8)
            // A proxy from the environment would resolve targets itself, past the
            // address guard above.
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(Sender {
            client,
            allow_private,
            timeout,
        })
    }

    /// Signs `message` with every secret in `secrets` and posts it to `url`.
    pub async fn send(
        &self,
        url: &str,
        message: &Message<'_>,
        secrets: &[SigningSecret],
        now: DateTime<Utc>,
    ) -> AttemptOutcome {
        // Literal addresses never reach the resolver, so they are checked here; names are
        // checked by the resolver on the way to the connection.
        let target = match target::parse(url, self.allow_private) {
            Ok(target) => target,
            Err(err) => return AttemptOutcome::refused(format!("refused: {err}")),
        };
        let timestamp = now.timestamp();
        let signature = signature::sign(secrets, message.id, timestamp, message.body);
        let started = Instant::now();
        let sent = self
            .client
            .post(target.url)
            .header("content-type", "application/json")
            .header("webhook-id", message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(message.body.to_vec())
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(err) => {
                return AttemptOutcome {
                    error: Some(self.describe(&err)),
                    latency: started.elapsed(),
                    ..AttemptOutcome::refused(String::new())
                };
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now));
        let mut excerpt = Vec::new();
        let mut error = None;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = EXCERPT_BYTES - excerpt.len();
                    excerpt.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if excerpt.len() >= EXCERPT_BYTES {
                        break;
                    }
                }
                Ok(None) => break,
                Err(err) => {
                    // The status already counts; a body cut short is only noted.
                    error = Some(self.describe(&err));
                    break;
                }
            }
        }
        AttemptOutcome {
            status_code: Some(status),
            error,
            latency: started.elapsed(),
            response_excerpt: (!excerpt.is_empty())
                .then(|| String::from_utf8_lossy(&excerpt).into_owned()),
            retry_after,
        }
    }

    fn describe(&self, err: &reqwest::Error) -> String {
        // The guard's refusal travels inside the connect error; surface its own words.
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(cause) = source {
            if let Some(refusal) = cause.downcast_ref::<TargetError>() {
                return format!("refused: {refusal}");
            }
            source = cause.source();
        }
        if err.is_timeout() {
            format!("timed out after {} s", self.timeout.as_secs())
        } else if err.is_connect() {
            "could not connect".to_owned()
        } else if err.is_redirect() {
            "redirects are not followed".to_owned()
        } else {
            let mut text = err.to_string();
            let mut cause = std::error::Error::source(err);
            while let Some(inner) = cause {
                text.push_str(": ");
                text.push_str(&inner.to_string());
                cause = inner.source();
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_connection_resolver_refuses_inward_names() {
        use reqwest::dns::Resolve;
        let resolver = super::GuardedResolver {
            allow_private: false,
        };
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        assert!(resolver.resolve(name).await.is_err());
    }
}

//! The gate in front of every API surface (`POST /graphql`, `/v1`): it authenticates the
//! caller, draws on their rate limits, and puts the limit headers on whatever leaves,
//! success or error, 401 and 429 included. One middleware, so GraphQL and REST cannot
//! drift apart in who gets in or how they are counted.
//!
//! Who is counted: an API key against its key and its organization; a Clerk user against
//! a per-user limit (the key limit) and the organization; anything without valid
//! credentials against its IP address. Once an IP has used up its budget, its requests
//! with credentials are refused too, without checking them, until the budget frees up:
//! otherwise a key guesser would keep learning which guesses are right.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use poem::http::header::AUTHORIZATION;
use poem::http::{HeaderMap, HeaderValue};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use super::envelope::ExtraHeaders;
use crate::auth::{AuthPolicy, Authenticator};
use crate::error::AppError;
use crate::ratelimit::{Clock, Decision, RateLimiter, Subject};

/// The rate-limit headers of a decision.
pub fn limit_headers(decision: &Decision) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in decision.headers() {
        headers.insert(name, HeaderValue::from(value));
    }
    headers
}

#[derive(Clone)]
pub struct ApiGuard {
    shared: Arc<Shared>,
    policy: AuthPolicy,
}

struct Shared {
    authenticator: Arc<Authenticator>,
    limiter: Arc<RateLimiter>,
    clock: Clock,
    /// IPs whose unauthenticated budget is spent, until when (Unix µs).
    spent: Mutex<HashMap<IpAddr, u64>>,
}

impl ApiGuard {
    /// Requires credentials; see [`ApiGuard::optional`].
    pub fn new(authenticator: Arc<Authenticator>, limiter: Arc<RateLimiter>) -> Self {
        ApiGuard {
            shared: Arc::new(Shared {
                authenticator,
                limiter,
                clock: Clock::new(),
                spent: Mutex::new(HashMap::new()),
            }),
            policy: AuthPolicy::Required,
        }
    }

    /// The same guard (same budgets), letting requests without credentials through as
    /// anonymous, for public operations that decide for themselves.
    pub fn optional(&self) -> Self {
        ApiGuard {
            shared: self.shared.clone(),
            policy: AuthPolicy::Optional,
        }
    }

    /// The authenticator, for surfaces that authenticate later than the request
    /// (WebSocket `connection_init`).
    pub fn authenticator(&self) -> &Arc<Authenticator> {
        &self.shared.authenticator
    }

    pub fn limiter(&self) -> &Arc<RateLimiter> {
        &self.shared.limiter
    }
}

impl<E: Endpoint> Middleware<E> for ApiGuard {
    type Output = ApiGuardEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        ApiGuardEndpoint {
            inner,
            guard: self.clone(),
        }
    }
}

pub struct ApiGuardEndpoint<E> {
    inner: E,
    guard: ApiGuard,
}

impl<E: Endpoint> Endpoint for ApiGuardEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let shared = &self.guard.shared;
        let ip = req
            .remote_addr()
            .as_socket_addr()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip());
        let authorization = req
            .headers()
            .get(AUTHORIZATION)
            .map(|value| value.to_str().unwrap_or("\u{0}").to_owned());

        if authorization.is_some()
            && let Some(decision) = shared.spent_budget(ip)
        {
            return Err(refused(&decision));
        }

        let (subject, failure) = match shared
            .authenticator
            .authenticate(authorization.as_deref())
            .await
        {
            Ok(Some(actor)) => {
                let subject = Subject::of(&actor);
                let span = tracing::Span::current();
                span.record("organization_id", tracing::field::display(actor.organization_id));
                span.record("credential", tracing::field::display(&actor.credential));
                req.extensions_mut().insert(actor);
                (subject, None)
            }
            Ok(None) if self.guard.policy == AuthPolicy::Optional => (Subject::Ip(ip), None),
            Ok(None) => (
                Subject::Ip(ip),
                Some(AppError::Unauthorized(
                    "missing credentials: send `Authorization: Bearer aura_pk_live_…` (an API key) or a Clerk session token"
                        .to_owned(),
                )),
            ),
            Err(err) => (Subject::Ip(ip), Some(err)),
        };

        let decision = shared.limiter.check(&subject).await;
        if let Subject::Ip(ip) = subject
            && decision.remaining == 0
        {
            shared.mark_spent(ip, decision.reset_us);
        }
        if !decision.allowed {
            return Err(refused(&decision));
        }
        let headers = limit_headers(&decision);
        if let Some(err) = failure {
            return Err(with_headers(super::into_poem_error(err), headers));
        }
        match self.inner.call(req).await {
            Ok(output) => {
                let mut response = output.into_response();
                response.headers_mut().extend(headers);
                Ok(response)
            }
            Err(err) => Err(with_headers(err, headers)),
        }
    }
}

impl Shared {
    fn spent_budget(&self, ip: IpAddr) -> Option<Decision> {
        let now = self.clock.now_us();
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        let until = *spent.get(&ip)?;
        if until <= now {
            spent.remove(&ip);
            return None;
        }
        Some(Decision {
            allowed: false,
            limit: self.limiter.config().per_ip,
            remaining: 0,
            reset_us: until,
            retry_after_secs: Some((until - now).div_ceil(1_000_000).max(1)),
        })
    }

    fn mark_spent(&self, ip: IpAddr, until_us: u64) {
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        if spent.len() >= 10_000 {
            let now = self.clock.now_us();
            spent.retain(|_, until| *until > now);
        }
        spent.insert(ip, until_us);
    }
}

fn refused(decision: &Decision) -> poem::Error {
    let err = AppError::RateLimited {
        retry_after_secs: decision.retry_after_secs.unwrap_or(1),
    };
    with_headers(super::into_poem_error(err), limit_headers(decision))
}

/// The envelope renders the error; these headers ride along to the response.
fn with_headers(mut err: poem::Error, headers: HeaderMap) -> poem::Error {
    let mut all = err
        .data::<ExtraHeaders>()
        .map(|extra| extra.0.clone())
        .unwrap_or_default();
    all.extend(headers);
    err.set_data(ExtraHeaders(all));
    err
}

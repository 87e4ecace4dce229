//! The gate in front of every API surface (`/graphql`, `/v1`, the WebSocket upgrade): it
//! finds the client's address, authenticates the caller, draws on their rate limits, and
//! puts the limit headers on whatever leaves, success or error, 401 and 429 included. One
//! middleware, so GraphQL and REST cannot drift apart in who gets in or how they are
//! counted; the WebSocket draws on the same budgets per operation ([`ApiGuard::charge`]).
//!
//! Who is counted:
//! - an API key against its key and its organization; a Clerk user against a per-user
//!   limit (the key limit) and the organization;
//! - a request without credentials, or whose credentials fail verification, against its
//!   client address. A valid credential is never refused because of its address's
//!   anonymous budget;
//! - a credential that cannot be checked because a dependency is down (the database,
//!   Clerk's keys): 503 with `Retry-After`, charged to no one.
//!
//! The client address is the TCP peer, or, when the peer is a configured trusted proxy,
//! the address the proxy forwarded (`Forwarded: for=` or `X-Forwarded-For`, the
//! right-most entry that is not itself a trusted proxy).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use poem::http::header::AUTHORIZATION;
use poem::http::{HeaderMap, HeaderValue};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use super::envelope::ExtraHeaders;
use crate::auth::{AuthPolicy, Authenticator};
use crate::domain::Actor;
use crate::error::{AppError, AppResult};
use crate::ratelimit::{Decision, RateLimiter, Subject};

/// The rate-limit headers of a decision.
pub fn limit_headers(decision: &Decision) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in decision.headers() {
        headers.insert(name, HeaderValue::from(value));
    }
    headers
}

/// The client's address, as the guard determined it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Whom the guard charged for this request, so later steps (one request holding several
/// public bookings) can charge the same budget again.
#[derive(Debug, Clone)]
pub struct Charged(pub Subject);

/// A network of addresses (`10.0.0.0/8`, `2001:db8::/32`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("`{text}` is not an IP address or CIDR network"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}` has a bad prefix length"))?,
            None => max,
        };
        Ok(Cidr { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Reads the forwarded client address from a request that came through trusted proxies.
fn forwarded_client(headers: &HeaderMap, trusted: &[Cidr]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(*ip));
    // RFC 7239 `Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"`.
    let from_forwarded: Vec<IpAddr> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                if !name.eq_ignore_ascii_case("for") {
                    return None;
                }
                let value = value.trim().trim_matches('"');
                let host = if let Some(rest) = value.strip_prefix('[') {
                    rest.split(']').next()?
                } else {
                    value.split(':').next()?
                };
                host.parse().ok()
            })
        })
        .collect();
    let chain = if from_forwarded.is_empty() {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|part| part.trim().parse::<IpAddr>().ok())
            .collect()
    } else {
        from_forwarded
    };
    // The right-most address that is not one of ours is the client: anything left of it
    // was written by the client itself.
    chain.into_iter().rev().find(|ip| !is_trusted(ip))
}

#[derive(Clone)]
pub struct ApiGuard {
    shared: Arc<Shared>,
    policy: AuthPolicy,
}

struct Shared {
    authenticator: Arc<Authenticator>,
    limiter: Arc<RateLimiter>,
    trusted_proxies: Vec<Cidr>,
}

impl ApiGuard {
    /// Requires credentials; see [`ApiGuard::optional`].
    pub fn new(
        authenticator: Arc<Authenticator>,
        limiter: Arc<RateLimiter>,
        trusted_proxies: Vec<Cidr>,
    ) -> Self {
        ApiGuard {
            shared: Arc::new(Shared {
                authenticator,
                limiter,
                trusted_proxies,
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

    /// The client's address for a request: the TCP peer, or what a trusted proxy
    /// forwarded.
    pub fn client_ip(&self, req: &Request) -> IpAddr {
        let peer = req
            .remote_addr()
            .as_socket_addr()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip());
        let trusted = &self.shared.trusted_proxies;
        if trusted.iter().any(|net| net.contains(peer)) {
            forwarded_client(req.headers(), trusted).unwrap_or(peer)
        } else {
            peer
        }
    }

    /// Charges one more unit to `subject` (a WebSocket operation, another public booking
    /// in the same request): RATE_LIMITED with the retry delay when it is spent.
    pub async fn charge(&self, subject: &Subject) -> AppResult<Decision> {
        let decision = self.shared.limiter.check(subject).await;
        if decision.allowed {
            Ok(decision)
        } else {
            Err(AppError::RateLimited {
                retry_after_secs: decision.retry_after_secs.unwrap_or(1),
            })
        }
    }

    /// Authenticates an `Authorization` value and says whom the request counts against:
    /// the actor's budgets, or the address when there is no credential or it fails. A
    /// check that cannot run (a dependency is down) is the error, charged to no one.
    pub async fn identify(
        &self,
        authorization: Option<&str>,
        ip: IpAddr,
    ) -> Result<(Subject, Result<Option<Actor>, AppError>), AppError> {
        match self.shared.authenticator.authenticate(authorization).await {
            Ok(Some(actor)) => Ok((Subject::of(&actor), Ok(Some(actor)))),
            Ok(None) => Ok((Subject::Ip(ip), Ok(None))),
            Err(err @ AppError::Unavailable { .. }) => Err(err),
            Err(err) => Ok((Subject::Ip(ip), Err(err))),
        }
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
        let ip = self.guard.client_ip(&req);
        req.extensions_mut().insert(ClientIp(ip));
        let authorization = req
            .headers()
            .get(AUTHORIZATION)
            .map(|value| value.to_str().unwrap_or("\u{0}").to_owned());

        let (subject, verified) = self
            .guard
            .identify(authorization.as_deref(), ip)
            .await
            .map_err(super::into_poem_error)?;
        let failure = match verified {
            Ok(Some(actor)) => {
                let span = tracing::Span::current();
                span.record("organization_id", tracing::field::display(actor.organization_id));
                span.record("credential", tracing::field::display(&actor.credential));
                req.extensions_mut().insert(actor);
                None
            }
            Ok(None) if self.guard.policy == AuthPolicy::Optional => None,
            Ok(None) => Some(AppError::Unauthorized(
                "missing credentials: send `Authorization: Bearer aura_pk_live_…` (an API key) or a Clerk session token"
                    .to_owned(),
            )),
            Err(err) => Some(err),
        };

        let decision = self.guard.shared.limiter.check(&subject).await;
        if !decision.allowed {
            return Err(refused(&decision));
        }
        req.extensions_mut().insert(Charged(subject));
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

fn refused(decision: &Decision) -> poem::Error {
    let err = AppError::RateLimited {
        retry_after_secs: decision.retry_after_secs.unwrap_or(1),
    };
    with_headers(super::into_poem_error(err), limit_headers(decision))
}

/// The envelope renders the error; these headers ride along to the response.
pub fn with_headers(mut err: poem::Error, headers: HeaderMap) -> poem::Error {
    let mut all = err
        .data::<ExtraHeaders>()
        .map(|extra| extra.0.clone())
        .unwrap_or_default();
    all.extend(headers);
    err.set_data(ExtraHeaders(all));
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_their_addresses() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        for bad in ["10.0.0.0/33", "nope", "10.0.0/8", "::/129"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_forwarded_address() {
        let trusted = [Cidr::parse("10.0.0.0/8").unwrap()];
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.9, 10.0.0.2"),
        );
        // The client wrote 6.6.6.6 itself; our proxy saw 203.0.113.9.
        assert_eq!(
            forwarded_client(&headers, &trusted),
            Some("203.0.113.9".parse().unwrap())
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            "forwarded",
            HeaderValue::from_static("for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.3"),
        );
        assert_eq!(
            forwarded_client(&headers, &trusted),
            Some("2001:db8::7".parse().unwrap())
        );
        assert_eq!(forwarded_client(&HeaderMap::new(), &trusted), None);
    }
}

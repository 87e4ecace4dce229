//! The SSRF guard's rules. A webhook URL is checked when it is saved and again at every
//! attempt: the host is resolved and every address must be public. The webhook sender
//! resolves hosts through the same [`resolve`] at connection time, so the address that was
//! checked is the address connected to, and a DNS answer that changes between the check
//! and the connection (rebinding) is refused.
//!
//! A refusal never names the address a host resolved to: that would turn the guard into a
//! probe of the server's internal network.
//!
//! Numeric hosts in any spelling (`2130706433`, `0x7f.1`, `017700000001`, `[::ffff:7f00:1]`)
//! are normalised by the URL parser (WHATWG rules) before they are checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::Url;

/// Why a target is refused, in words fit for a 400 response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("url: not a valid URL")]
    Malformed,
    #[error("url: only http:// and https:// URLs can receive webhooks")]
    Scheme,
    #[error("url: credentials in the URL are not allowed; use a secret path or the signature")]
    Credentials,
    #[error("url: the host resolves to a non-public address; webhooks go to public addresses only")]
    Forbidden {
        host: String,
        /// What kind of address it was, for our logs and tests; never shown to callers.
        kind: &'static str,
    },
    #[error("url: the port must be 80, 443 or between 1024 and 65535")]
    Port,
    #[error(
        "url: port {0} belongs to an internal service (a database, cache or queue); use a web port"
    )]
    ServicePort(u16),
    #[error("url: `{0}` does not resolve")]
    Unresolvable(String),
    #[error("url: at most 2048 characters")]
    TooLong,
}

/// Unprivileged ports of well-known internal services that no webhook receiver listens
/// on: a target naming one is a probe (even `allow_private` does not lift this). Redis,
/// PostgreSQL, MySQL, memcached, MongoDB, Elasticsearch, the Docker API, etcd, Consul,
/// RabbitMQ, Kafka, ZooKeeper.
pub const SERVICE_PORTS: &[u16] = &[
    2375, 2376, 2379, 2380, 2181, 3306, 5432, 5672, 6379, 8500, 9092, 9200, 9300, 11211, 27017,
];

/// What kind of non-public address `ip` is, if it is one.
pub fn forbidden_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let kind = if ip.is_loopback() {
        "loopback"
    } else if ip.is_unspecified() || a == 0 {
        "unspecified"
    } else if ip.is_private() {
        "private"
    } else if ip.is_link_local() {
        // 169.254.0.0/16 holds the cloud metadata service (169.254.169.254).
        "link-local (metadata)"
    } else if a == 100 && (64..128).contains(&b) {
        // Carrier-grade NAT; Alibaba Cloud's metadata service lives at 100.100.100.200.
        "shared (carrier-grade NAT)"
    } else if a == 192 && b == 0 && c == 0 {
        "IETF protocol assignment"
    } else if (a == 192 && b == 0 && c == 2)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        "documentation"
    } else if a == 198 && (b == 18 || b == 19) {
        "benchmarking"
    } else if ip.is_multicast() {
        "multicast"
    } else if a >= 240 {
        "reserved"
    } else {
        return None;
    };
    Some(kind)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4).map(|_| "IPv4-mapped non-public");
    }
    let segments = ip.segments();
    let kind = if ip.is_loopback() {
        "loopback"
    } else if ip.is_unspecified() {
        "unspecified"
    } else if (segments[0] & 0xfe00) == 0xfc00 {
        // fc00::/7, which also holds AWS's IPv6 metadata address fd00:ec2::254.
        "unique-local"
    } else if (segments[0] & 0xffc0) == 0xfe80 || (segments[0] & 0xffc0) == 0xfec0 {
        "link-local"
    } else if ip.is_multicast() {
        "multicast"
    } else if segments[0] == 0x2001 && segments[1] == 0x0db8 {
        "documentation"
    } else if segments[..6] == [0, 0, 0, 0, 0, 0] {
        // IPv4-compatible (deprecated) ::a.b.c.d
        "IPv4-compatible"
    } else if segments[0] == 0x0064 && segments[1] == 0xff9b {
        // NAT64 (64:ff9b::/96 and /48) embeds an IPv4 address that may be internal.
        "NAT64"
    } else if segments[0] == 0x2002 {
        // 6to4 embeds an IPv4 address in the next 32 bits.
        let embedded = Ipv4Addr::new(
            (segments[1] >> 8) as u8,
            segments[1] as u8,
            (segments[2] >> 8) as u8,
            segments[2] as u8,
        );
        forbidden_v4(embedded).map(|_| "6to4 non-public")?
    } else {
        return None;
    };
    Some(kind)
}

/// A URL that passed the static checks; its host still has to resolve to public addresses.
#[derive(Debug, Clone)]
pub struct TargetUrl {
    pub url: Url,
}

/// Parses and checks what can be checked without DNS.
pub fn parse(text: &str, allow_private: bool) -> Result<TargetUrl, TargetError> {
    if text.len() > 2048 {
        return Err(TargetError::TooLong);
    }
    let url = Url::parse(text.trim()).map_err(|_| TargetError::Malformed)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::Credentials);
    }
    let Some(host) = url.host() else {
        return Err(TargetError::Malformed);
    };
    let port = url.port_or_known_default().unwrap_or(0);
    if !(port == 80 || port == 443 || port >= 1024) {
        return Err(TargetError::Port);
    }
    if SERVICE_PORTS.contains(&port) {
        return Err(TargetError::ServicePort(port));
    }
    if !allow_private {
        let literal = match host {
            url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            url::Host::Domain(_) => None,
        };
        if let Some(address) = literal
            && let Some(kind) = forbidden_kind(address)
        {
            return Err(TargetError::Forbidden {
                host: url.host_str().unwrap_or_default().to_owned(),
                kind,
            });
        }
    }
    Ok(TargetUrl { url })
}

/// Resolves `host` and keeps the answer only if every address is allowed.
pub async fn resolve(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, TargetError> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| TargetError::Unresolvable(host.to_owned()))?
        .collect();
    if addresses.is_empty() {
        return Err(TargetError::Unresolvable(host.to_owned()));
    }
    if !allow_private {
        // One bad address refuses the host: a name that mixes public and internal
        // answers is exactly how rebinding attacks are staged.
        for address in &addresses {
            if let Some(kind) = forbidden_kind(address.ip()) {
                return Err(TargetError::Forbidden {
                    host: host.to_owned(),
                    kind,
                });
            }
        }
    }
    Ok(addresses)
}

/// The full check: static rules, then DNS.
pub async fn check(text: &str, allow_private: bool) -> Result<TargetUrl, TargetError> {
    let target = parse(text, allow_private)?;
    if let Some(url::Host::Domain(domain)) = target.url.host() {
        let port = target.url.port_or_known_default().unwrap_or(443);
        resolve(domain, port, allow_private).await?;
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every spelling of an internal target that a partner (or an attacker) might try.
    const BAD_TARGETS: &[&str] = &[
        "http://127.0.0.1/hook",
        "http://127.1/hook",
        "http://2130706433/hook",
        "http://0x7f000001/hook",
        "http://0x7f.0.0.1/hook",
        "http://017700000001/hook",
        "http://0177.0.0.1/hook",
        "http://0/hook",
        "http://0.0.0.0/hook",
        "http://10.0.0.5/hook",
        "http://172.16.3.4/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.100.100.200/",
        "http://100.64.0.1/",
        "http://[::1]/hook",
        "http://[::]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:7f00:1]/hook",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[fd00:ec2::254]/",
        "http://[fc00::1]/",
        "http://[fe80::1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://[::127.0.0.1]/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://198.18.0.1/",
    ];

    #[test]
    fn every_internal_spelling_is_refused() {
        for target in BAD_TARGETS {
            match parse(target, false) {
                Err(TargetError::Forbidden { .. }) => {}
                other => panic!("{target} was not refused: {other:?}"),
            }
        }
    }

    #[test]
    fn public_addresses_and_names_pass_the_static_check() {
        for good in [
            "https://hooks.example.com/aura",
            "http://93.184.216.34/hook",
            "https://[2606:2800:220:1:248:1893:25c8:1946]/hook",
            "https://8.8.8.8:8443/x?y=1",
        ] {
            assert!(parse(good, false).is_ok(), "{good}");
        }
    }

    #[test]
    fn allowing_private_targets_lifts_only_the_address_rule() {
        assert!(parse("http://127.0.0.1:9000/hook", true).is_ok());
        assert_eq!(
            parse("ftp://example.com/", true).unwrap_err(),
            TargetError::Scheme
        );
        assert_eq!(
            parse("https://user:pw@example.com/", true).unwrap_err(),
            TargetError::Credentials
        );
        assert_eq!(
            parse("not a url", true).unwrap_err(),
            TargetError::Malformed
        );
    }

    #[tokio::test]
    async fn names_that_resolve_inward_are_refused() {
        match check("http://localhost:8080/hook", false).await {
            Err(TargetError::Forbidden {
                kind: "loopback", ..
            }) => {}
            other => panic!("localhost was not refused: {other:?}"),
        }
        assert!(matches!(
            check("http://no-such-host.invalid/", false).await,
            Err(TargetError::Unresolvable(_))
        ));
        assert!(check("http://localhost:8080/hook", true).await.is_ok());
    }

    #[test]
    fn ports_are_web_ports_or_unprivileged() {
        for bad in [
            "https://example.com:22/",
            "http://example.com:25/",
            "https://example.com:1023/",
        ] {
            assert_eq!(parse(bad, true).unwrap_err(), TargetError::Port, "{bad}");
        }
        for good in [
            "https://example.com/",
            "http://example.com/",
            "https://example.com:8443/",
            "http://example.com:65535/",
            "http://example.com:443/",
        ] {
            assert!(parse(good, false).is_ok(), "{good}");
        }
        // Well-known internal services are refused whatever the address.
        for port in [6379, 5432, 11211] {
            let url = format!("http://example.com:{port}/");
            assert_eq!(
                parse(&url, true).unwrap_err(),
                TargetError::ServicePort(port),
                "{url}"
            );
        }
    }

    #[test]
    fn refusals_never_name_the_address() {
        let err = parse("http://[::ffff:10.0.0.1]/", false).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("resolves to a non-public address"),
            "{message}"
        );
        assert!(
            !message.contains("10.0.0.1") && !message.contains("ffff"),
            "{message}"
        );
    }
}

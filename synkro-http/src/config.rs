//! The HTTP layer's settings: trusted proxies, session lifetime, body limit, login throttling
//! and the optional TEMP_LOGIN fallback.

use std::{net::IpAddr, time::Duration};

use synkro_core::{Config, ValidationError, config::TempLogin};

/// The environment variable naming trusted reverse proxies.
pub const TRUSTED_PROXIES_VAR: &str = "SYNKRO_TRUSTED_PROXIES";

/// An address or network (`10.0.0.0/8`, `::1`, `192.0.2.10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Parses `addr` or `addr/prefix`.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::new(
                "trusted_proxies",
                format!("{text:?} is not an address or network such as 10.0.0.0/8 or 192.0.2.10"),
            )
        };
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Self { addr, prefix })
    }

    /// Whether `ip` is inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses as plain IPv4.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Login throttling: attempts allowed without delay per key and window, then a delay that
/// doubles with every further attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    /// Attempts per (username, client address) within `window` before delays start.
    pub per_user_address: u32,
    /// Attempts per client address (any username) within `window` before delays start.
    pub per_address: u32,
    /// How long attempts count.
    pub window: Duration,
    /// The first delay; each further attempt doubles it.
    pub first_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        Self {
            per_user_address: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15 * 60),
        }
    }
}

/// Settings of the HTTP server.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed (loopback always is).
    pub trusted_proxies: Vec<IpNet>,
    /// How long a login lasts.
    pub session_ttl: Duration,
    /// Largest request body accepted.
    pub body_limit: usize,
    /// Login throttling.
    pub throttle: ThrottleLimits,
    /// The TEMP_LOGIN fallback, when both variables are set.
    pub temp_login: Option<TempLogin>,
    /// How long a signed-in caller is remembered between requests (zero: read on every
    /// request). Changes made through this process apply at once; other API nodes see them
    /// after at most this long.
    pub auth_cache_ttl: Duration,
    /// How long an encoded report list page is reused (zero: never). A finished job of the
    /// tenant drops its pages at once, here and (with Redis) on every node.
    pub report_list_cache_ttl: Duration,
    /// How long a new connection may take to send its first request's headers before it is
    /// closed.
    pub header_read_timeout: Duration,
    /// Per-user limits on open streams, follow-up questions and manual runs.
    pub user_limits: crate::limits::UserLimitConfig,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            session_ttl: Duration::from_secs(12 * 3600),
            body_limit: 1024 * 1024,
            throttle: ThrottleLimits::default(),
            temp_login: None,
            auth_cache_ttl: Duration::from_secs(2),
            report_list_cache_ttl: Duration::from_secs(1),
            header_read_timeout: Duration::from_secs(10),
            user_limits: crate::limits::UserLimitConfig::default(),
        }
    }
}

impl HttpConfig {
    /// From the process configuration plus `SYNKRO_TRUSTED_PROXIES` (comma-separated addresses or
    /// networks; default none).
    pub fn from_config(config: &Config) -> Result<Self, ValidationError> {
        let proxies = std::env::var(TRUSTED_PROXIES_VAR).unwrap_or_default();
        let defaults = Self::default();
        Ok(Self {
            trusted_proxies: parse_proxies(&proxies)?,
            temp_login: config.temp_login.clone(),
            auth_cache_ttl: millis_var("SYNKRO_AUTH_CACHE_MS", "auth_cache_ms", defaults.auth_cache_ttl)?,
            report_list_cache_ttl: millis_var("SYNKRO_PAGE_CACHE_MS", "page_cache_ms", defaults.report_list_cache_ttl)?,
            ..defaults
        })
    }

    /// Whether requests from `peer` may say who the client is.
    pub fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        let peer = canonical(peer);
        peer.is_loopback() || self.trusted_proxies.iter().any(|net| net.contains(peer))
    }
}

/// A duration in milliseconds from the environment variable `var` (`default` when unset).
fn millis_var(var: &str, field: &'static str, default: Duration) -> Result<Duration, ValidationError> {
    match std::env::var(var) {
        Err(_) => Ok(default),
        Ok(text) => {
            text.trim().parse::<u64>().ok().filter(|ms| *ms <= 60_000).map(Duration::from_millis).ok_or_else(|| {
                ValidationError::new(field, format!("{var}={text:?} is not a number of milliseconds from 0 to 60000"))
            })
        }
    }
}

/// Parses a comma-separated list of addresses or networks.
pub fn parse_proxies(text: &str) -> Result<Vec<IpNet>, ValidationError> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(IpNet::parse).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_their_addresses_only() {
        let net = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()), "mapped IPv4 counts");
        let one = IpNet::parse("2001:db8::1").unwrap();
        assert!(one.contains("2001:db8::1".parse().unwrap()) && !one.contains("2001:db8::2".parse().unwrap()));
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        for bad in ["10.0.0.0/33", "nope", "10.0.0/8"] {
            assert_eq!(IpNet::parse(bad).unwrap_err().field, "trusted_proxies", "{bad}");
        }
    }

    #[test]
    fn loopback_is_trusted_and_nothing_else_by_default() {
        let config = HttpConfig::default();
        assert!(config.is_trusted_proxy("127.0.0.1".parse().unwrap()));
        assert!(config.is_trusted_proxy("::1".parse().unwrap()));
        assert!(!config.is_trusted_proxy("192.0.2.1".parse().unwrap()));
        let config = HttpConfig { trusted_proxies: parse_proxies("192.0.2.0/24, 10.0.0.1").unwrap(), ..config };
        assert!(config.is_trusted_proxy("192.0.2.1".parse().unwrap()));
        assert!(config.is_trusted_proxy("10.0.0.1".parse().unwrap()));
    }
}

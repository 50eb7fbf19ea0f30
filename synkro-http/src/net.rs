//! Who the client is: its address and whether it connected over TLS, believing
//! `X-Forwarded-For` / `X-Forwarded-Proto` only from trusted proxies.

use std::net::IpAddr;

use poem::{Request, http::HeaderMap};

use crate::config::{HttpConfig, canonical};

/// The client's address: the peer, or, when the peer is a trusted proxy, the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(config: &HttpConfig, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
    let peer = canonical(peer?);
    if !config.is_trusted_proxy(peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .map(canonical)
        .collect();
    let first_untrusted = forwarded.iter().rev().find(|ip| !config.is_trusted_proxy(**ip));
    Some(first_untrusted.or(forwarded.first()).copied().unwrap_or(peer))
}

/// Whether the client reached us over TLS: a TLS connection, or a trusted proxy saying
/// `X-Forwarded-Proto: https`.
pub fn is_secure(config: &HttpConfig, peer: Option<IpAddr>, tls: bool, headers: &HeaderMap) -> bool {
    if tls {
        return true;
    }
    let trusted = peer.is_some_and(|p| config.is_trusted_proxy(p));
    trusted
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// The peer address of a request, if it came over IP.
pub fn peer(req: &Request) -> Option<IpAddr> {
    req.remote_addr().as_socket_addr().map(|a| a.ip())
}

/// [`client_ip`] for a request.
pub fn request_ip(config: &HttpConfig, req: &Request) -> Option<IpAddr> {
    client_ip(config, peer(req), req.headers())
}

/// [`is_secure`] for a request.
pub fn request_is_secure(config: &HttpConfig, req: &Request) -> bool {
    let tls = *req.scheme() == poem::http::uri::Scheme::HTTPS;
    is_secure(config, peer(req), tls, req.headers())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::parse_proxies;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let config = HttpConfig { trusted_proxies: parse_proxies("10.0.0.0/8").unwrap(), ..HttpConfig::default() };
        let xff = headers(&[("x-forwarded-for", "198.51.100.1, 203.0.113.9, 10.0.0.2")]);
        let ip = |peer: &str| client_ip(&config, Some(peer.parse().unwrap()), &xff).unwrap().to_string();
        assert_eq!(ip("10.0.0.1"), "203.0.113.9", "right-most untrusted hop; the rest may be forged");
        assert_eq!(ip("127.0.0.1"), "203.0.113.9", "loopback is a trusted proxy");
        assert_eq!(ip("192.0.2.50"), "192.0.2.50", "an untrusted peer's header is ignored");
        assert_eq!(
            client_ip(&config, Some("10.0.0.1".parse().unwrap()), &HeaderMap::new()).unwrap().to_string(),
            "10.0.0.1"
        );
    }

    #[test]
    fn https_is_believed_only_from_trusted_proxies() {
        let config = HttpConfig::default();
        let https = headers(&[("x-forwarded-proto", "https")]);
        assert!(is_secure(&config, Some("127.0.0.1".parse().unwrap()), false, &https));
        assert!(!is_secure(&config, Some("192.0.2.1".parse().unwrap()), false, &https));
        assert!(!is_secure(&config, Some("127.0.0.1".parse().unwrap()), false, &HeaderMap::new()));
        assert!(is_secure(&config, None, true, &HeaderMap::new()));
    }
}

//! Which hosts outbound requests may reach: the defence against server-side request forgery.
//!
//! Tenant admins set base URLs (AI, Radist, Telegram, Supabase) and account domains (amoCRM),
//! so every outbound request is treated as attacker-directed: it may only reach public
//! addresses over https. The operator (never a tenant) can allow named hosts and networks,
//! which may then also be reached over plain http: the sandbox, the tests and the demo allow
//! loopback that way ([`OutboundPolicy::loopback`]).
//!
//! The check runs on the address actually connected to (the HTTP client's resolver filters
//! every resolved address, and IP literals are checked before sending), so a host that
//! resolves to a public address when saved and to a private one later gains nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// The operator's allowances on top of "public addresses over https only".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// Host names (lowercase, exact) allowed whatever they resolve to, and over http.
    hosts: Vec<String>,
    /// Networks allowed whether public or not, and over http when named as IP literals.
    networks: Vec<IpNet>,
}

/// Why an outbound request was refused, in Synkro's own words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OutboundRefusal {
    message: String,
}

impl OutboundRefusal {
    fn new(message: String) -> Self {
        Self { message: format!("{message}; an operator can allow it with SYNKRO_OUTBOUND_ALLOW") }
    }
}

impl OutboundPolicy {
    /// Public addresses over https only: the default, and the only safe one for tenant-set URLs.
    pub fn strict() -> Self {
        Self::default()
    }

    /// Allows loopback addresses and `localhost` (the sandbox, tests and the demo).
    pub fn loopback() -> Self {
        Self::parse("localhost, 127.0.0.0/8, ::1/128").unwrap_or_default()
    }

    /// A policy from a list of host names, IP addresses and networks (`10.0.0.0/8`),
    /// separated by commas or spaces; an empty list is [`OutboundPolicy::strict`].
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut policy = Self::default();
        for entry in list.split([',', ' ', '\n', '\t']).map(str::trim).filter(|e| !e.is_empty()) {
            policy = policy.allow(entry)?;
        }
        Ok(policy)
    }

    /// Allows one more host name, address or network.
    pub fn allow(mut self, entry: &str) -> Result<Self, String> {
        let entry = entry.trim();
        if let Ok(net) = entry.parse::<IpNet>() {
            self.networks.push(net.trunc());
        } else if let Ok(ip) = entry.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            self.networks.push(IpNet::from(ip));
        } else if is_host_name(entry) {
            self.hosts.push(entry.trim_end_matches('.').to_ascii_lowercase());
        } else {
            return Err(format!("{entry:?} is neither a host name, an IP address nor a network such as 10.0.0.0/8"));
        }
        Ok(self)
    }

    /// Whether nothing beyond the default is allowed.
    pub fn is_strict(&self) -> bool {
        self.hosts.is_empty() && self.networks.is_empty()
    }

    /// Whether the operator allowed host name `host` by name.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    /// Whether a connection to `ip` is allowed: a public address, or one the operator allowed.
    pub fn allows_address(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.networks.iter().any(|net| net.contains(&ip))
    }

    /// Checks a URL before anything is sent: http(s) only, https unless the operator allowed
    /// its host, no credentials in it, and an IP-literal host must be an allowed address.
    /// Host names are checked again on the addresses they resolve to.
    pub fn check_url(&self, url: &url::Url) -> Result<(), OutboundRefusal> {
        let host = url.host().ok_or_else(|| OutboundRefusal::new("the URL has no host".to_owned()))?;
        let operator_allowed = match &host {
            url::Host::Domain(name) => self.allows_host(name),
            url::Host::Ipv4(ip) => self.networks.iter().any(|n| n.contains(&IpAddr::V4(*ip))),
            url::Host::Ipv6(ip) => self.networks.iter().any(|n| n.contains(&IpAddr::V6(*ip))),
        };
        match url.scheme() {
            "https" => {}
            "http" if operator_allowed => {}
            "http" => {
                return Err(OutboundRefusal::new(format!("{host} must be reached over https, not plain http")));
            }
            other => return Err(OutboundRefusal::new(format!("the URL scheme {other:?} is not allowed (use https)"))),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(OutboundRefusal::new("a URL may not carry a user name or password".to_owned()));
        }
        let literal = match host {
            url::Host::Domain(_) => None,
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        };
        match literal {
            Some(ip) => self.check_address(&ip.to_string(), ip),
            None => Ok(()),
        }
    }

    /// Checks one address that `host` resolved to (or is).
    pub fn check_address(&self, host: &str, ip: IpAddr) -> Result<(), OutboundRefusal> {
        if self.allows_host(host) || self.allows_address(ip) {
            Ok(())
        } else {
            Err(OutboundRefusal::new(format!(
                "{host} is a non-public address ({ip}), which Synkro does not connect to"
            )))
        }
    }

    /// Checks a host's resolved addresses: the allowed ones, or a refusal when none is.
    pub fn filter_addresses(&self, host: &str, addresses: Vec<IpAddr>) -> Result<Vec<IpAddr>, OutboundRefusal> {
        if self.allows_host(host) {
            return Ok(addresses);
        }
        let allowed: Vec<IpAddr> = addresses.iter().copied().filter(|ip| self.allows_address(*ip)).collect();
        match (allowed.is_empty(), addresses.first()) {
            (false, _) => Ok(allowed),
            (true, Some(first)) => Err(OutboundRefusal::new(format!(
                "{host} resolves to a non-public address ({first}), which Synkro does not connect to"
            ))),
            (true, None) => Err(OutboundRefusal::new(format!("{host} resolves to no address"))),
        }
    }
}

impl std::fmt::Display for OutboundPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_strict() {
            return f.write_str("public addresses over https only");
        }
        let entries: Vec<String> =
            self.hosts.iter().cloned().chain(self.networks.iter().map(ToString::to_string)).collect();
        write!(f, "public addresses over https, and {}", entries.join(", "))
    }
}

/// Whether `entry` is a plausible DNS host name (letters, digits, hyphens, dots).
fn is_host_name(entry: &str) -> bool {
    let name = entry.trim_end_matches('.');
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Whether `ip` is a globally reachable unicast address: not loopback, private, link-local,
/// unique-local, shared (CGNAT), multicast, broadcast, unspecified, reserved, documentation or
/// benchmarking space, and not an IPv6 form that embeds an IPv4 address (mapped, compatible,
/// NAT64, 6to4, Teredo), which could smuggle any of those.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    let embeds_v4 = ip.to_ipv4_mapped().is_some()
        || (segments[..6].iter().all(|s| *s == 0)) // IPv4-compatible (and :: and ::1)
        || (segments[0] == 0x64 && segments[1] == 0xff9b) // NAT64
        || segments[0] == 0x2002 // 6to4
        || (segments[0] == 0x2001 && segments[1] == 0); // Teredo
    !(embeds_v4
        || ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local
        || (segments[0] & 0xffc0) == 0xfe80 // link local
        || (segments[0] & 0xffc0) == 0xfec0 // site local (deprecated)
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || (segments[0] == 0x0100 && segments[1..4].iter().all(|s| *s == 0))) // discard
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).expect("a url")
    }

    #[test]
    fn only_globally_reachable_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "2001:0:4136:e378::1",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().expect("an address")), "{private} counted as public");
        }
        for public in ["1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001::1"] {
            assert!(is_public(public.parse().expect("an address")), "{public} counted as non-public");
        }
    }

    #[test]
    fn strict_refuses_literal_private_hosts_in_every_spelling_and_plain_http() {
        let strict = OutboundPolicy::strict();
        for bad in [
            "https://127.0.0.1/",
            "https://2130706433/",
            "https://0x7f.1/",
            "https://017700000001/",
            "https://[::ffff:127.0.0.1]/",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::1]:8080/",
            "http://api.openai.com/v1",
            "ftp://api.openai.com/",
            "https://user:pass@api.openai.com/",
        ] {
            let refused = strict.check_url(&url(bad)).expect_err(bad);
            assert!(refused.to_string().contains("SYNKRO_OUTBOUND_ALLOW"), "{refused}");
        }
        strict.check_url(&url("https://api.openai.com/v1")).expect("a public https URL");
        strict.check_url(&url("https://1.1.1.1/")).expect("a public address");
    }

    #[test]
    fn the_operator_can_allow_hosts_and_networks_which_may_then_use_http() {
        let policy = OutboundPolicy::parse("localhost, 10.0.0.0/8 ::1").expect("a policy");
        policy.check_url(&url("http://10.1.2.3:8080/")).expect("an allowed network over http");
        policy.check_url(&url("http://localhost:3000/")).expect("an allowed host over http");
        policy.check_url(&url("http://[::1]:3000/")).expect("an allowed address");
        assert!(policy.check_url(&url("http://192.168.0.1/")).is_err());
        assert!(policy.check_url(&url("http://example.com/")).is_err(), "http only for allowed hosts");
        assert_eq!(
            policy.filter_addresses("evil.example", vec!["127.0.0.1".parse().unwrap(), "10.0.0.5".parse().unwrap()]),
            Ok(vec!["10.0.0.5".parse().unwrap()])
        );
        assert!(OutboundPolicy::strict().filter_addresses("evil.example", vec!["127.0.0.1".parse().unwrap()]).is_err());
        assert!(OutboundPolicy::parse("not a host!").is_err());
        assert!(OutboundPolicy::parse("").expect("empty").is_strict());
    }
}

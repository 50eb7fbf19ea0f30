//! Framework-free request and reply values the service handlers work with, plus URL helpers.

use serde_json::Value;
use synkro_core::time::Timestamp;

/// A fully read request.
#[derive(Debug, Clone)]
pub(crate) struct Incoming {
    /// Upper-case HTTP method.
    pub(crate) method: String,
    /// Percent-decoded path.
    pub(crate) path: String,
    /// The raw query string (without `?`).
    pub(crate) raw_query: String,
    /// Decoded query pairs in order.
    pub(crate) query: Vec<(String, String)>,
    /// Headers with lowercase names.
    pub(crate) headers: Vec<(String, String)>,
    /// Raw body.
    pub(crate) body: Vec<u8>,
}

impl Incoming {
    /// First value of header `name` (lowercase).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of header `name` (lowercase).
    pub(crate) fn headers_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// First value of query parameter `name`.
    pub(crate) fn query_get(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// `Authorization: Bearer <token>` token.
    pub(crate) fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }

    /// The body parsed as JSON.
    pub(crate) fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The content type without parameters, lowercase.
    pub(crate) fn content_type(&self) -> String {
        self.header("content-type").unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase()
    }
}

/// Body of a [`Reply`].
#[derive(Debug, Clone)]
pub(crate) enum ReplyBody {
    /// A complete body.
    Bytes(Vec<u8>),
    /// Start the body, then abort the connection.
    Reset,
}

/// What a handler answers.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: ReplyBody,
}

impl Reply {
    /// A JSON reply with `application/json`.
    pub(crate) fn json(status: u16, value: &Value) -> Self {
        Self::typed(status, "application/json", value.to_string())
    }

    /// A reply with the given content type.
    pub(crate) fn typed(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Reply {
            status,
            headers: vec![("content-type".to_owned(), content_type.to_owned())],
            body: ReplyBody::Bytes(body.into()),
        }
    }

    /// A reply without a body.
    pub(crate) fn empty(status: u16) -> Self {
        Reply { status, headers: Vec::new(), body: ReplyBody::Bytes(Vec::new()) }
    }

    /// Adds a header.
    pub(crate) fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// Decodes `application/x-www-form-urlencoded` pairs (`+` is a space).
pub(crate) fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (decode_component(k, true), decode_component(v, true))
        })
        .collect()
}

/// Percent-decodes `s`; with `plus_is_space`, `+` becomes a space. Invalid escapes stay as they are.
pub(crate) fn decode_component(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes a query component (unreserved characters stay).
pub(crate) fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Encodes pairs as a query string.
pub(crate) fn encode_query(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v))).collect::<Vec<_>>().join("&")
}

/// `2026-03-01T09:15:02.123Z`: ISO 8601 with milliseconds, as Radist sends.
pub(crate) fn iso_millis(ts: Timestamp) -> String {
    format!("{:.3}", ts.to_jiff())
}

/// Parses an ISO 8601 / RFC 3339 instant with an offset.
pub(crate) fn parse_instant(s: &str) -> Option<Timestamp> {
    s.trim().parse::<jiff::Timestamp>().ok().and_then(Timestamp::from_jiff)
}

/// Seconds since the Unix epoch, now.
pub(crate) fn now_unix() -> i64 {
    Timestamp::now().unix_seconds()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn query_round_trip_keeps_brackets_and_unicode() {
        let pairs = vec![("filter[id][]".to_owned(), "5 0+1".to_owned()), ("q".to_owned(), "Привет&".to_owned())];
        assert_eq!(parse_query(&encode_query(&pairs)), pairs);
        assert_eq!(
            parse_query("a=1+2&b=%zz&c"),
            vec![
                ("a".to_owned(), "1 2".to_owned()),
                ("b".to_owned(), "%zz".to_owned()),
                ("c".to_owned(), String::new())
            ]
        );
        assert_eq!(decode_component("100%", false), "100%");
    }

    #[test]
    fn instants_format_with_millis() {
        let ts = Timestamp::from_unix_micros(1_772_356_502_123_000).unwrap();
        assert_eq!(iso_millis(ts), "2026-03-01T09:15:02.123Z");
        assert_eq!(parse_instant("2026-03-01T09:15:02.123Z"), Some(ts));
        assert_eq!(parse_instant("2026-03-01T12:15:02.123+03:00"), Some(ts));
    }
}

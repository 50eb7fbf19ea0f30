//! Strips secret values out of text before it reaches an error, an event or a log line.

use synkro_core::Secret;

/// Replaces every registered secret value with `***`.
#[derive(Clone, Default)]
pub struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    /// A redactor with nothing to strip.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret to strip, in every form it may take in a URL, a JSON body or a
    /// reformatted text: as it is, percent-encoded (either case of hex digits, and with `+`
    /// for spaces), JSON-escaped, and with its whitespace collapsed. Values shorter than 4
    /// characters are ignored (stripping them would mangle ordinary text, and they are not real
    /// credentials).
    pub fn add(&mut self, secret: &Secret) {
        let value = secret.expose();
        if value.chars().count() < 4 {
            return;
        }
        let json = serde_json::to_string(value).unwrap_or_default();
        let forms = [
            value.to_owned(),
            percent_encode(value, false),
            percent_encode(value, true),
            url::form_urlencoded::byte_serialize(value.as_bytes()).collect(),
            json.get(1..json.len().saturating_sub(1)).unwrap_or_default().to_owned(),
            value.split_whitespace().collect::<Vec<_>>().join(" "),
        ];
        for form in forms {
            if form.chars().count() >= 4 && !self.needles.contains(&form) {
                self.needles.push(form);
            }
        }
        // Longest first, so a secret that contains another is stripped whole.
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    /// The same, for several secrets.
    pub fn with<'a>(mut self, secrets: impl IntoIterator<Item = &'a Secret>) -> Self {
        for secret in secrets {
            self.add(secret);
        }
        self
    }

    /// `text` with every registered secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), "***");
            }
        }
        out
    }
}

/// `value` with every byte but the unreserved ones (`A-Z a-z 0-9 - . _ ~`) as `%XX`.
fn percent_encode(value: &str, lower: bool) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else if lower {
            out.push_str(&format!("%{byte:02x}"));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.needles.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_secret_is_stripped_and_short_values_are_left_alone() {
        let token = Secret::new("123456:ABCDEF-secret");
        let r = Redactor::new().with([&token, &Secret::new("abc"), &Secret::new("123456")]);
        let text = "GET /bot123456:ABCDEF-secret/getMe failed; token 123456:ABCDEF-secret; abc";
        let out = r.redact(text);
        assert_eq!(out, "GET /bot***/getMe failed; token ***; abc");
    }

    #[test]
    fn encoded_escaped_and_reflowed_forms_of_a_secret_are_stripped_too() {
        let secret = "ab+c/d=e\"f  g:h";
        let r = Redactor::new().with([&Secret::new(secret)]);
        for text in [
            "ab%2Bc%2Fd%3De%22f%20%20g%3Ah",
            "ab%2bc%2fd%3de%22f%20%20g%3ah",
            "ab%2Bc%2Fd%3De%22f++g%3Ah",
            "ab+c/d=e\\\"f  g:h",
            "ab+c/d=e\"f g:h",
        ] {
            let out = r.redact(&format!("before {text} after"));
            assert_eq!(out, "before *** after", "{text}");
        }
    }
}

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

    /// Adds a secret to strip. Values shorter than 4 characters are ignored (stripping them
    /// would mangle ordinary text, and they are not real credentials).
    pub fn add(&mut self, secret: &Secret) {
        let value = secret.expose();
        if value.chars().count() >= 4 && !self.needles.iter().any(|n| n == value) {
            self.needles.push(value.to_owned());
            // Longest first, so a secret that contains another is stripped whole.
            self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        }
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
}

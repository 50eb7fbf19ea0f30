//! Radist settings: API base URL, company, the API key and the per-run caps; parsed and validated.

use synkro_core::{
    Secret,
    connector::{ConnectorConfig, ConnectorError, UrlSetting},
};

/// The public Radist API (v2).
pub const DEFAULT_BASE_URL: &str = "https://api.radist.online/v2";

/// Default cap on contact pages (100 contacts each) read per report.
pub const DEFAULT_MAX_CHAT_PAGES: u32 = 25;
/// Default cap on message pages (100 messages each) read per chat.
pub const DEFAULT_MAX_MESSAGE_PAGES: u32 = 10;
/// Default cap on chats whose messages are read per report.
pub const DEFAULT_MAX_CHATS: u32 = 300;

synkro_core::connector_settings! {
    /// Radist settings as a tenant saves them.
    pub struct RadistSettings {
        public {
            /// Radist API base URL; leave empty for the public API (use
            /// https://api-ru.radist.online/v2 for the RU host)
            base_url: Option<UrlSetting> = "https://api.radist.online/v2",
            /// Radist company to read; leave empty to use the first company the API key can see
            company_id: Option<i64> = "205113",
            /// Most contact pages (100 contacts each) read per report; the job log says when it
            /// cuts
            max_chat_pages: Option<i64> = "25",
            /// Most message pages (100 messages each) read per chat; the job log says when it cuts
            max_message_pages: Option<i64> = "10",
            /// Most chats whose messages are read per report; the job log says when it cuts
            max_chats: Option<i64> = "300",
        }
        secret {
            /// Radist API key with the messaging scope (sent as the X-Api-Key header)
            api_key: Secret = "rk_live_…",
        }
    }
}

/// A parsed Radist configuration.
///
/// ```
/// use serde_json::json;
/// use synkro_connector_radist::RadistConfig;
/// use synkro_core::{Secret, connector::ConnectorConfig, secrets::SecretMap};
///
/// let mut secrets = SecretMap::new();
/// secrets.insert("api_key", Secret::new("rk_live_example"));
/// let config = ConnectorConfig::new(json!({"company_id": 205113}), secrets);
/// let parsed = RadistConfig::parse(&config, None).unwrap();
/// assert_eq!(parsed.base_url, "https://api.radist.online/v2");
/// assert_eq!(parsed.rate_key(), "radist:205113");
/// assert_eq!((parsed.max_chat_pages, parsed.max_message_pages, parsed.max_chats), (25, 10, 300));
/// ```
#[derive(Clone, Debug)]
pub struct RadistConfig {
    /// API base URL without a trailing slash (the host's endpoint override, else `base_url`,
    /// else [`DEFAULT_BASE_URL`]).
    pub base_url: String,
    /// The company to read; `None` means the first one the key can see.
    pub company_id: Option<i64>,
    /// The API key.
    pub api_key: Secret,
    /// Contact page cap.
    pub max_chat_pages: u32,
    /// Message page cap per chat.
    pub max_message_pages: u32,
    /// Chat cap.
    pub max_chats: u32,
}

impl RadistConfig {
    /// Parses a connector config; `override_base` (the host's endpoint for `radist`) replaces
    /// both `base_url` and the default.
    pub fn parse(config: &ConnectorConfig, override_base: Option<&str>) -> Result<Self, ConnectorError> {
        let settings = RadistSettings::from_config(config)?;
        let api_key = settings.api_key;
        let base_url = match override_base {
            Some(url) => url.trim().trim_end_matches('/').to_owned(),
            None => parse_base_url(settings.base_url.as_ref().map(|url| url.0.as_str()))?,
        };
        let company_id = match settings.company_id {
            Some(id) if id <= 0 => return Err(ConnectorError::config("company_id", "must be a positive number")),
            other => other,
        };
        Ok(Self {
            base_url,
            company_id,
            api_key,
            max_chat_pages: cap(settings.max_chat_pages, "max_chat_pages", DEFAULT_MAX_CHAT_PAGES, 1_000)?,
            max_message_pages: cap(settings.max_message_pages, "max_message_pages", DEFAULT_MAX_MESSAGE_PAGES, 1_000)?,
            max_chats: cap(settings.max_chats, "max_chats", DEFAULT_MAX_CHATS, 100_000)?,
        })
    }

    /// The rate-limit key naming the upstream account: `radist:<company id>`, or, without a
    /// configured company, `radist:key-<fingerprint>` (a short hash, never the key itself).
    pub fn rate_key(&self) -> String {
        match self.company_id {
            Some(id) => format!("radist:{id}"),
            None => format!("radist:key-{}", fingerprint(self.api_key.expose())),
        }
    }

    /// Every secret in this config, for redaction.
    pub fn secrets(&self) -> Vec<&Secret> {
        vec![&self.api_key]
    }
}

fn parse_base_url(value: Option<&str>) -> Result<String, ConnectorError> {
    let Some(url) = value else {
        return Ok(DEFAULT_BASE_URL.to_owned());
    };
    let url = url.trim_end_matches('/');
    let host = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).unwrap_or_default();
    if host.is_empty() || host.starts_with('/') || url.contains(['?', '#', ' ']) {
        return Err(ConnectorError::config(
            "base_url",
            format!("{url:?} is not an http(s) URL such as {DEFAULT_BASE_URL}"),
        ));
    }
    Ok(url.to_owned())
}

fn cap(value: Option<i64>, field: &str, default: u32, max: u32) -> Result<u32, ConnectorError> {
    match value {
        None => Ok(default),
        Some(n) if n >= 1 && n <= i64::from(max) => Ok(n as u32),
        Some(_) => Err(ConnectorError::config(field, format!("must be between 1 and {max}"))),
    }
}

/// The first 8 hex digits of the key's 64-bit FNV-1a hash: stable across processes (so every
/// worker shares one budget), short, and not reversible to the key.
pub(crate) fn fingerprint(key: &str) -> String {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{:08x}", hash >> 32)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;
    use synkro_core::{connector::FailureClass, secrets::SecretMap};

    use super::*;

    fn config(public: serde_json::Value, key: Option<&str>) -> ConnectorConfig {
        let mut secrets = SecretMap::new();
        if let Some(key) = key {
            secrets.insert("api_key", Secret::new(key));
        }
        ConnectorConfig::new(public, secrets)
    }

    #[test]
    fn defaults_apply_when_only_the_key_is_set() {
        let parsed = RadistConfig::parse(&config(json!({}), Some("rk_live_abc")), None).unwrap();
        assert_eq!(parsed.base_url, DEFAULT_BASE_URL);
        assert_eq!(parsed.company_id, None);
        assert_eq!((parsed.max_chat_pages, parsed.max_message_pages, parsed.max_chats), (25, 10, 300));
        assert_eq!(parsed.api_key.expose(), "rk_live_abc");
    }

    #[test]
    fn every_field_is_read_and_numbers_may_be_text() {
        let public = json!({
            "base_url": "https://api-ru.radist.online/v2/", "company_id": "205113",
            "max_chat_pages": 3, "max_message_pages": "4", "max_chats": 50,
        });
        let parsed = RadistConfig::parse(&config(public, Some("k-123456")), None).unwrap();
        assert_eq!(parsed.base_url, "https://api-ru.radist.online/v2");
        assert_eq!(parsed.company_id, Some(205_113));
        assert_eq!((parsed.max_chat_pages, parsed.max_message_pages, parsed.max_chats), (3, 4, 50));
    }

    #[test]
    fn the_host_override_wins_over_the_setting_and_the_default() {
        let public = json!({"base_url": "https://api-ru.radist.online/v2"});
        let parsed = RadistConfig::parse(&config(public, Some("k-123456")), Some("http://127.0.0.1:9/v2/")).unwrap();
        assert_eq!(parsed.base_url, "http://127.0.0.1:9/v2");
    }

    #[test]
    fn a_missing_key_or_a_bad_field_is_a_config_error_naming_the_field() {
        let cases = [
            (json!({}), None, "api_key"),
            (json!({"base_url": "api.radist.online/v2"}), Some("k-123456"), "base_url"),
            (json!({"base_url": "https://"}), Some("k-123456"), "base_url"),
            (json!({"company_id": "acme"}), Some("k-123456"), "company_id"),
            (json!({"company_id": -5}), Some("k-123456"), "company_id"),
            (json!({"max_chat_pages": 0}), Some("k-123456"), "max_chat_pages"),
            (json!({"max_message_pages": 1001}), Some("k-123456"), "max_message_pages"),
            (json!({"max_chats": 1.5}), Some("k-123456"), "max_chats"),
            (json!({"max_chats": true}), Some("k-123456"), "max_chats"),
        ];
        for (public, key, field) in cases {
            let err = RadistConfig::parse(&config(public.clone(), key), None).unwrap_err();
            assert_eq!(err.class, FailureClass::Config, "{public}");
            assert!(err.message.starts_with(field), "{public}: {}", err.message);
            assert!(err.hint.unwrap().contains(field));
        }
        let blank = config(json!({"company_id": "", "base_url": "  "}), Some("k-123456"));
        let parsed = RadistConfig::parse(&blank, None).unwrap();
        assert_eq!((parsed.company_id, parsed.base_url.as_str()), (None, DEFAULT_BASE_URL), "blank counts as unset");
    }

    #[test]
    fn the_rate_key_names_the_company_or_a_fingerprint_never_the_key() {
        let key = "rk_live_0123456789abcdefghijklmnopqrstuv";
        let by_company = RadistConfig::parse(&config(json!({"company_id": 7}), Some(key)), None).unwrap();
        assert_eq!(by_company.rate_key(), "radist:7");
        let by_key = RadistConfig::parse(&config(json!({}), Some(key)), None).unwrap();
        let rate_key = by_key.rate_key();
        assert_eq!(rate_key, format!("radist:key-{}", fingerprint(key)));
        assert_eq!(rate_key.len(), "radist:key-".len() + 8);
        assert!(!rate_key.contains(&key[8..16]), "no part of the key leaks: {rate_key}");
        assert_eq!(fingerprint(key), fingerprint(key), "stable");
        assert_ne!(fingerprint(key), fingerprint("rk_live_other"));
    }

    #[test]
    fn debug_output_hides_the_key() {
        let parsed = RadistConfig::parse(&config(json!({}), Some("rk_live_topsecret")), None).unwrap();
        assert!(!format!("{parsed:?}").contains("topsecret"));
    }
}

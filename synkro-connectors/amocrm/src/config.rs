//! amoCRM settings: the account domain, the token kind, caps; parsed and validated.

use synkro_core::{
    Secret,
    connector::{ConnectorConfig, ConnectorError, FailureClass},
};

synkro_core::connector_settings! {
    /// amoCRM settings as a tenant saves them.
    pub struct AmoSettings {
        public {
            /// The account's subdomain, or its full host on amocrm.ru, amocrm.com or kommo.com
            domain: String = "acme or acme.amocrm.ru",
            /// OAuth integration id (only with an access + refresh token pair)
            client_id: Option<String> = "6f1c…",
            /// OAuth redirect URI registered for the integration
            redirect_uri: Option<String> = "https://synkro.example/oauth/amocrm",
            /// Most lead pages (250 leads each) read per report; the job log says when it cuts
            max_pages: Option<i64> = "200",
        }
        secret {
            /// A long-lived token of a private integration (no refresh needed)
            long_lived_token: Option<Secret> = "eyJ0eXAiOi…",
            /// OAuth access token
            access_token: Option<Secret> = "eyJ0eXAiOi…",
            /// OAuth refresh token (rotates on every refresh)
            refresh_token: Option<Secret> = "def50200…",
            /// OAuth integration secret
            client_secret: Option<Secret> = "Xk2…",
            /// When the access token expires (Unix seconds; kept up to date by Synkro)
            expires_at: Option<Secret> = "1767225600",
        }
    }
}

/// How requests are authenticated.
#[derive(Clone, Debug)]
pub enum Auth {
    /// A long-lived token: sent as is, never refreshed.
    LongLived(Secret),
    /// An OAuth pair that rotates.
    OAuth {
        /// Current access token.
        access_token: Secret,
        /// Current refresh token.
        refresh_token: Secret,
        /// When the access token expires (Unix seconds), if known.
        expires_at: Option<i64>,
        /// Integration id.
        client_id: String,
        /// Integration secret.
        client_secret: Secret,
        /// Registered redirect URI.
        redirect_uri: String,
    },
}

/// A parsed amoCRM configuration.
#[derive(Clone, Debug)]
pub struct AmoConfig {
    /// The account's host, e.g. `acme.amocrm.ru`; also the rate-limit key.
    pub host: String,
    /// `https://{host}`, or the host's endpoint override.
    pub base_url: String,
    /// Where OAuth token requests go.
    pub oauth_url: String,
    /// Authentication.
    pub auth: Auth,
    /// Lead page cap.
    pub max_pages: u32,
}

/// Accepts `acme`, `acme.amocrm.ru`, `acme.amocrm.com`, `acme.kommo.com`, with or without
/// `https://` and a trailing slash, and returns the host.
pub fn parse_domain(input: &str) -> Result<String, ConnectorError> {
    let bad = |why: &str| {
        ConnectorError::new(FailureClass::Config, format!("domain {input:?} {why}")).with_hint(
            "enter the account's subdomain (acme) or full host (acme.amocrm.ru, acme.amocrm.com, acme.kommo.com)",
        )
    };
    let trimmed = input.trim().to_ascii_lowercase();
    let without_scheme = trimmed.trim_start_matches("https://").trim_start_matches("http://");
    let host = without_scheme.split(['/', '?']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(bad("is empty"));
    }
    let host = if host.contains('.') { host.to_owned() } else { format!("{host}.amocrm.ru") };
    let sub = ["amocrm.ru", "amocrm.com", "kommo.com"]
        .iter()
        .find_map(|suffix| host.strip_suffix(suffix).and_then(|s| s.strip_suffix('.')))
        .ok_or_else(|| bad("is not on amocrm.ru, amocrm.com or kommo.com"))?;
    let valid = !sub.is_empty()
        && sub != "www"
        && !sub.contains('.')
        && sub.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !valid {
        return Err(bad("has no valid account subdomain"));
    }
    Ok(host)
}

impl AmoConfig {
    /// Parses a connector config; `override_base` and `override_oauth` replace the real
    /// endpoints (sandbox, tests).
    pub fn parse(
        config: &ConnectorConfig,
        override_base: Option<&str>,
        override_oauth: Option<&str>,
    ) -> Result<Self, ConnectorError> {
        let settings = AmoSettings::from_config(config)?;
        let host = parse_domain(&settings.domain)?;
        let base_url = override_base.map(str::to_owned).unwrap_or_else(|| format!("https://{host}"));
        let oauth_url = override_oauth.map(str::to_owned).unwrap_or_else(|| base_url.clone());
        let required =
            |value: Option<Secret>, field: &str| value.ok_or_else(|| ConnectorError::config(field, "is required"));
        let auth = if let Some(token) = settings.long_lived_token {
            Auth::LongLived(token)
        } else if settings.access_token.is_some() || settings.refresh_token.is_some() {
            let expires_at = match settings.expires_at {
                Some(v) => Some(
                    v.expose()
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| ConnectorError::config("expires_at", "must be Unix seconds"))?,
                ),
                None => None,
            };
            Auth::OAuth {
                access_token: required(settings.access_token, "access_token")?,
                refresh_token: required(settings.refresh_token, "refresh_token")?,
                expires_at,
                client_id: settings.client_id.ok_or_else(|| ConnectorError::config("client_id", "is required"))?,
                client_secret: required(settings.client_secret, "client_secret")?,
                redirect_uri: settings
                    .redirect_uri
                    .ok_or_else(|| ConnectorError::config("redirect_uri", "is required"))?,
            }
        } else {
            return Err(ConnectorError::config(
                "long_lived_token",
                "or an OAuth access_token + refresh_token pair is required",
            ));
        };
        let max_pages = match settings.max_pages {
            None => 200,
            Some(n) if (1..=10_000).contains(&n) => n as u32,
            Some(_) => return Err(ConnectorError::config("max_pages", "must be between 1 and 10000")),
        };
        Ok(Self { host, base_url, oauth_url, auth, max_pages })
    }

    /// Every secret in this config, for redaction.
    pub fn secrets(&self) -> Vec<&Secret> {
        match &self.auth {
            Auth::LongLived(token) => vec![token],
            Auth::OAuth { access_token, refresh_token, client_secret, .. } => {
                vec![access_token, refresh_token, client_secret]
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_accepted_as_subdomain_or_full_host() {
        for (input, host) in [
            ("acme", "acme.amocrm.ru"),
            ("Acme.amoCRM.ru", "acme.amocrm.ru"),
            ("https://acme.amocrm.com/", "acme.amocrm.com"),
            ("acme-shop.kommo.com", "acme-shop.kommo.com"),
            ("https://acme.amocrm.ru/leads/pipeline/1", "acme.amocrm.ru"),
        ] {
            assert_eq!(parse_domain(input).unwrap(), host, "{input}");
        }
        for bad in ["", "acme.example.com", "www.amocrm.ru", "amocrm.ru", "a.b.amocrm.ru", "ac me"] {
            let err = parse_domain(bad).unwrap_err();
            assert_eq!(err.class, FailureClass::Config, "{bad}");
            assert!(err.hint.unwrap().contains("acme.amocrm.ru"));
        }
    }
}

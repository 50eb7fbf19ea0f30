//! amoCRM settings: the account domain, the token kind, caps; parsed and validated.

use synkro_core::{
    Secret,
    connector::{ConnectorConfig, ConnectorError, FailureClass, FieldSpec, FieldType},
};

/// Public fields.
pub(crate) const PUBLIC_FIELDS: &[FieldSpec] = &[
    FieldSpec::required(
        "domain",
        "The account's subdomain, or its full host on amocrm.ru, amocrm.com or kommo.com",
        "acme or acme.amocrm.ru",
    ),
    FieldSpec::optional("client_id", "OAuth integration id (only with an access + refresh token pair)", "6f1c…"),
    FieldSpec::optional(
        "redirect_uri",
        "OAuth redirect URI registered for the integration",
        "https://synkro.example/oauth/amocrm",
    ),
    FieldSpec::optional(
        "max_pages",
        "Most lead pages (250 leads each) read per report; the job log says when it cuts",
        "200",
    )
    .typed(FieldType::Integer),
];

/// Secret fields.
pub(crate) const SECRET_FIELDS: &[FieldSpec] = &[
    FieldSpec::optional(
        "long_lived_token",
        "A long-lived token of a private integration (no refresh needed)",
        "eyJ0eXAiOi…",
    ),
    FieldSpec::optional("access_token", "OAuth access token", "eyJ0eXAiOi…"),
    FieldSpec::optional("refresh_token", "OAuth refresh token (rotates on every refresh)", "def50200…"),
    FieldSpec::optional("client_secret", "OAuth integration secret", "Xk2…"),
    FieldSpec::optional(
        "expires_at",
        "When the access token expires (Unix seconds; kept up to date by Synkro)",
        "1767225600",
    ),
];

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
        let host = parse_domain(config.text("domain")?)?;
        let base_url = override_base.map(str::to_owned).unwrap_or_else(|| format!("https://{host}"));
        let oauth_url = override_oauth.map(str::to_owned).unwrap_or_else(|| base_url.clone());
        let auth = if let Some(token) = config.opt_secret("long_lived_token") {
            Auth::LongLived(token.clone())
        } else if config.opt_secret("access_token").is_some() || config.opt_secret("refresh_token").is_some() {
            let expires_at = match config.opt_secret("expires_at") {
                Some(v) => Some(
                    v.expose()
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| ConnectorError::config("expires_at", "must be Unix seconds"))?,
                ),
                None => None,
            };
            Auth::OAuth {
                access_token: config.secret("access_token")?.clone(),
                refresh_token: config.secret("refresh_token")?.clone(),
                expires_at,
                client_id: config.text("client_id")?.to_owned(),
                client_secret: config.secret("client_secret")?.clone(),
                redirect_uri: config.text("redirect_uri")?.to_owned(),
            }
        } else {
            return Err(ConnectorError::config(
                "long_lived_token",
                "or an OAuth access_token + refresh_token pair is required",
            ));
        };
        let max_pages = match config.opt_int("max_pages")? {
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

//! Supabase settings: project URL, table names and the key.

use synkro_core::{
    Secret,
    connector::{ConnectorConfig, ConnectorError, UrlSetting},
};

synkro_core::connector_settings! {
    /// Supabase settings as a tenant saves them.
    pub struct SupabaseSettings {
        public {
            /// The project URL
            url: UrlSetting = "https://abcdefgh.supabase.co",
            /// Table of deal rows, unique on (tenant_id, deal_id)
            deals_table: Option<String> = "deals",
            /// Table of archived reports, unique on (tenant_id, source_report_id)
            reports_table: Option<String> = "reports",
        }
        secret {
            /// A secret key (sb_secret_…) or the legacy service_role JWT (eyJ…); it bypasses
            /// row-level security, keep it server-side
            service_key: Secret = "sb_secret_…",
        }
    }
}

/// Parsed Supabase settings.
#[derive(Clone, Debug)]
pub struct SupabaseConfig {
    /// `{project}/rest/v1`.
    pub rest_url: String,
    /// Deal rows table.
    pub deals_table: String,
    /// Report archive table.
    pub reports_table: String,
    /// The key.
    pub key: Secret,
}

fn table_name(name: Option<&str>, field: &str, default: &str) -> Result<String, ConnectorError> {
    let name = name.unwrap_or(default);
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(name.to_owned())
    } else {
        Err(ConnectorError::config(field, "must be a plain table name (letters, digits, _)"))
    }
}

impl SupabaseConfig {
    /// Parses and validates; `override_base` replaces the project URL (sandbox, tests).
    pub fn parse(config: &ConnectorConfig, override_base: Option<&str>) -> Result<Self, ConnectorError> {
        let settings = SupabaseSettings::from_config(config)?;
        let url = match override_base {
            Some(url) => url.to_owned(),
            None => {
                let url = settings.url.0.as_str();
                if !url.starts_with("https://") && !url.starts_with("http://") {
                    return Err(ConnectorError::config("url", "must start with https://"));
                }
                url.to_owned()
            }
        };
        let origin = url.trim_end_matches('/').trim_end_matches("/rest/v1").to_owned();
        Ok(Self {
            rest_url: format!("{origin}/rest/v1"),
            deals_table: table_name(settings.deals_table.as_deref(), "deals_table", "deals")?,
            reports_table: table_name(settings.reports_table.as_deref(), "reports_table", "reports")?,
            key: settings.service_key,
        })
    }

    /// Whether the key is a legacy JWT (sent as a Bearer token too).
    pub fn is_legacy_jwt(&self) -> bool {
        self.key.expose().starts_with("eyJ")
    }
}

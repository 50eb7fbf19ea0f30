//! Supabase settings: project URL, table names and the key.

use synkro_core::{
    Secret,
    connector::{ConnectorConfig, ConnectorError, FieldSpec, FieldType},
};

pub(crate) const PUBLIC_FIELDS: &[FieldSpec] = &[
    FieldSpec::required("url", "The project URL", "https://abcdefgh.supabase.co").typed(FieldType::Url),
    FieldSpec::optional("deals_table", "Table of deal rows, unique on (tenant_id, deal_id)", "deals"),
    FieldSpec::optional(
        "reports_table",
        "Table of archived reports, unique on (tenant_id, source_report_id)",
        "reports",
    ),
];

pub(crate) const SECRET_FIELDS: &[FieldSpec] = &[FieldSpec::required(
    "service_key",
    "A secret key (sb_secret_…) or the legacy service_role JWT (eyJ…); it bypasses row-level security, keep it server-side",
    "sb_secret_…",
)];

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

fn table_name(config: &ConnectorConfig, field: &str, default: &str) -> Result<String, ConnectorError> {
    let name = config.opt_text(field).unwrap_or(default);
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
        let url = match override_base {
            Some(url) => url.to_owned(),
            None => {
                let url = config.text("url")?;
                if !url.starts_with("https://") && !url.starts_with("http://") {
                    return Err(ConnectorError::config("url", "must start with https://"));
                }
                url.to_owned()
            }
        };
        let origin = url.trim_end_matches('/').trim_end_matches("/rest/v1").to_owned();
        Ok(Self {
            rest_url: format!("{origin}/rest/v1"),
            deals_table: table_name(config, "deals_table", "deals")?,
            reports_table: table_name(config, "reports_table", "reports")?,
            key: config.secret("service_key")?.clone(),
        })
    }

    /// Whether the key is a legacy JWT (sent as a Bearer token too).
    pub fn is_legacy_jwt(&self) -> bool {
        self.key.expose().starts_with("eyJ")
    }
}

//! A connector that lives outside Synkro's own crates: a CRM source that reads deals from a
//! CSV file. It is the starting point for a team adding a connector (docs/connectors.md walks
//! through it). It depends on `synkro-core` without its store, so it compiles no database
//! driver; `examples/own_binary` links it into a `synkro` binary of its own.

use std::{path::PathBuf, sync::Arc};

use async_trait::async_trait;
use futures::{StreamExt, stream};
use serde_json::{Value, json};
use synkro_core::{
    connector::{
        BatchStream, Capabilities, Capability, Connector, ConnectorConfig, ConnectorContext, ConnectorError,
        ConnectorSpec, CrmSource, Deal, DealContact, FailureClass, Registration, SourceBatch, normalize_phone,
    },
    domain::Window,
    time::Timestamp,
};

/// Reads deals from a CSV file with the header `id,name,status,responsible,phone,updated_at`
/// (no quoted fields; `updated_at` in RFC 3339).
#[derive(Debug, Default, Clone, Copy)]
pub struct CsvCrm;

synkro_core::connector_settings! {
    /// What a tenant saves: one struct; the field specs the API and the CLI show are derived
    /// from it.
    pub struct CsvSettings {
        public {
            /// Path of the CSV file on the server
            path: String = "/var/lib/synkro/deals.csv",
        }
        secret {}
    }
}

static SPEC: ConnectorSpec = ConnectorSpec {
    kind: "csv_crm",
    display_name: "CSV file",
    version: "0.1.0",
    description: "Deals from a CSV export, for CRMs without an API",
    public_fields: CsvSettings::PUBLIC_FIELDS,
    secret_fields: CsvSettings::SECRET_FIELDS,
    capabilities: &[Capability::CrmSource],
};

// The one line that makes the connector visible to `Registry::from_linked()`.
inventory::submit! { Registration::new(|| Arc::new(CsvCrm)) }

fn path(config: &ConnectorConfig) -> Result<PathBuf, ConnectorError> {
    Ok(PathBuf::from(CsvSettings::from_config(config)?.path))
}

/// Parses the file into deals. Errors are connector errors with a class and a hint.
fn read_deals(path: &PathBuf) -> Result<Vec<Deal>, ConnectorError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConnectorError::new(FailureClass::Config, format!("cannot read {}: {e}", path.display()))
            .with_hint("check the path setting and that the server may read the file")
    })?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    if header.trim() != "id,name,status,responsible,phone,updated_at" {
        return Err(ConnectorError::new(FailureClass::Config, "unexpected CSV header")
            .with_hint("the first line must be id,name,status,responsible,phone,updated_at"));
    }
    lines
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            let bad = |what: &str| ConnectorError::new(FailureClass::Config, format!("line {}: {what}", n + 2));
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            let [id, name, status, responsible, phone, updated_at] = f[..] else {
                return Err(bad("expected 6 fields"));
            };
            let updated_at: Timestamp = updated_at.parse().map_err(|_| bad("updated_at is not an RFC 3339 time"))?;
            let phones = normalize_phone(phone).into_iter().collect();
            Ok(Deal {
                id: id.parse().map_err(|_| bad("id is not a number"))?,
                name: name.to_owned(),
                status_id: None,
                status: Some(status.to_owned()),
                pipeline_id: None,
                responsible_user_id: None,
                responsible: Some(responsible.to_owned()),
                price: None,
                created_at: updated_at,
                updated_at,
                contacts: vec![DealContact { id: 0, name: None, phones }],
                attrs: json!({"source": "csv"}),
            })
        })
        .collect()
}

#[async_trait]
impl Connector for CsvCrm {
    fn spec(&self) -> &'static ConnectorSpec {
        &SPEC
    }

    /// The cheapest read that proves the real path works: parse the file. No side effects.
    async fn check(&self, config: &ConnectorConfig, _ctx: &ConnectorContext) -> Result<Value, ConnectorError> {
        let deals = read_deals(&path(config)?)?;
        Ok(json!({"deals_in_file": deals.len()}))
    }

    fn build(&self, config: &ConnectorConfig, _ctx: &ConnectorContext) -> Result<Capabilities, ConnectorError> {
        Ok(Capabilities { crm: Some(Arc::new(CsvSource { path: path(config)? })), ..Default::default() })
    }
}

struct CsvSource {
    path: PathBuf,
}

impl CrmSource for CsvSource {
    /// One batch: the deals updated inside the window.
    fn deals(&self, window: Window) -> BatchStream<'_, Deal> {
        let deals = read_deals(&self.path).map(|deals| {
            let inside = deals.into_iter().filter(|d| d.updated_at >= window.start() && d.updated_at < window.end());
            SourceBatch::new(inside.collect())
        });
        stream::once(async move { deals }).boxed()
    }
}

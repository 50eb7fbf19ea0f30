//! PostgREST requests: headers for both key kinds, batched upserts, paged reads, and
//! PostgREST error bodies turned into failure classes.

use std::{collections::HashMap, sync::Arc};

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use synkro_connector_kit::{HttpClient, HttpResponse, Method, RequestSpec, default_classify};
use synkro_core::connector::{ConnectorContext, ConnectorError, FailureClass};

use crate::config::SupabaseConfig;

/// Most rows sent in one upsert request.
pub const UPSERT_BATCH: usize = 500;
/// Rows asked for per read request (Supabase's default cap).
pub const MAX_PAGE_ROWS: usize = 1000;

#[derive(Clone)]
pub(crate) struct Rest {
    http: HttpClient,
    config: SupabaseConfig,
}

impl Rest {
    pub(crate) fn new(config: &SupabaseConfig, ctx: &ConnectorContext) -> Result<Self, ConnectorError> {
        let http = HttpClient::new("supabase", ctx)?.with_secrets([&config.key]).with_classifier(Arc::new(classify));
        Ok(Self { http, config: config.clone() })
    }

    pub(crate) fn config(&self) -> &SupabaseConfig {
        &self.config
    }

    fn request(&self, method: Method, table: &str) -> RequestSpec {
        let mut spec = RequestSpec::new(method, format!("{}/{table}", self.config.rest_url))
            .header("apikey", self.config.key.expose());
        if self.config.is_legacy_jwt() {
            spec = spec.header("Authorization", format!("Bearer {}", self.config.key.expose()));
        }
        spec
    }

    /// `GET /{table}?{query}` as JSON rows.
    pub(crate) async fn select<T: DeserializeOwned>(
        &self,
        table: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<T>, ConnectorError> {
        let mut spec = self.request(Method::GET, table);
        for (name, value) in query {
            spec = spec.query(*name, value);
        }
        self.http.send_json(spec).await
    }

    /// Upserts `rows` by `on_conflict` in batches of at most [`UPSERT_BATCH`]; returns how many
    /// distinct rows were written. A key given twice is sent once, with its later values: PostgREST
    /// refuses a statement that touches one row twice, and the built-in warehouse lets the later
    /// row win.
    pub(crate) async fn upsert<T: Serialize>(
        &self,
        table: &str,
        on_conflict: &str,
        rows: &[T],
    ) -> Result<u64, ConnectorError> {
        let rows: Vec<Value> = rows
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()
            .map_err(|e| ConnectorError::new(FailureClass::Config, format!("cannot encode rows: {e}")))?;
        let columns: Vec<&str> = on_conflict.split(',').collect();
        let key = |row: &Value| -> Vec<String> {
            columns.iter().map(|c| row.get(c).map(Value::to_string).unwrap_or_default()).collect()
        };
        let last: HashMap<Vec<String>, usize> = rows.iter().enumerate().map(|(i, row)| (key(row), i)).collect();
        let rows: Vec<Value> = rows
            .into_iter()
            .enumerate()
            .filter(|(i, row)| last.get(&key(row)) == Some(i))
            .map(|(_, row)| row)
            .collect();
        let mut written = 0;
        for batch in rows.chunks(UPSERT_BATCH) {
            let spec = self
                .request(Method::POST, table)
                .query("on_conflict", on_conflict)
                .header("Prefer", "resolution=merge-duplicates,return=minimal")
                .json(Value::Array(batch.to_vec()));
            self.http.send(spec).await?;
            written += batch.len() as u64;
        }
        Ok(written)
    }
}

/// PostgREST's `{code, message, details, hint}` and the gateway's `{message}`: bad keys are
/// auth, missing tables config, privilege errors permission, pool and timeout errors retryable.
fn classify(resp: &HttpResponse) -> Option<ConnectorError> {
    // A 429 is rate limiting whatever code its body carries (PGRST000 included): the shared
    // reading keeps that class, so it is counted and paced as such.
    if resp.status == 429 {
        return None;
    }
    let body: Value = serde_json::from_slice(&resp.body).ok()?;
    let code = body.get("code").and_then(Value::as_str).unwrap_or_default();
    let base = default_classify(resp);
    let (class, retryable, hint) = match code {
        "PGRST205" | "42P01" => {
            (FailureClass::Config, false, "the table does not exist: create it or fix the table name")
        }
        "PGRST204" | "42703" => (FailureClass::Config, false, "the table lacks a column Synkro writes: add it"),
        "42501" => {
            (FailureClass::Permission, false, "the key may not use this table: use the service key or grant access")
        }
        "PGRST301" => (FailureClass::Auth, false, "Supabase refused the key's JWT"),
        "23505" | "23503" | "23502" => (FailureClass::Config, false, "the table's constraints refused the rows"),
        "PGRST000" | "PGRST001" | "PGRST002" | "PGRST003" | "57014" => {
            (FailureClass::Upstream, true, "the database is busy or unreachable; it will be retried")
        }
        _ if resp.status == 401 => (FailureClass::Auth, false, "Supabase refused the key: copy the service key again"),
        _ => return None,
    };
    // Only codes recognised above are named; the server's message stays out of the error.
    let message = match code {
        "" => format!("HTTP {}", resp.status),
        _ => format!("HTTP {} {code}", resp.status),
    };
    Some(ConnectorError { class, retryable, message, ..base }.with_hint(hint))
}

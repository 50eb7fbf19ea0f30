//! Shared test helpers: contexts with short backoff, configs, deal rows, windows and stream
//! collection.
#![allow(dead_code, clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use serde_json::{Value, json};
use synkro_connector_supabase::SupabaseConnector;
use synkro_core::{
    Secret,
    connector::{
        CheckReport, Connector, ConnectorConfig, ConnectorContext, ConnectorError, DealRow, RowTime, SourceBatch,
        Warehouse,
    },
    domain::Window,
    secrets::SecretMap,
    time::Timestamp,
};
use synkro_sandbox::{RecordedRequest, Sandbox, SandboxConfig, Service};

/// 2026-03-01T00:00:00Z, the start of the test window.
pub const DAY_START: i64 = 1_772_323_200;

/// A context that sends Supabase requests to `base_url`, with a 10 ms backoff base.
pub fn ctx(base_url: &str) -> ConnectorContext {
    let mut ctx = ConnectorContext::default()
        .with_endpoint("supabase", base_url)
        .with_outbound(synkro_core::connector::OutboundPolicy::loopback());
    ctx.http.backoff_base = Duration::from_millis(10);
    ctx
}

/// A started sandbox and a context pointed at its Supabase server.
pub async fn sandbox() -> (Sandbox, ConnectorContext) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let ctx = ctx(&sandbox.url(Service::Supabase));
    (sandbox, ctx)
}

/// A config with `service_key` and the given extra public fields (the project URL is always set;
/// the context's endpoint overrides it).
pub fn config(key: &str, public: Value) -> ConnectorConfig {
    let mut fields = json!({"url": "https://abcdefgh.supabase.co"});
    if let (Some(all), Value::Object(extra)) = (fields.as_object_mut(), public) {
        all.extend(extra);
    }
    let mut secrets = SecretMap::new();
    secrets.insert("service_key", Secret::new(key));
    ConnectorConfig::new(fields, secrets)
}

/// The sandbox's legacy `service_role` JWT config.
pub fn legacy(sandbox: &Sandbox) -> ConnectorConfig {
    config(&sandbox.credentials().supabase_service_key, json!({}))
}

/// The warehouse built from `config`.
pub fn warehouse(config: &ConnectorConfig, ctx: &ConnectorContext) -> Arc<dyn Warehouse> {
    SupabaseConnector.build(config, ctx).unwrap().warehouse.unwrap()
}

/// Every batch of a window read, stopping at the first error.
pub async fn batches(
    warehouse: &dyn Warehouse,
    tenant: &str,
    window: Window,
    by: RowTime,
) -> Result<Vec<SourceBatch<DealRow>>, ConnectorError> {
    let mut stream = warehouse.rows_in_window(tenant, window, by);
    let mut out = Vec::new();
    while let Some(batch) = stream.next().await {
        out.push(batch?);
    }
    Ok(out)
}

/// The sizes of `batches`.
pub fn sizes(batches: &[SourceBatch<DealRow>]) -> Vec<usize> {
    batches.iter().map(|b| b.items.len()).collect()
}

/// The deal ids of every batch, in order.
pub fn ids(batches: &[SourceBatch<DealRow>]) -> Vec<i64> {
    batches.iter().flat_map(|b| b.items.iter().map(|r| r.deal_id)).collect()
}

/// A timestamp from an RFC 3339 string.
pub fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// `DAY_START` + `seconds`.
pub fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(DAY_START + seconds).unwrap()
}

/// The day `[2026-03-01, 2026-03-02)`.
pub fn day() -> Window {
    Window::new(at(0), at(86_400)).unwrap()
}

/// A deal row of `tenant` updated at `updated_at`, with a dialog whose last message is at
/// `last_message_at`.
pub fn deal(tenant: &str, deal_id: i64, updated_at: Option<Timestamp>, last_message_at: Option<Timestamp>) -> DealRow {
    DealRow {
        tenant_id: tenant.to_owned(),
        deal_id,
        deal_name: Some(format!("Deal {deal_id}")),
        status_id: Some(142),
        status: Some("Won".to_owned()),
        responsible: Some("Olga".to_owned()),
        phone: Some("79001234567".to_owned()),
        chat_id: Some(format!("chat-{deal_id}")),
        first_message_at: last_message_at,
        last_message_at,
        messages_count: 3,
        deal_attrs_json: json!({"price": 1000}),
        contact_attrs_json: json!({"name": "Client"}),
        dialog_raw: json!([]),
        dialog_norm: String::new(),
        updated_at,
    }
}

/// `n` rows of tenant `acme`, deal ids `0..n`, updated one second apart from the window start.
pub fn many(n: i64) -> Vec<DealRow> {
    (0..n).map(|i| deal("acme", i, Some(at(i)), Some(at(i)))).collect()
}

/// The requests the sandbox's Supabase server received with `method`.
pub fn requests(sandbox: &Sandbox, method: &str) -> Vec<RecordedRequest> {
    sandbox.requests(Service::Supabase).into_iter().filter(|r| r.method == method).collect()
}

/// The `offset` query value of each request.
pub fn offsets(requests: &[RecordedRequest]) -> Vec<String> {
    requests.iter().map(|r| r.query_value("offset").unwrap_or("-").to_owned()).collect()
}

/// Asserts that neither Display nor Debug of `err` contains `secret`.
pub fn assert_redacted(err: &ConnectorError, secret: &str) {
    let shown = format!("{err} | {err:?}");
    assert!(!shown.contains(secret), "the key leaked into the error: {shown}");
}

/// Asserts that neither Debug nor the JSON of a check report contains `secret`.
pub fn assert_report_redacted(report: &CheckReport, secret: &str) {
    let shown = format!("{report:?} | {}", serde_json::to_string(report).unwrap());
    assert!(!shown.contains(secret), "the key leaked into the check report: {shown}");
}

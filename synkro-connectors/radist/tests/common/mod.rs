//! Shared test helpers: contexts with short backoff, configs, windows, and stream collection.
#![allow(dead_code, clippy::unwrap_used)]

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::Value;
use synkro_connector_radist::RadistConnector;
use synkro_core::connector::InProcessRateLimiter;
use synkro_core::{
    Secret,
    connector::{
        ChatSource, Connector, ConnectorConfig, ConnectorContext, ConnectorError, Dialog, Rate, RateLimiter,
        SourceBatch,
    },
    domain::Window,
    secrets::SecretMap,
    time::Timestamp,
};

/// A context that sends Radist requests to `base_url`, with the real in-process limiter and a
/// 10 ms backoff base.
pub fn ctx(base_url: &str) -> ConnectorContext {
    ctx_with(base_url, Arc::new(InProcessRateLimiter::default()))
}

/// The same with another limiter.
pub fn ctx_with(base_url: &str, limiter: Arc<dyn RateLimiter>) -> ConnectorContext {
    let mut ctx = ConnectorContext::new(limiter)
        .with_endpoint("radist", base_url)
        .with_outbound(synkro_core::connector::OutboundPolicy::loopback());
    ctx.http.backoff_base = Duration::from_millis(10);
    ctx
}

/// A limiter that never waits and records every key and rate it was asked for (for tests that
/// read many chats, and to pin the rate key).
#[derive(Default)]
pub struct RecordingLimiter {
    pub acquired: Mutex<Vec<(String, f64)>>,
}

#[async_trait]
impl RateLimiter for RecordingLimiter {
    async fn acquire(&self, key: &str, rate: Rate) {
        self.acquired.lock().unwrap().push((key.to_owned(), rate.per_second));
    }

    async fn penalize(&self, _key: &str, _pause: Duration) {}
}

/// A config with `api_key` and the given public fields.
pub fn config(api_key: &str, public: Value) -> ConnectorConfig {
    let mut secrets = SecretMap::new();
    secrets.insert("api_key", Secret::new(api_key));
    ConnectorConfig::new(public, secrets)
}

/// `[start, end)` from RFC 3339 strings.
pub fn window(start: &str, end: &str) -> Window {
    Window::new(start.parse().unwrap(), end.parse().unwrap()).unwrap()
}

/// The chat source built from `config`.
pub fn source(config: &ConnectorConfig, ctx: &ConnectorContext) -> Arc<dyn ChatSource> {
    RadistConnector.build(config, ctx).unwrap().chat.unwrap()
}

/// Every batch of a dialogs stream, stopping after the first error.
pub async fn batches(
    source: &dyn ChatSource,
    window: Window,
    phones: Option<HashSet<String>>,
) -> Result<Vec<SourceBatch<Dialog>>, ConnectorError> {
    let mut stream = source.dialogs(window, phones.map(Arc::new));
    let mut out = Vec::new();
    while let Some(batch) = stream.next().await {
        out.push(batch?);
    }
    Ok(out)
}

/// Every dialog of a dialogs stream.
pub async fn dialogs(source: &dyn ChatSource, window: Window, phones: Option<HashSet<String>>) -> Vec<Dialog> {
    batches(source, window, phones).await.unwrap().into_iter().flat_map(|b| b.items).collect()
}

/// A timestamp from an RFC 3339 string.
pub fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Asserts that neither Display nor Debug of `err` contains `secret`.
pub fn assert_redacted(err: &ConnectorError, secret: &str) {
    let shown = format!("{err} | {err:?}");
    assert!(!shown.contains(secret), "the key leaked into the error: {shown}");
}

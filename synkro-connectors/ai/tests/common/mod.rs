//! Shared helpers: contexts with short backoff, configs, the language model built from them,
//! requests, recorded bodies and redaction checks.
#![allow(dead_code, clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use serde_json::Value;
use synkro_connector_ai::AiConnector;
use synkro_core::{
    Secret,
    connector::{
        CheckReport, CompletionRequest, Connector, ConnectorConfig, ConnectorContext, ConnectorError, LanguageModel,
    },
    secrets::SecretMap,
};
use synkro_sandbox::{RecordedRequest, Sandbox, SandboxConfig, Service};

/// A sandbox with the default data.
pub async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::default()).await
}

/// A context that sends AI requests to `base_url`, with a 10 ms backoff base.
pub fn ctx(base_url: &str) -> ConnectorContext {
    let mut ctx = ConnectorContext::default()
        .with_endpoint("ai", base_url)
        .with_outbound(synkro_core::connector::OutboundPolicy::loopback());
    ctx.http.backoff_base = Duration::from_millis(10);
    ctx
}

/// A config with `api_key` and the given public fields.
pub fn config(api_key: &str, public: Value) -> ConnectorConfig {
    let mut secrets = SecretMap::new();
    secrets.insert("api_key", Secret::new(api_key));
    ConnectorConfig::new(public, secrets)
}

/// The language model built from `config` against `ctx`.
pub fn model(config: &ConnectorConfig, ctx: &ConnectorContext) -> Arc<dyn LanguageModel> {
    AiConnector.build(config, ctx).unwrap().llm.unwrap()
}

/// A request for a summary of three lines, at most `max_output_tokens` tokens.
pub fn request(max_output_tokens: u32) -> CompletionRequest {
    CompletionRequest {
        system: "You summarise sales reports.".into(),
        context: "deal 1: won\ndeal 2: lost\ndeal 3: open".into(),
        temperature: Some(0.2),
        max_output_tokens,
    }
}

/// Requests `service` received whose path ends with `suffix`.
pub fn requests_to(sandbox: &Sandbox, service: Service, suffix: &str) -> Vec<RecordedRequest> {
    sandbox.requests(service).into_iter().filter(|r| r.path.ends_with(suffix)).collect()
}

/// The JSON body of a recorded request.
pub fn body(request: &RecordedRequest) -> Value {
    serde_json::from_str(request.body.as_deref().unwrap()).unwrap()
}

/// Asserts that neither Display nor Debug of `err` contains `secret`.
pub fn assert_redacted(err: &ConnectorError, secret: &str) {
    let shown = format!("{err} | {err:?}");
    assert!(!shown.contains(secret), "the key leaked into the error: {shown}");
}

/// Asserts that neither Debug nor the JSON of `report` contains `secret`.
pub fn assert_report_redacted(report: &CheckReport, secret: &str) {
    let shown = format!("{report:?} | {}", serde_json::to_string(report).unwrap());
    assert!(!shown.contains(secret), "the key leaked into the check report: {shown}");
}

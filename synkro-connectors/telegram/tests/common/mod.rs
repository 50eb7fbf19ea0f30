//! Shared helpers: a sandbox with a short per-chat interval, contexts with short backoff,
//! configs, the messenger built from them, and redaction checks.
#![allow(dead_code, clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use synkro_connector_telegram::TelegramConnector;
use synkro_core::{
    Secret,
    connector::{CheckReport, Connector, ConnectorConfig, ConnectorContext, ConnectorError, Messenger},
    secrets::SecretMap,
};
use synkro_sandbox::{Sandbox, SandboxConfig, SentMessage, Service};

/// A sandbox whose Telegram server accepts a message per chat every 200 ms (the connector
/// still paces itself at one per second, so these tests never see the server's flood control
/// unless they ask for it).
pub async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig { telegram_chat_interval: Duration::from_millis(200), ..Default::default() }).await
}

/// A context that sends Telegram requests to `base_url`, with the real in-process limiter and
/// a 10 ms backoff base.
pub fn ctx(base_url: &str) -> ConnectorContext {
    let mut ctx = ConnectorContext::default()
        .with_endpoint("telegram", base_url)
        .with_outbound(synkro_core::connector::OutboundPolicy::loopback());
    ctx.http.backoff_base = Duration::from_millis(10);
    ctx
}

/// A config with `bot_token` and `chat_id`.
pub fn config(token: &str, chat_id: &str) -> ConnectorConfig {
    let mut secrets = SecretMap::new();
    secrets.insert("bot_token", Secret::new(token));
    ConnectorConfig::new(serde_json::json!({"chat_id": chat_id}), secrets)
}

/// The sandbox's token and configured chat.
pub fn sandbox_config(sandbox: &Sandbox) -> ConnectorConfig {
    let creds = sandbox.credentials();
    config(&creds.telegram_bot_token, &creds.telegram_chat_id.to_string())
}

/// The sandbox's context.
pub fn sandbox_ctx(sandbox: &Sandbox) -> ConnectorContext {
    ctx(&sandbox.url(Service::Telegram))
}

/// The messenger built from `config` against `ctx`.
pub fn messenger(config: &ConnectorConfig, ctx: &ConnectorContext) -> Arc<dyn Messenger> {
    TelegramConnector.build(config, ctx).unwrap().messenger.unwrap()
}

/// The messenger for the sandbox's configured chat.
pub fn sandbox_messenger(sandbox: &Sandbox) -> Arc<dyn Messenger> {
    messenger(&sandbox_config(sandbox), &sandbox_ctx(sandbox))
}

/// Texts the sandbox accepted, in order.
pub fn texts(sent: &[SentMessage]) -> Vec<&str> {
    sent.iter().map(|m| m.text.as_str()).collect()
}

/// Asserts that neither Display nor Debug of `err` contains `secret`.
pub fn assert_redacted(err: &ConnectorError, secret: &str) {
    let shown = format!("{err} | {err:?}");
    assert!(!shown.contains(secret), "the token leaked into the error: {shown}");
}

/// Asserts that neither Debug nor the JSON of `report` contains `secret`.
pub fn assert_report_redacted(report: &CheckReport, secret: &str) {
    let shown = format!("{report:?} | {}", serde_json::to_string(report).unwrap());
    assert!(!shown.contains(secret), "the token leaked into the check report: {shown}");
}

/// UTF-16 code units, as Telegram counts a message's length.
pub fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

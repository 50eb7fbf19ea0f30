//! The connector plugin API: the [`Connector`] trait every integration implements, the
//! capability traits the report pipeline uses, and the registry.
//!
//! A connector describes itself ([`ConnectorSpec`]), checks credentials with the cheapest read
//! that proves the real path works, and builds [`Capabilities`] from a tenant's decrypted
//! configuration. Its failures carry a [`FailureClass`] that retry policy matches on.

mod capability;
mod context;
mod error;
mod limiter;
mod outbound;
mod phone;
mod registry;
mod settings;
mod spec;

use std::time::Instant;

use async_trait::async_trait;
use serde_json::{Map, Value};

pub use capability::*;
pub use context::{
    ConnectorContext, ConnectorMetrics, DiscardTokens, HttpSettings, KeyedLocks, KindCounters, Rate, RateLimiter,
    SharedCache, TokenSink,
};
pub use error::{CheckReport, ConnectorError, FailureClass};
pub use limiter::{DEFAULT_MARGIN, InProcessRateLimiter};
pub use outbound::{OutboundPolicy, OutboundRefusal, is_public};
pub use phone::normalize_phone;
pub use registry::{Registration, Registry, RegistryError};
pub use settings::{SettingValue, UrlSetting, read_settings};
pub use spec::{Capability, ConnectorSpec, FieldSpec, FieldType};

use crate::secrets::{Secret, SecretMap};

/// A tenant's configuration for one connector, decrypted: public fields and secret fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectorConfig {
    /// Non-secret fields.
    pub public: Map<String, Value>,
    /// Secret fields.
    pub secrets: SecretMap,
}

impl ConnectorConfig {
    /// A config from a public JSON object and secrets (a non-object public value counts as
    /// empty).
    pub fn new(public: Value, secrets: SecretMap) -> Self {
        let public = match public {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Self { public, secrets }
    }

    /// An optional secret field (empty counts as missing).
    pub fn opt_secret(&self, field: &str) -> Option<&Secret> {
        self.secrets.get(field).filter(|s| !s.expose().trim().is_empty())
    }
}

/// An integration: describes itself, checks credentials and builds capabilities.
#[async_trait]
pub trait Connector: Send + Sync + 'static {
    /// What this connector is and which fields it takes.
    fn spec(&self) -> &'static ConnectorSpec;

    /// Checks the credentials with the cheapest read that proves the real path works. No side
    /// effects: no messages sent, no webhooks registered. Returns what it learned (account
    /// name, bot username, ...), never secrets. Call through [`run_check`], which adds the
    /// hard timeout and measures latency.
    async fn check(&self, config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<Value, ConnectorError>;

    /// Builds this connector's capabilities for one tenant's configuration.
    fn build(&self, config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<Capabilities, ConnectorError>;
}

/// Runs a connector's check under the context's hard timeout and reports its latency.
pub async fn run_check(connector: &dyn Connector, config: &ConnectorConfig, ctx: &ConnectorContext) -> CheckReport {
    let started = Instant::now();
    let limit = ctx.http.check_timeout;
    let result = match tokio::time::timeout(limit, connector.check(config, ctx)).await {
        Ok(result) => result,
        Err(_) => Err(ConnectorError::new(FailureClass::Network, format!("no answer within {}s", limit.as_secs()))
            .with_hint("the service is slow or unreachable; try again later")),
    };
    CheckReport::from_result(result, started.elapsed())
}

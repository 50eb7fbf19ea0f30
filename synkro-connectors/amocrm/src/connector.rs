//! The [`Connector`] implementation: spec, credential check, capabilities.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use synkro_core::connector::{
    Capabilities, Capability, Connector, ConnectorConfig, ConnectorContext, ConnectorError, ConnectorSpec,
};

use crate::{
    client::AmoClient,
    config::{AmoConfig, AmoSettings},
    model::Account,
    source::AmoSource,
};

/// The amoCRM connector (kind `amocrm`).
#[derive(Debug, Default, Clone, Copy)]
pub struct AmoCrmConnector;

static SPEC: ConnectorSpec = ConnectorSpec {
    kind: "amocrm",
    display_name: "amoCRM",
    version: env!("CARGO_PKG_VERSION"),
    description: "Deals, stages, managers and contact phones from amoCRM or Kommo (read-only)",
    public_fields: AmoSettings::PUBLIC_FIELDS,
    secret_fields: AmoSettings::SECRET_FIELDS,
    capabilities: &[Capability::CrmSource],
};

fn parse(config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<AmoConfig, ConnectorError> {
    AmoConfig::parse(config, ctx.endpoint("amocrm"), ctx.endpoint("amocrm_oauth"))
}

#[async_trait]
impl Connector for AmoCrmConnector {
    fn spec(&self) -> &'static ConnectorSpec {
        &SPEC
    }

    /// `GET /api/v4/account`: allowed for every user, proves domain and token in one read.
    async fn check(&self, config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<Value, ConnectorError> {
        let config = parse(config, ctx)?;
        let client = AmoClient::new(&config, ctx)?;
        let account: Option<Account> = client.get("/api/v4/account", &[]).await?;
        let account = account.ok_or_else(|| {
            ConnectorError::new(
                synkro_core::connector::FailureClass::Upstream,
                "amoCRM answered the account request with no content",
            )
        })?;
        Ok(json!({"account_id": account.id, "name": account.name, "subdomain": account.subdomain}))
    }

    fn build(&self, config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<Capabilities, ConnectorError> {
        let config = parse(config, ctx)?;
        let client = Arc::new(AmoClient::new(&config, ctx)?);
        let source = AmoSource {
            client,
            max_pages: config.max_pages,
            cache: ctx.cache.clone(),
            account: config.host.clone(),
            locks: ctx.locks.clone(),
        };
        Ok(Capabilities { crm: Some(Arc::new(source)), ..Default::default() })
    }
}

//! The [`Connector`] implementation: spec, credential check, capabilities.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use synkro_core::connector::{
    Capabilities, Capability, Connector, ConnectorConfig, ConnectorContext, ConnectorError, ConnectorSpec,
};

use crate::{
    client::RadistClient,
    config::{RadistConfig, RadistSettings},
    source::{Caps, RadistSource, no_whatsapp},
};

/// The Radist.Online connector (kind `radist`).
#[derive(Debug, Default, Clone, Copy)]
pub struct RadistConnector;

static SPEC: ConnectorSpec = ConnectorSpec {
    kind: "radist",
    display_name: "Radist",
    version: env!("CARGO_PKG_VERSION"),
    description: "WhatsApp and WhatsApp Business dialogs from Radist.Online (read-only)",
    public_fields: RadistSettings::PUBLIC_FIELDS,
    secret_fields: RadistSettings::SECRET_FIELDS,
    capabilities: &[Capability::ChatSource],
};

fn parse(config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<RadistConfig, ConnectorError> {
    RadistConfig::parse(config, ctx.endpoint("radist"))
}

#[async_trait]
impl Connector for RadistConnector {
    fn spec(&self) -> &'static ConnectorSpec {
        &SPEC
    }

    /// `GET /companies/` proves the key and finds the company; its chat sources prove the
    /// company and the `messaging` scope, and that a WhatsApp or WABA connection exists.
    async fn check(&self, config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<Value, ConnectorError> {
        let config = parse(config, ctx)?;
        let client = RadistClient::new(&config, ctx)?;
        let company = client.find_company().await?;
        let sources = client.sources(company.id).await?;
        let whatsapp = sources.iter().filter(|s| s.is_whatsapp()).count();
        if whatsapp == 0 {
            return Err(no_whatsapp(company.id));
        }
        let listed: Vec<Value> = sources
            .iter()
            .map(|s| {
                let id = s.connection_id.0.parse::<i64>().map_or_else(|_| json!(s.connection_id.0), |n| json!(n));
                json!({"connection_id": id, "type": s.kind()})
            })
            .collect();
        Ok(json!({
            "company_id": company.id,
            "company_name": company.name,
            "sources": listed,
            "whatsapp_sources": whatsapp,
        }))
    }

    fn build(&self, config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<Capabilities, ConnectorError> {
        let config = parse(config, ctx)?;
        let client = Arc::new(RadistClient::new(&config, ctx)?);
        let caps = Caps {
            chat_pages: config.max_chat_pages,
            message_pages: config.max_message_pages,
            chats: config.max_chats,
        };
        Ok(Capabilities { chat: Some(Arc::new(RadistSource { client, caps })), ..Default::default() })
    }
}

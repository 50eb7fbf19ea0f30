//! The [`Connector`] and [`LanguageModel`] implementations.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use synkro_connector_kit::HttpClient;
use synkro_core::connector::{
    Capabilities, Capability, Completion, CompletionRequest, Connector, ConnectorConfig, ConnectorContext,
    ConnectorError, ConnectorSpec, FailureClass, LanguageModel,
};

use crate::{
    config::{AiConfig, AiSettings, Provider},
    gemini, openai,
};

/// The AI connector (kind `ai`).
#[derive(Debug, Default, Clone, Copy)]
pub struct AiConnector;

static SPEC: ConnectorSpec = ConnectorSpec {
    kind: "ai",
    display_name: "AI provider",
    version: env!("CARGO_PKG_VERSION"),
    description: "Writes report texts and answers follow-up questions (OpenAI-compatible APIs or Google Gemini)",
    public_fields: AiSettings::PUBLIC_FIELDS,
    secret_fields: AiSettings::SECRET_FIELDS,
    capabilities: &[Capability::LanguageModel],
};

/// The provider behind a configuration.
pub(crate) struct Ai {
    http: HttpClient,
    config: AiConfig,
}

impl Ai {
    fn new(config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<Self, ConnectorError> {
        let config = AiConfig::parse(config, ctx.endpoint("ai"))?;
        // Completions take a while: the integration's own limit (two minutes unless set).
        let mut ctx = ctx.clone();
        ctx.http.request_timeout = config.timeout;
        let http = HttpClient::new("ai", &ctx)?.with_secrets([&config.api_key]);
        let http = match config.provider {
            Provider::OpenAi => openai::with_classifier(http),
            Provider::Gemini => gemini::with_classifier(http),
        };
        Ok(Self { http, config })
    }
}

#[async_trait]
impl LanguageModel for Ai {
    async fn complete(&self, request: &CompletionRequest) -> Result<Completion, ConnectorError> {
        match self.config.provider {
            Provider::OpenAi => openai::complete(&self.http, &self.config, request).await,
            Provider::Gemini => gemini::complete(&self.http, &self.config, request).await,
        }
    }

    async fn list_models(&self) -> Result<Vec<String>, ConnectorError> {
        match self.config.provider {
            Provider::OpenAi => openai::list_models(&self.http, &self.config).await,
            Provider::Gemini => gemini::list_models(&self.http, &self.config).await,
        }
    }
}

#[async_trait]
impl Connector for AiConnector {
    fn spec(&self) -> &'static ConnectorSpec {
        &SPEC
    }

    /// Lists models (costs no tokens) and checks the configured one is among them.
    async fn check(&self, config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<Value, ConnectorError> {
        let ai = Ai::new(config, ctx)?;
        let models = ai.list_models().await?;
        if !models.iter().any(|m| m == &ai.config.model) {
            let some: Vec<_> = models.iter().take(10).map(String::as_str).collect();
            return Err(ConnectorError::new(
                FailureClass::Config,
                format!("model {:?} is not available to this key", ai.config.model),
            )
            .with_hint(format!("pick one of: {}", some.join(", "))));
        }
        let provider = match ai.config.provider {
            Provider::OpenAi => "openai",
            Provider::Gemini => "gemini",
        };
        Ok(json!({"provider": provider, "model": ai.config.model, "models_available": models.len()}))
    }

    fn build(&self, config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<Capabilities, ConnectorError> {
        Ok(Capabilities { llm: Some(Arc::new(Ai::new(config, ctx)?)), ..Default::default() })
    }
}

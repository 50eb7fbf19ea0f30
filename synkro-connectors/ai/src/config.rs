//! AI settings: provider, model, base URL, generation limits, the API key.

use synkro_core::{
    Secret,
    connector::{ConnectorConfig, ConnectorError, FieldSpec, FieldType},
};

pub(crate) const PUBLIC_FIELDS: &[FieldSpec] = &[
    FieldSpec::required("provider", "Which API: openai (or any OpenAI-compatible vendor) or gemini", "openai")
        .choice(&["openai", "gemini"]),
    FieldSpec::required("model", "Model id, as the provider's model list shows it", "gpt-4o-mini"),
    FieldSpec::optional("base_url", "API base URL for OpenAI-compatible vendors", "https://api.openai.com/v1")
        .typed(FieldType::Url),
    FieldSpec::optional("max_output_tokens", "Most tokens the model may write per answer", "2000")
        .typed(FieldType::Integer),
    FieldSpec::optional("temperature", "Sampling temperature, 0 to 2 (ignored by reasoning models)", "0.2"),
    FieldSpec::optional(
        "token_param",
        "Which output-limit field to send: auto, max_completion_tokens or max_tokens",
        "auto",
    )
    .choice(&["auto", "max_completion_tokens", "max_tokens"]),
    FieldSpec::optional("timeout_seconds", "How long to wait for one answer, 1 to 600 seconds (default 120)", "120")
        .typed(FieldType::Integer),
];

pub(crate) const SECRET_FIELDS: &[FieldSpec] = &[FieldSpec::required("api_key", "The provider's API key", "sk-…")];

/// Which API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// OpenAI or a vendor with the same API.
    OpenAi,
    /// Google Gemini.
    Gemini,
}

/// Which field carries the output-token limit (OpenAI-compatible only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenParam {
    /// `max_completion_tokens` (OpenAI; required by reasoning models).
    MaxCompletionTokens,
    /// `max_tokens` (most other vendors).
    MaxTokens,
}

/// Parsed AI settings.
#[derive(Clone, Debug)]
pub struct AiConfig {
    /// Which API.
    pub provider: Provider,
    /// Model id (without Gemini's `models/` prefix).
    pub model: String,
    /// API base URL.
    pub base_url: String,
    /// The key.
    pub api_key: Secret,
    /// Most output tokens per answer (default 2000): caps each request's own limit.
    pub max_output_tokens: u32,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Output-limit field.
    pub token_param: TokenParam,
    /// How long one answer may take (default 120 s: completions take a while).
    pub timeout: std::time::Duration,
}

impl AiConfig {
    /// Parses and validates; `override_base` replaces the base URL (sandbox, tests).
    pub fn parse(config: &ConnectorConfig, override_base: Option<&str>) -> Result<Self, ConnectorError> {
        let provider = match config.text("provider")? {
            "openai" => Provider::OpenAi,
            "gemini" => Provider::Gemini,
            other => {
                return Err(ConnectorError::config("provider", format!("{other:?} is not one of: openai, gemini")));
            }
        };
        let model = config.text("model")?.trim_start_matches("models/").to_owned();
        let default_base = match provider {
            Provider::OpenAi => "https://api.openai.com/v1",
            Provider::Gemini => "https://generativelanguage.googleapis.com/v1beta",
        };
        let configured_base = config.opt_text("base_url");
        let base_url = override_base.or(configured_base).unwrap_or(default_base).trim_end_matches('/').to_owned();
        let max_output_tokens = match config.opt_int("max_output_tokens")? {
            None => 2000,
            Some(n) if (1..=200_000).contains(&n) => n as u32,
            Some(_) => return Err(ConnectorError::config("max_output_tokens", "must be between 1 and 200000")),
        };
        let temperature = match config.public.get("temperature") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => {
                let t = v.as_f64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
                match t {
                    Some(t) if (0.0..=2.0).contains(&t) => Some(t as f32),
                    _ => return Err(ConnectorError::config("temperature", "must be a number from 0 to 2")),
                }
            }
        };
        let official = configured_base.is_none_or(|b| b.contains("api.openai.com"));
        let token_param = match config.opt_text("token_param").unwrap_or("auto") {
            "max_completion_tokens" => TokenParam::MaxCompletionTokens,
            "max_tokens" => TokenParam::MaxTokens,
            "auto" if official => TokenParam::MaxCompletionTokens,
            "auto" => TokenParam::MaxTokens,
            other => {
                return Err(ConnectorError::config(
                    "token_param",
                    format!("{other:?} is not one of: auto, max_completion_tokens, max_tokens"),
                ));
            }
        };
        let timeout = match config.opt_int("timeout_seconds")? {
            None => 120,
            Some(n) if (1..=600).contains(&n) => n as u64,
            Some(_) => return Err(ConnectorError::config("timeout_seconds", "must be between 1 and 600")),
        };
        Ok(Self {
            provider,
            model,
            base_url,
            api_key: config.secret("api_key")?.clone(),
            max_output_tokens,
            temperature,
            token_param,
            timeout: std::time::Duration::from_secs(timeout),
        })
    }

    /// Whether the model is a reasoning model that rejects a non-default temperature.
    pub fn is_reasoning_model(&self) -> bool {
        let m = self.model.to_ascii_lowercase();
        ["o1", "o3", "o4", "gpt-5"].iter().any(|p| m.starts_with(p))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;
    use synkro_core::secrets::SecretMap;

    use super::*;

    fn config(public: serde_json::Value) -> ConnectorConfig {
        let secrets: SecretMap = [("api_key".to_owned(), Secret::new("sk-test"))].into_iter().collect();
        ConnectorConfig::new(public, secrets)
    }

    #[test]
    fn openai_itself_gets_max_completion_tokens_and_other_vendors_max_tokens() {
        let c = AiConfig::parse(&config(json!({"provider": "openai", "model": "gpt-4o-mini"})), None).unwrap();
        assert_eq!(
            (c.token_param, c.base_url.as_str()),
            (TokenParam::MaxCompletionTokens, "https://api.openai.com/v1")
        );
        let c = AiConfig::parse(
            &config(json!({"provider": "openai", "model": "llama", "base_url": "https://llm.example/v1/"})),
            None,
        )
        .unwrap();
        assert_eq!((c.token_param, c.base_url.as_str()), (TokenParam::MaxTokens, "https://llm.example/v1"));
        let c =
            AiConfig::parse(&config(json!({"provider": "gemini", "model": "models/gemini-2.0-flash"})), None).unwrap();
        assert_eq!(c.model, "gemini-2.0-flash");
    }

    #[test]
    fn bad_settings_name_their_field() {
        for (public, field) in [
            (json!({"provider": "claude", "model": "x"}), "provider"),
            (json!({"provider": "openai"}), "model"),
            (json!({"provider": "openai", "model": "x", "temperature": 3}), "temperature"),
            (json!({"provider": "openai", "model": "x", "max_output_tokens": 0}), "max_output_tokens"),
        ] {
            let err = AiConfig::parse(&config(public), None).unwrap_err();
            assert!(err.message.starts_with(field), "{err}");
        }
    }
}

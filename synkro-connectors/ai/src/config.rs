//! AI settings: provider, model, base URL, generation limits, the API key.

use synkro_core::{
    Secret,
    connector::{ConnectorConfig, ConnectorError, FieldType, SettingValue, UrlSetting},
};

synkro_core::connector_settings! {
    /// AI settings as a tenant saves them.
    pub struct AiSettings {
        public {
            /// Which API: openai (or any OpenAI-compatible vendor) or gemini
            provider: Provider = "openai",
            /// Model id, as the provider's model list shows it
            model: String = "gpt-4o-mini",
            /// API base URL for OpenAI-compatible vendors
            base_url: Option<UrlSetting> = "https://api.openai.com/v1",
            /// Most tokens the model may write per answer
            max_output_tokens: Option<i64> = "2000",
            /// Sampling temperature, 0 to 2 (ignored by reasoning models)
            temperature: Option<Temperature> = "0.2",
            /// Which output-limit field to send: auto, max_completion_tokens or max_tokens
            token_param: Option<TokenParamSetting> = "auto",
            /// How long to wait for one answer, 1 to 600 seconds (default 120)
            timeout_seconds: Option<i64> = "120",
        }
        secret {
            /// The provider's API key
            api_key: Secret = "sk-…",
        }
    }
}

/// A sampling temperature as saved: a number, or text holding one.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize)]
#[serde(untagged)]
pub enum Temperature {
    /// A number.
    Number(f64),
    /// Text holding a number.
    Text(#[serde(deserialize_with = "number_text")] f64),
}

fn number_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(d)?;
    text.trim().parse().map_err(serde::de::Error::custom)
}

impl Temperature {
    fn value(self) -> f64 {
        match self {
            Self::Number(t) | Self::Text(t) => t,
        }
    }
}

impl SettingValue for Temperature {
    const TYPE: FieldType = FieldType::String;
}

/// Which API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// OpenAI or a vendor with the same API.
    OpenAi,
    /// Google Gemini.
    Gemini,
}

impl SettingValue for Provider {
    const TYPE: FieldType = FieldType::Choice;
    const CHOICES: &'static [&'static str] = &["openai", "gemini"];
}

/// The `token_param` setting: which output-limit field to send, or `auto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenParamSetting {
    /// `max_completion_tokens` for OpenAI itself, `max_tokens` for other vendors.
    Auto,
    /// Always `max_completion_tokens`.
    MaxCompletionTokens,
    /// Always `max_tokens`.
    MaxTokens,
}

impl SettingValue for TokenParamSetting {
    const TYPE: FieldType = FieldType::Choice;
    const CHOICES: &'static [&'static str] = &["auto", "max_completion_tokens", "max_tokens"];
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
        let settings = AiSettings::from_config(config)?;
        let provider = settings.provider;
        let model = settings.model.trim_start_matches("models/").to_owned();
        let default_base = match provider {
            Provider::OpenAi => "https://api.openai.com/v1",
            Provider::Gemini => "https://generativelanguage.googleapis.com/v1beta",
        };
        let configured_base = settings.base_url.as_ref().map(|url| url.0.as_str());
        let base_url = override_base.or(configured_base).unwrap_or(default_base).trim_end_matches('/').to_owned();
        let max_output_tokens = match settings.max_output_tokens {
            None => 2000,
            Some(n) if (1..=200_000).contains(&n) => n as u32,
            Some(_) => return Err(ConnectorError::config("max_output_tokens", "must be between 1 and 200000")),
        };
        let temperature = match settings.temperature.map(Temperature::value) {
            None => None,
            Some(t) if (0.0..=2.0).contains(&t) => Some(t as f32),
            Some(_) => return Err(ConnectorError::config("temperature", "must be a number from 0 to 2")),
        };
        let official = configured_base.is_none_or(|b| b.contains("api.openai.com"));
        let token_param = match settings.token_param.unwrap_or(TokenParamSetting::Auto) {
            TokenParamSetting::MaxCompletionTokens => TokenParam::MaxCompletionTokens,
            TokenParamSetting::MaxTokens => TokenParam::MaxTokens,
            TokenParamSetting::Auto if official => TokenParam::MaxCompletionTokens,
            TokenParamSetting::Auto => TokenParam::MaxTokens,
        };
        let timeout = match settings.timeout_seconds {
            None => 120,
            Some(n) if (1..=600).contains(&n) => n as u64,
            Some(_) => return Err(ConnectorError::config("timeout_seconds", "must be between 1 and 600")),
        };
        Ok(Self {
            provider,
            model,
            base_url,
            api_key: settings.api_key,
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

//! The AI connector: one configuration, two providers behind the language-model capability.
//!
//! - **OpenAI-compatible** (`provider = "openai"`): `POST {base}/chat/completions` with a
//!   configurable base URL, `GET {base}/models`; `Authorization: Bearer`. Sends
//!   `max_completion_tokens` to OpenAI itself and `max_tokens` to other vendors (override with
//!   `token_param`); reasoning models get no temperature.
//! - **Google Gemini** (`provider = "gemini"`): `POST {base}/models/{model}:generateContent`,
//!   `GET {base}/models`; the key goes in the `x-goog-api-key` header, never in the URL.
//!
//! A check proves the key works and the configured model exists. A truncated answer (finish
//! reason `length` / `MAX_TOKENS`) is reported; an exhausted billing quota is not retried;
//! 429 and 5xx are.

mod config;
mod connector;
mod gemini;
mod openai;

use std::sync::Arc;

pub use config::{AiConfig, AiSettings, Provider, Temperature, TokenParam, TokenParamSetting};
pub use connector::AiConnector;

inventory::submit! {
    synkro_core::connector::Registration::new(|| Arc::new(AiConnector))
}

//! The OpenAI-compatible API: chat completions and the model list.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use synkro_connector_kit::{HttpClient, HttpResponse, Method, RequestSpec, default_classify};
use synkro_core::connector::{Completion, CompletionRequest, ConnectorError, FailureClass};

use crate::config::{AiConfig, TokenParam};

#[derive(Deserialize)]
struct Models {
    data: Vec<ModelEntry>,
}

#[derive(Deserialize)]
struct ModelEntry {
    id: String,
}

#[derive(Deserialize)]
struct ChatCompletion {
    model: Option<String>,
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    finish_reason: Option<String>,
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
    refusal: Option<String>,
}

pub(crate) fn with_classifier(http: HttpClient) -> HttpClient {
    http.with_classifier(Arc::new(classify))
}

/// OpenAI's error body `{error: {message, type, code}}`: a billing quota is a 429 that must not
/// be retried; a bad key is auth; an unknown model is config.
fn classify(resp: &HttpResponse) -> Option<ConnectorError> {
    let body: Value = serde_json::from_slice(&resp.body).ok()?;
    let error = body.get("error")?;
    let code = error.get("code").and_then(Value::as_str).unwrap_or_default();
    let kind = error.get("type").and_then(Value::as_str).unwrap_or_default();
    let base = default_classify(resp);
    let (class, retryable, hint) = match (resp.status, code, kind) {
        (_, "insufficient_quota", _) | (_, _, "insufficient_quota") => (
            FailureClass::RateLimited,
            false,
            "the AI account's billing quota is exhausted: top it up or change the key",
        ),
        (401, _, _) | (_, "invalid_api_key", _) => (FailureClass::Auth, false, "the AI provider refused the API key"),
        (404, _, _) | (_, "model_not_found", _) => (
            FailureClass::Config,
            false,
            "the model does not exist or the key may not use it: pick one from the model list",
        ),
        _ => return None,
    };
    // The provider's own message stays out: it is the upstream's text, not Synkro's words.
    Some(ConnectorError { class, retryable, ..base }.with_hint(hint))
}

pub(crate) async fn list_models(http: &HttpClient, config: &AiConfig) -> Result<Vec<String>, ConnectorError> {
    let spec = RequestSpec::new(Method::GET, format!("{}/models", config.base_url))
        .header("Authorization", format!("Bearer {}", config.api_key.expose()));
    let models: Models = http.send_json(spec).await?;
    let mut ids: Vec<String> = models.data.into_iter().map(|m| m.id).collect();
    ids.sort();
    Ok(ids)
}

pub(crate) async fn complete(
    http: &HttpClient,
    config: &AiConfig,
    request: &CompletionRequest,
) -> Result<Completion, ConnectorError> {
    let mut body = json!({
        "model": config.model,
        "messages": [
            {"role": "system", "content": request.system},
            {"role": "user", "content": request.context},
        ],
    });
    let limit_field = match config.token_param {
        TokenParam::MaxCompletionTokens => "max_completion_tokens",
        TokenParam::MaxTokens => "max_tokens",
    };
    // The tenant's max_output_tokens caps whatever the caller asks for.
    body[limit_field] = json!(request.max_output_tokens.min(config.max_output_tokens));
    if let Some(t) = request.temperature.or(config.temperature).filter(|_| !config.is_reasoning_model()) {
        body["temperature"] = json!(t);
    }
    let spec = RequestSpec::new(Method::POST, format!("{}/chat/completions", config.base_url))
        .header("Authorization", format!("Bearer {}", config.api_key.expose()))
        .json(body);
    let answer: ChatCompletion = http.send_json(spec).await?;
    let choice = answer
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| ConnectorError::new(FailureClass::Upstream, "the AI answered with no choices"))?;
    let text = match (choice.message.content, choice.message.refusal) {
        (Some(text), _) if !text.trim().is_empty() => text,
        (_, Some(refusal)) => {
            return Err(ConnectorError::new(FailureClass::Upstream, format!("the model refused: {refusal}"))
                .with_retryable(false));
        }
        _ => return Err(ConnectorError::new(FailureClass::Upstream, "the AI answered with no text")),
    };
    Ok(Completion {
        text,
        model: answer.model.unwrap_or_else(|| config.model.clone()),
        truncated: choice.finish_reason.as_deref() == Some("length"),
    })
}

//! Google Gemini: generateContent and the model list. The key travels in the
//! `x-goog-api-key` header, never in the URL.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use synkro_connector_kit::{HttpClient, HttpResponse, Method, RequestSpec, default_classify};
use synkro_core::connector::{Completion, CompletionRequest, ConnectorError, FailureClass};

use crate::config::AiConfig;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Models {
    #[serde(default)]
    models: Vec<ModelEntry>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModelEntry {
    name: String,
    #[serde(default)]
    supported_generation_methods: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Generated {
    #[serde(default)]
    candidates: Vec<Candidate>,
    prompt_feedback: Option<Value>,
    model_version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<Content>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
struct Part {
    text: Option<String>,
}

pub(crate) fn with_classifier(http: HttpClient) -> HttpClient {
    http.with_classifier(Arc::new(classify))
}

/// Gemini's `{error: {code, message, status}}`: an invalid key is auth (Gemini answers 400),
/// `PERMISSION_DENIED` permission, `RESOURCE_EXHAUSTED` a retryable rate limit.
fn classify(resp: &HttpResponse) -> Option<ConnectorError> {
    let body: Value = serde_json::from_slice(&resp.body).ok()?;
    let error = body.get("error")?;
    let status = error.get("status").and_then(Value::as_str).unwrap_or_default();
    let message = error.get("message").and_then(Value::as_str).unwrap_or_default();
    let base = default_classify(resp);
    let (class, hint) = if message.contains("API key not valid") || status == "UNAUTHENTICATED" {
        (FailureClass::Auth, "Gemini refused the API key")
    } else if status == "PERMISSION_DENIED" {
        (FailureClass::Permission, "the Gemini key may not use this model or API")
    } else if status == "NOT_FOUND" {
        (FailureClass::Config, "the Gemini model does not exist: pick one from the model list")
    } else {
        return None;
    };
    // The provider's own message stays out: it is the upstream's text, not Synkro's words.
    Some(ConnectorError { class, retryable: false, ..base }.with_hint(hint))
}

pub(crate) async fn list_models(http: &HttpClient, config: &AiConfig) -> Result<Vec<String>, ConnectorError> {
    let mut names = Vec::new();
    let mut page_token: Option<String> = None;
    for _ in 0..20 {
        let mut spec = RequestSpec::new(Method::GET, format!("{}/models", config.base_url))
            .header("x-goog-api-key", config.api_key.expose())
            .query("pageSize", 1000);
        if let Some(token) = &page_token {
            spec = spec.query("pageToken", token);
        }
        let page: Models = http.send_json(spec).await?;
        names.extend(
            page.models
                .into_iter()
                .filter(|m| {
                    m.name.contains("gemini") && m.supported_generation_methods.iter().any(|g| g == "generateContent")
                })
                .map(|m| m.name.trim_start_matches("models/").to_owned()),
        );
        match page.next_page_token.filter(|t| !t.is_empty()) {
            Some(token) => page_token = Some(token),
            None => break,
        }
    }
    names.sort();
    Ok(names)
}

pub(crate) async fn complete(
    http: &HttpClient,
    config: &AiConfig,
    request: &CompletionRequest,
) -> Result<Completion, ConnectorError> {
    // The tenant's max_output_tokens caps whatever the caller asks for.
    let mut generation = json!({"maxOutputTokens": request.max_output_tokens.min(config.max_output_tokens)});
    if let Some(t) = request.temperature.or(config.temperature) {
        generation["temperature"] = json!(t);
    }
    let body = json!({
        "systemInstruction": {"parts": [{"text": request.system}]},
        "contents": [{"role": "user", "parts": [{"text": request.context}]}],
        "generationConfig": generation,
    });
    let spec = RequestSpec::new(Method::POST, format!("{}/models/{}:generateContent", config.base_url, config.model))
        .header("x-goog-api-key", config.api_key.expose())
        .json(body);
    let answer: Generated = http.send_json(spec).await?;
    let Some(candidate) = answer.candidates.into_iter().next() else {
        let why = answer.prompt_feedback.map(|f| f.to_string()).unwrap_or_else(|| "no candidates".into());
        return Err(ConnectorError::new(FailureClass::Upstream, format!("Gemini returned no answer: {why}"))
            .with_retryable(false));
    };
    let text: String =
        candidate.content.map(|c| c.parts.into_iter().filter_map(|p| p.text).collect()).unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ConnectorError::new(FailureClass::Upstream, "Gemini answered with no text"));
    }
    Ok(Completion {
        text,
        model: answer.model_version.unwrap_or_else(|| config.model.clone()),
        truncated: candidate.finish_reason.as_deref() == Some("MAX_TOKENS"),
    })
}

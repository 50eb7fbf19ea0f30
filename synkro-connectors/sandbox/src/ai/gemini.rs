//! Fake Google Gemini API: `GET /v1beta/models` and `POST /v1beta/models/<id>:generateContent`.

use serde_json::{Value, json};

use super::complete;
use crate::http::{Incoming, Reply};
use crate::server::Shared;

/// Models served: (id, display name, generation methods).
const MODELS: &[(&str, &str, &[&str])] = &[
    ("gemini-2.0-flash", "Gemini 2.0 Flash", &["generateContent", "countTokens"]),
    ("gemini-2.5-pro", "Gemini 2.5 Pro", &["generateContent", "countTokens"]),
    ("embedding-001", "Embedding 001", &["embedContent"]),
];

fn status_name(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}

/// A Google API error body `{"error": {code, message, status}}`.
pub(crate) fn error(code: u16, message: &str) -> Reply {
    Reply::json(code, &json!({"error": {"code": code, "message": message, "status": status_name(code)}}))
}

fn model_json(id: &str, display: &str, methods: &[&str]) -> Value {
    json!({"name": format!("models/{id}"), "version": "001", "displayName": display,
        "description": format!("{display} (sandbox)"), "inputTokenLimit": 1_048_576, "outputTokenLimit": 8192,
        "supportedGenerationMethods": methods})
}

/// Handles a request to the Gemini server. The key may come in `x-goog-api-key` (preferred) or
/// `?key=` (accepted; visible in the request log).
pub(crate) fn handle(shared: &Shared, req: &Incoming) -> Reply {
    let key = req.header("x-goog-api-key").or_else(|| req.query_get("key"));
    match key {
        None => {
            return error(
                403,
                "Method doesn't allow unregistered callers (callers without established identity). Please use API \
                 Key or other form of API consumer identity to call this API.",
            );
        }
        Some(k) if k == shared.credentials.gemini_api_key => {}
        Some(_) => return error(400, "API key not valid. Please pass a valid API key."),
    }
    let path = req.path.strip_prefix("/v1beta").unwrap_or("").trim_end_matches('/');
    let Some(rest) = path.strip_prefix("/models") else {
        return error(404, "Requested entity was not found.");
    };
    match (req.method.as_str(), rest) {
        ("GET", "") => {
            let list: Vec<Value> = MODELS.iter().map(|(id, d, m)| model_json(id, d, m)).collect();
            Reply::json(200, &json!({"models": list}))
        }
        ("GET", segment) => {
            let id = segment.trim_start_matches('/');
            match MODELS.iter().find(|(m, _, _)| *m == id) {
                Some((id, d, m)) => Reply::json(200, &model_json(id, d, m)),
                None => error(404, &format!("models/{id} is not found for API version v1beta")),
            }
        }
        ("POST", segment) => {
            let segment = segment.trim_start_matches('/');
            match segment.split_once(':') {
                Some((id, "generateContent")) => generate(req, id),
                _ => error(404, "Requested entity was not found."),
            }
        }
        _ => error(404, "Requested entity was not found."),
    }
}

fn parts_text(content: &Value) -> String {
    content
        .get("parts")
        .and_then(Value::as_array)
        .map(|parts| parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}

fn generate(req: &Incoming, id: &str) -> Reply {
    if !MODELS.iter().any(|(m, _, methods)| *m == id && methods.contains(&"generateContent")) {
        return error(
            404,
            &format!("models/{id} is not found for API version v1beta, or is not supported for generateContent."),
        );
    }
    let Some(body) = req.json().filter(Value::is_object) else {
        return error(400, "Invalid JSON payload received.");
    };
    let contents = body.get("contents").and_then(Value::as_array).cloned().unwrap_or_default();
    if contents.is_empty() {
        return error(400, "* GenerateContentRequest.contents: contents is not specified");
    }
    let texts: Vec<String> = contents.iter().map(parts_text).collect();
    let system = body.get("systemInstruction").or_else(|| body.get("system_instruction")).map(parts_text);
    let last_user = contents
        .iter()
        .zip(&texts)
        .rev()
        .find(|(c, _)| c.get("role").and_then(Value::as_str).is_none_or(|r| r == "user"))
        .map_or("", |(_, t)| t.as_str());
    let prompt_chars = texts.iter().chain(system.iter()).map(|t| t.chars().count()).sum();
    let config = body.get("generationConfig").or_else(|| body.get("generation_config"));
    let max =
        config.and_then(|c| c.get("maxOutputTokens").or_else(|| c.get("max_output_tokens"))).and_then(Value::as_u64);
    let done = complete(id, system.as_deref().unwrap_or_default(), last_user, prompt_chars, max);
    Reply::json(
        200,
        &json!({
            "candidates": [{"content": {"parts": [{"text": done.text}], "role": "model"},
                "finishReason": if done.truncated { "MAX_TOKENS" } else { "STOP" }, "index": 0}],
            "usageMetadata": {"promptTokenCount": done.prompt_tokens, "candidatesTokenCount": done.completion_tokens,
                "totalTokenCount": done.prompt_tokens + done.completion_tokens},
            "modelVersion": id,
        }),
    )
}

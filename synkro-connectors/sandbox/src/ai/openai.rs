//! Fake OpenAI-compatible API: `GET /v1/models` and `POST /v1/chat/completions`.

use serde_json::{Value, json};

use super::complete;
use crate::credentials::OPENAI_NO_QUOTA_KEY;
use crate::http::{Incoming, Reply, now_unix};
use crate::server::Shared;

/// Models served: (id, created, dated snapshot name).
const MODELS: &[(&str, i64, &str)] = &[
    ("gpt-4o-mini", 1_721_172_741, "gpt-4o-mini-2024-07-18"),
    ("gpt-4o", 1_715_367_049, "gpt-4o-2024-08-06"),
    ("o3-mini", 1_737_146_383, "o3-mini-2025-01-31"),
];

/// An OpenAI error body `{"error": {message, type, param, code}}`.
pub(crate) fn error(status: u16, message: &str, kind: &str, code: Option<&str>) -> Reply {
    error_param(status, message, kind, None, code)
}

fn error_param(status: u16, message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> Reply {
    Reply::json(status, &json!({"error": {"message": message, "type": kind, "param": param, "code": code}}))
}

fn invalid(message: &str, param: Option<&str>, code: Option<&str>) -> Reply {
    error_param(400, message, "invalid_request_error", param, code)
}

fn model_json(id: &str, created: i64) -> Value {
    json!({"id": id, "object": "model", "created": created, "owned_by": if id.starts_with('o') { "system" } else { "openai" }})
}

/// Handles a request to the OpenAI server.
pub(crate) fn handle(shared: &Shared, req: &Incoming) -> Reply {
    let key = match req.bearer() {
        None => {
            return error(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header \
                 using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error",
                None,
            );
        }
        Some(key) if key == shared.credentials.openai_api_key || key == OPENAI_NO_QUOTA_KEY => key,
        Some(_) => {
            return error(401, "Incorrect API key provided", "invalid_request_error", Some("invalid_api_key"));
        }
    };
    let path = req.path.strip_prefix("/v1").unwrap_or("").trim_end_matches('/');
    match (req.method.as_str(), path) {
        ("GET", "/models") => {
            let data: Vec<Value> = MODELS.iter().map(|(id, created, _)| model_json(id, *created)).collect();
            Reply::json(200, &json!({"object": "list", "data": data}))
        }
        ("GET", p) if p.starts_with("/models/") => {
            let id = &p["/models/".len()..];
            match MODELS.iter().find(|(m, _, _)| *m == id) {
                Some((id, created, _)) => Reply::json(200, &model_json(id, *created)),
                None => model_not_found(id),
            }
        }
        ("POST", "/chat/completions") if key == OPENAI_NO_QUOTA_KEY => error(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            Some("insufficient_quota"),
        ),
        ("POST", "/chat/completions") => chat(req),
        (method, _) => invalid(&format!("Invalid URL ({method} {})", req.path), None, None),
    }
}

fn model_not_found(id: &str) -> Reply {
    error(
        404,
        &format!("The model `{id}` does not exist or you do not have access to it."),
        "invalid_request_error",
        Some("model_not_found"),
    )
}

/// Text of a message's `content`: a string or an array of `{type: "text", text}` parts.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => {
            parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n")
        }
        _ => String::new(),
    }
}

fn chat(req: &Incoming) -> Reply {
    let Some(body) = req.json().filter(Value::is_object) else {
        return invalid("We could not parse the JSON body of your request.", None, None);
    };
    let Some(model) = body.get("model").and_then(Value::as_str) else {
        return invalid("you must provide a model parameter", Some("model"), None);
    };
    let messages = body.get("messages").and_then(Value::as_array).cloned().unwrap_or_default();
    if messages.is_empty() {
        return invalid("[] is too short - 'messages'", Some("messages"), Some("empty_array"));
    }
    let Some(&(_, _, snapshot)) = MODELS.iter().find(|(m, _, _)| *m == model) else {
        return model_not_found(model);
    };
    let reasoning = model.starts_with('o');
    if reasoning && body.get("max_tokens").is_some_and(|v| !v.is_null()) {
        return invalid(
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
            Some("max_tokens"),
            Some("unsupported_parameter"),
        );
    }
    if let Some(t) = body.get("temperature").and_then(Value::as_f64)
        && reasoning
        && (t - 1.0).abs() > f64::EPSILON
    {
        return invalid(
            &format!(
                "Unsupported value: 'temperature' does not support {t} with this model. Only the default (1) value is supported."
            ),
            Some("temperature"),
            Some("unsupported_value"),
        );
    }
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        return invalid("The sandbox does not stream responses.", Some("stream"), None);
    }
    let max = ["max_completion_tokens", "max_tokens"].iter().find_map(|k| body.get(*k).and_then(Value::as_u64));
    let texts: Vec<String> = messages.iter().map(|m| content_text(m.get("content").unwrap_or(&Value::Null))).collect();
    let last_user = messages
        .iter()
        .zip(&texts)
        .rev()
        .find(|(m, _)| m.get("role").and_then(Value::as_str) == Some("user"))
        .map_or("", |(_, t)| t.as_str());
    let prompt_chars = texts.iter().map(|t| t.chars().count()).sum();
    let system: Vec<&str> = messages
        .iter()
        .zip(&texts)
        .filter(|(m, _)| matches!(m.get("role").and_then(Value::as_str), Some("system" | "developer")))
        .map(|(_, t)| t.as_str())
        .collect();
    let done = complete(model, &system.join("\n"), last_user, prompt_chars, max);
    let id = format!("chatcmpl-sbx{:012x}", prompt_chars as u64 * 7919 + done.completion_tokens);
    let body = json!({
        "id": id, "object": "chat.completion", "created": now_unix(), "model": snapshot,
        "choices": [{"index": 0, "finish_reason": if done.truncated { "length" } else { "stop" }, "logprobs": null,
            "message": {"role": "assistant", "content": done.text, "refusal": null, "annotations": []}}],
        "usage": {"prompt_tokens": done.prompt_tokens, "completion_tokens": done.completion_tokens,
            "total_tokens": done.prompt_tokens + done.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
        "service_tier": "default", "system_fingerprint": "fp_sandbox",
    });
    Reply::json(200, &body)
        .with_header("x-request-id", format!("req_{id}"))
        .with_header("x-ratelimit-limit-requests", "500")
        .with_header("x-ratelimit-remaining-requests", "499")
        .with_header("x-ratelimit-reset-requests", "120ms")
}

//! The OpenAI-compatible provider: the check (key and model), completions and the exact
//! request bodies (output-limit field, temperature), truncation, and how quota, rate limits,
//! server errors, wrong keys and malformed bodies are handled.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{assert_redacted, assert_report_redacted, body, config, ctx, model, request, requests_to, sandbox};
use serde_json::{Value, json};
use synkro_connector_ai::AiConnector;
use synkro_core::connector::{Connector, FailureClass, run_check};
use synkro_sandbox::{Fault, OPENAI_NO_QUOTA_KEY, Sandbox, Service};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

fn openai(model: &str) -> Value {
    json!({"provider": "openai", "model": model})
}

fn key(sandbox: &Sandbox) -> String {
    sandbox.credentials().openai_api_key.clone()
}

fn completion_bodies(sandbox: &Sandbox) -> Vec<Value> {
    requests_to(sandbox, Service::OpenAi, "/chat/completions").iter().map(body).collect()
}

#[tokio::test]
async fn check_lists_the_models_and_finds_the_configured_one_without_spending_tokens() {
    let sandbox = sandbox().await;
    let key = key(&sandbox);
    let report =
        run_check(&AiConnector, &config(&key, openai("gpt-4o-mini")), &ctx(&sandbox.url(Service::OpenAi))).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.details, json!({"provider": "openai", "model": "gpt-4o-mini", "models_available": 3}));
    let requests = sandbox.requests(Service::OpenAi);
    assert_eq!(
        requests.iter().map(|r| (r.method.as_str(), r.path.as_str())).collect::<Vec<_>>(),
        [("GET", "/v1/models")]
    );
    assert_eq!(requests[0].header("authorization"), Some(format!("Bearer {key}").as_str()));
}

#[tokio::test]
async fn a_model_the_key_cannot_use_is_a_config_failure_listing_the_available_ones() {
    let sandbox = sandbox().await;
    let err = AiConnector
        .check(&config(&key(&sandbox), openai("gpt-9")), &ctx(&sandbox.url(Service::OpenAi)))
        .await
        .unwrap_err();
    assert_eq!((err.class, err.retryable), (FailureClass::Config, false));
    assert!(err.message.contains("\"gpt-9\""), "{err}");
    let hint = err.hint.unwrap();
    for available in ["gpt-4o", "gpt-4o-mini", "o3-mini"] {
        assert!(hint.contains(available), "{available} missing from the hint: {hint}");
    }
}

#[tokio::test]
async fn a_completion_returns_the_text_and_the_model_that_answered() {
    let sandbox = sandbox().await;
    let key = key(&sandbox);
    let llm = model(&config(&key, openai("gpt-4o-mini")), &ctx(&sandbox.url(Service::OpenAi)));
    let done = llm.complete(&request(800)).await.unwrap();
    assert!(done.text.starts_with("Report: deal 1: won\ndeal 2: lost"), "{}", done.text);
    assert!(done.text.contains("3 lines of context"), "{}", done.text);
    assert_eq!((done.model.as_str(), done.truncated), ("gpt-4o-mini-2024-07-18", false));

    let sent = requests_to(&sandbox, Service::OpenAi, "/chat/completions");
    assert_eq!((sent.len(), sent[0].method.as_str()), (1, "POST"));
    assert_eq!(sent[0].header("authorization"), Some(format!("Bearer {key}").as_str()));
    let body = body(&sent[0]);
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(
        body["messages"],
        json!([{"role": "system", "content": "You summarise sales reports."},
            {"role": "user", "content": "deal 1: won\ndeal 2: lost\ndeal 3: open"}])
    );
    assert_eq!(body["temperature"].as_f64().map(|t| (t * 100.0).round()), Some(20.0));
}

#[tokio::test]
async fn openai_itself_gets_max_completion_tokens_and_other_vendors_max_tokens() {
    let sandbox = sandbox().await;
    let key = key(&sandbox);
    let ctx = ctx(&sandbox.url(Service::OpenAi));
    model(&config(&key, openai("gpt-4o-mini")), &ctx).complete(&request(800)).await.unwrap();
    let vendor = json!({"provider": "openai", "model": "gpt-4o-mini", "base_url": "https://llm.example.com/v1"});
    model(&config(&key, vendor.clone()), &ctx).complete(&request(800)).await.unwrap();
    let mut forced = vendor;
    forced["token_param"] = json!("max_completion_tokens");
    model(&config(&key, forced), &ctx).complete(&request(800)).await.unwrap();

    let limits: Vec<(Value, Value)> = completion_bodies(&sandbox)
        .iter()
        .map(|b| {
            (
                b.get("max_completion_tokens").cloned().unwrap_or(Value::Null),
                b.get("max_tokens").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    assert_eq!(
        limits,
        [(json!(800), Value::Null), (Value::Null, json!(800)), (json!(800), Value::Null)],
        "default OpenAI, a custom vendor, and the vendor with token_param set"
    );
}

#[tokio::test]
async fn a_reasoning_model_gets_no_temperature() {
    let sandbox = sandbox().await;
    let public = json!({"provider": "openai", "model": "o3-mini", "temperature": 0.2});
    let llm = model(&config(&key(&sandbox), public), &ctx(&sandbox.url(Service::OpenAi)));
    let done = llm.complete(&request(800)).await.unwrap();
    assert_eq!(done.model, "o3-mini-2025-01-31", "o3-mini accepted the request");
    let body = &completion_bodies(&sandbox)[0];
    assert!(body.get("temperature").is_none(), "{body}");
    assert_eq!(body["max_completion_tokens"], 800);
}

#[tokio::test]
async fn a_small_output_limit_is_reported_as_truncated() {
    let sandbox = sandbox().await;
    let key = key(&sandbox);
    let ctx = ctx(&sandbox.url(Service::OpenAi));
    let done = model(&config(&key, openai("gpt-4o-mini")), &ctx).complete(&request(10)).await.unwrap();
    assert!(done.truncated, "{done:?}");
    assert!(!done.text.is_empty());

    // The tenant's own max_output_tokens caps what the pipeline asks for.
    let capped = json!({"provider": "openai", "model": "gpt-4o-mini", "max_output_tokens": 10});
    let done = model(&config(&key, capped), &ctx).complete(&request(800)).await.unwrap();
    assert!(done.truncated, "{done:?}");
    assert_eq!(completion_bodies(&sandbox)[1]["max_completion_tokens"], 10);
}

#[tokio::test]
async fn an_exhausted_quota_is_not_retried() {
    let sandbox = sandbox().await;
    let ctx = ctx(&sandbox.url(Service::OpenAi));
    let llm = model(&config(OPENAI_NO_QUOTA_KEY, openai("gpt-4o-mini")), &ctx);
    let err = llm.complete(&request(800)).await.unwrap_err();
    assert_eq!((err.class, err.retryable, err.status), (FailureClass::RateLimited, false, Some(429)));
    assert!(err.hint.as_deref().unwrap().contains("billing"), "{err:?}");
    assert_eq!(requests_to(&sandbox, Service::OpenAi, "/chat/completions").len(), 1, "exactly one request");
    assert_eq!(ctx.metrics.get("ai").retries, 0);
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_until_an_answer_comes() {
    let sandbox = sandbox().await;
    let ctx = ctx(&sandbox.url(Service::OpenAi));
    sandbox.inject(Service::OpenAi, "/chat/completions", Fault::RateLimited, 1);
    sandbox.inject(Service::OpenAi, "/chat/completions", Fault::Status(500), 1);
    sandbox.inject(Service::OpenAi, "/chat/completions", Fault::Status(503), 1);
    let started = Instant::now();
    let done = model(&config(&key(&sandbox), openai("gpt-4o-mini")), &ctx).complete(&request(800)).await.unwrap();
    assert!(done.text.starts_with("Report:"));
    let statuses: Vec<u16> =
        requests_to(&sandbox, Service::OpenAi, "/chat/completions").iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 500, 503, 200]);
    assert!(started.elapsed() >= Duration::from_millis(950), "Retry-After: 1 was honoured");
    let counters = ctx.metrics.get("ai");
    assert_eq!((counters.retries, counters.rate_limited, counters.failures), (3, 1, 0));
}

#[tokio::test]
async fn a_wrong_key_is_an_auth_failure_that_is_not_retried_and_never_shown() {
    let sandbox = sandbox().await;
    let wrong = "sk-wrong-0123456789abcdefghijklmnopqrstuv";
    let ctx = ctx(&sandbox.url(Service::OpenAi));
    let config = config(wrong, openai("gpt-4o-mini"));
    let err = AiConnector.check(&config, &ctx).await.unwrap_err();
    assert_eq!((err.class, err.retryable, err.status), (FailureClass::Auth, false, Some(401)));
    assert!(err.hint.as_deref().unwrap().contains("API key"), "{err:?}");
    assert_redacted(&err, wrong);
    let report = run_check(&AiConnector, &config, &ctx).await;
    assert_eq!((report.class, report.retryable), (Some(FailureClass::Auth), false));
    assert_report_redacted(&report, wrong);
    let err = model(&config, &ctx).complete(&request(800)).await.unwrap_err();
    assert_eq!(err.class, FailureClass::Auth);
    assert_eq!(sandbox.request_count(Service::OpenAi), 3, "one request per call, no retries");
}

#[tokio::test]
async fn an_upstream_error_body_never_reaches_the_error() {
    let server = MockServer::start().await;
    let key = "sk-proj-echoedEchoedEchoed0123456789";
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
            "message": format!("Incorrect API key provided: {key}."), "type": "invalid_request_error",
            "param": null, "code": "invalid_api_key"}})))
        .mount(&server)
        .await;
    let err = AiConnector.check(&config(key, openai("gpt-4o-mini")), &ctx(&server.uri())).await.unwrap_err();
    assert_eq!(err.class, FailureClass::Auth);
    assert!(err.message.ends_with("/models: HTTP 401"), "the request and the status only: {}", err.message);
    assert!(err.hint.as_deref().is_some_and(|h| h.contains("refused the API key")), "{err:?}");
    assert!(!format!("{err:?}").contains("Incorrect API key"), "the upstream's text stays out: {err:?}");
    assert_redacted(&err, key);
}

#[tokio::test]
async fn a_malformed_body_is_retried_and_a_persistent_one_is_an_upstream_failure() {
    let sandbox = sandbox().await;
    let ctx = ctx(&sandbox.url(Service::OpenAi));
    let llm = model(&config(&key(&sandbox), openai("gpt-4o-mini")), &ctx);
    sandbox.inject(Service::OpenAi, "/chat/completions", Fault::Malformed, 1);
    assert!(llm.complete(&request(800)).await.unwrap().text.starts_with("Report:"));
    assert_eq!(requests_to(&sandbox, Service::OpenAi, "/chat/completions").len(), 2);

    sandbox.inject(Service::OpenAi, "/chat/completions", Fault::Malformed, ctx.http.max_attempts);
    let err = llm.complete(&request(800)).await.unwrap_err();
    assert_eq!((err.class, err.retryable), (FailureClass::Upstream, true));
    assert!(err.message.contains("malformed"), "{err}");
}

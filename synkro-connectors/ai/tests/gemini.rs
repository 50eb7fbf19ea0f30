//! Google Gemini: the check and the model list (prefix stripped, only Gemini models that
//! generate content, every page read), completions, the key only ever in the
//! `x-goog-api-key` header, wrong keys, truncation and retried rate limits.
#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_redacted, assert_report_redacted, body, config, ctx, model, request, requests_to, sandbox};
use serde_json::{Value, json};
use synkro_connector_ai::AiConnector;
use synkro_core::connector::{Connector, FailureClass, run_check};
use synkro_sandbox::{Fault, Sandbox, Service};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path, query_param, query_param_is_missing},
};

fn gemini(model: &str) -> Value {
    json!({"provider": "gemini", "model": model})
}

fn key(sandbox: &Sandbox) -> String {
    sandbox.credentials().gemini_api_key.clone()
}

#[tokio::test]
async fn check_and_the_model_list_show_gemini_models_that_generate_content_without_the_prefix() {
    let sandbox = sandbox().await;
    let key = key(&sandbox);
    let ctx = ctx(&sandbox.url(Service::Gemini));
    let report = run_check(&AiConnector, &config(&key, gemini("gemini-2.0-flash")), &ctx).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.details, json!({"provider": "gemini", "model": "gemini-2.0-flash", "models_available": 2}));

    let models = model(&config(&key, gemini("models/gemini-2.5-pro")), &ctx).list_models().await.unwrap();
    assert_eq!(models, ["gemini-2.0-flash", "gemini-2.5-pro"], "embedding-001 cannot write reports");
    let listed = sandbox.requests(Service::Gemini);
    assert!(listed.iter().all(|r| r.method == "GET" && r.path == "/v1beta/models"), "{listed:?}");

    let err = AiConnector.check(&config(&key, gemini("gemini-1.0-ultra")), &ctx).await.unwrap_err();
    assert_eq!(err.class, FailureClass::Config);
    assert!(err.hint.unwrap().contains("gemini-2.0-flash, gemini-2.5-pro"));
}

#[tokio::test]
async fn the_model_list_reads_every_page_and_drops_models_that_cannot_generate() {
    let server = MockServer::start().await;
    let key = "AIzaPagedListKey0123456789abcdefghijk";
    let entry = |name: &str, methods: &[&str]| json!({"name": name, "supportedGenerationMethods": methods});
    Mock::given(method("GET"))
        .and(path("/models"))
        .and(header("x-goog-api-key", key))
        .and(query_param_is_missing("pageToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"models": [
            entry("models/gemini-2.0-flash", &["generateContent", "countTokens"]),
            entry("models/gemini-embedding-001", &["embedContent"])], "nextPageToken": "page-2"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/models"))
        .and(query_param("pageToken", "page-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"models": [
            entry("models/text-bison-001", &["generateText"]),
            entry("models/gemini-2.5-pro", &["generateContent"])]})))
        .expect(1)
        .mount(&server)
        .await;
    let models = model(&config(key, gemini("gemini-2.5-pro")), &ctx(&server.uri())).list_models().await.unwrap();
    assert_eq!(models, ["gemini-2.0-flash", "gemini-2.5-pro"]);
}

#[tokio::test]
async fn a_completion_sends_the_prompt_and_limits_and_returns_the_text() {
    let sandbox = sandbox().await;
    let llm = model(&config(&key(&sandbox), gemini("gemini-2.0-flash")), &ctx(&sandbox.url(Service::Gemini)));
    let done = llm.complete(&request(800)).await.unwrap();
    assert!(done.text.starts_with("Report: deal 1: won"), "{}", done.text);
    assert_eq!((done.model.as_str(), done.truncated), ("gemini-2.0-flash", false));

    let sent = requests_to(&sandbox, Service::Gemini, ":generateContent");
    assert_eq!((sent.len(), sent[0].method.as_str()), (1, "POST"));
    assert_eq!(sent[0].path, "/v1beta/models/gemini-2.0-flash:generateContent");
    let body = body(&sent[0]);
    assert_eq!(body["systemInstruction"], json!({"parts": [{"text": "You summarise sales reports."}]}));
    assert_eq!(
        body["contents"],
        json!([{"role": "user", "parts": [{"text": "deal 1: won\ndeal 2: lost\ndeal 3: open"}]}])
    );
    assert_eq!(body["generationConfig"]["maxOutputTokens"], 800);
    assert!(body["generationConfig"]["temperature"].is_number());
}

#[tokio::test]
async fn the_key_travels_only_in_the_x_goog_api_key_header() {
    let sandbox = sandbox().await;
    let key = key(&sandbox);
    let ctx = ctx(&sandbox.url(Service::Gemini));
    let config = config(&key, gemini("gemini-2.0-flash"));
    AiConnector.check(&config, &ctx).await.unwrap();
    model(&config, &ctx).complete(&request(800)).await.unwrap();

    let requests = sandbox.requests(Service::Gemini);
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(r.header("x-goog-api-key"), Some(key.as_str()), "{} {}", r.method, r.path);
        assert_eq!(r.query_value("key"), None, "no ?key= in {}", r.path);
        assert!(!r.path.contains(&key), "{}", r.path);
        assert!(r.query.iter().all(|(_, v)| !v.contains(&key)), "{:?}", r.query);
        assert_eq!(r.header("authorization"), None);
    }
}

#[tokio::test]
async fn a_wrong_key_is_an_auth_failure_that_is_not_retried_and_never_shown() {
    let sandbox = sandbox().await;
    let wrong = "AIzaWrongWrongWrongWrongWrongWrong0123";
    let ctx = ctx(&sandbox.url(Service::Gemini));
    let config = config(wrong, gemini("gemini-2.0-flash"));
    let err = AiConnector.check(&config, &ctx).await.unwrap_err();
    // Gemini answers 400 INVALID_ARGUMENT "API key not valid" to a wrong key.
    assert_eq!((err.class, err.retryable, err.status), (FailureClass::Auth, false, Some(400)));
    assert!(err.hint.as_deref().unwrap().contains("API key"), "{err:?}");
    assert_redacted(&err, wrong);
    let report = run_check(&AiConnector, &config, &ctx).await;
    assert_eq!(report.class, Some(FailureClass::Auth));
    assert_report_redacted(&report, wrong);
    let err = model(&config, &ctx).complete(&request(800)).await.unwrap_err();
    assert_eq!((err.class, err.retryable), (FailureClass::Auth, false));
    assert_eq!(sandbox.request_count(Service::Gemini), 3, "one request per call, no retries");
}

#[tokio::test]
async fn max_tokens_is_reported_as_truncated() {
    let sandbox = sandbox().await;
    let llm = model(&config(&key(&sandbox), gemini("gemini-2.0-flash")), &ctx(&sandbox.url(Service::Gemini)));
    let done = llm.complete(&request(5)).await.unwrap();
    assert!(done.truncated, "{done:?}");
    assert!(!done.text.is_empty());
}

#[tokio::test]
async fn resource_exhausted_and_server_errors_are_retried() {
    let sandbox = sandbox().await;
    sandbox.inject(Service::Gemini, ":generateContent", Fault::RateLimited, 1);
    sandbox.inject(Service::Gemini, ":generateContent", Fault::Status(500), 1);
    let ctx = ctx(&sandbox.url(Service::Gemini));
    let done = model(&config(&key(&sandbox), gemini("gemini-2.0-flash")), &ctx).complete(&request(800)).await.unwrap();
    assert!(done.text.starts_with("Report:"));
    let statuses: Vec<u16> =
        requests_to(&sandbox, Service::Gemini, ":generateContent").iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 500, 200]);
    assert_eq!(ctx.metrics.get("ai").rate_limited, 1);
}

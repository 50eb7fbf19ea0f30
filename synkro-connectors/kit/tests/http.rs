//! The shared HTTP layer against a fake server: what is retried and what is not, server delay
//! hints, pacing, counters and redaction.

#![allow(clippy::unwrap_used)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use synkro_connector_kit::{HttpClient, Method, ReadOnlyClient, RequestSpec};
use synkro_core::{
    Secret,
    connector::{ConnectorContext, ConnectorError, FailureClass, Rate},
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

fn ctx() -> ConnectorContext {
    let mut ctx = ConnectorContext::default().with_outbound(synkro_core::connector::OutboundPolicy::loopback());
    ctx.http.backoff_base = Duration::from_millis(10);
    ctx.http.backoff_cap = Duration::from_secs(2);
    ctx.http.max_attempts = 4;
    ctx.http.request_timeout = Duration::from_millis(500);
    ctx
}

fn client(ctx: &ConnectorContext) -> HttpClient {
    HttpClient::new("test", ctx).unwrap()
}

#[tokio::test]
async fn server_errors_are_retried_until_they_pass() {
    let server = MockServer::start().await;
    Mock::given(path("/x")).respond_with(ResponseTemplate::new(503)).up_to_n_times(2).mount(&server).await;
    Mock::given(path("/x"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": 1})))
        .mount(&server)
        .await;
    let ctx = ctx();
    let body: Value =
        client(&ctx).send_json(RequestSpec::new(Method::GET, format!("{}/x", server.uri()))).await.unwrap();
    assert_eq!(body, json!({"ok": 1}));
    let c = ctx.metrics.get("test");
    assert_eq!((c.requests, c.retries, c.failures), (3, 2, 0));
}

#[tokio::test]
async fn auth_failures_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/x")).respond_with(ResponseTemplate::new(401).set_body_string("bad token")).mount(&server).await;
    let ctx = ctx();
    let err = client(&ctx).send(RequestSpec::new(Method::GET, format!("{}/x", server.uri()))).await.unwrap_err();
    assert_eq!((err.class, err.retryable, err.status), (FailureClass::Auth, false, Some(401)));
    assert!(err.hint.is_some());
    assert_eq!(ctx.metrics.get("test").requests, 1, "one request, no retry");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_429_waits_for_the_servers_hint_and_is_counted() {
    let server = MockServer::start().await;
    Mock::given(path("/x"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after-ms", "300"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/x")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let ctx = ctx();
    let started = Instant::now();
    client(&ctx).send(RequestSpec::new(Method::GET, format!("{}/x", server.uri()))).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(290), "waited {:?}", started.elapsed());
    let c = ctx.metrics.get("test");
    assert_eq!((c.requests, c.rate_limited, c.retries), (2, 1, 1));
}

#[tokio::test]
async fn a_hint_longer_than_the_cap_is_not_waited_out() {
    let server = MockServer::start().await;
    Mock::given(path("/x"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;
    let ctx = ctx();
    let started = Instant::now();
    let err = client(&ctx).send(RequestSpec::new(Method::GET, format!("{}/x", server.uri()))).await.unwrap_err();
    assert_eq!(err.class, FailureClass::RateLimited);
    assert_eq!(err.retry_after, Some(Duration::from_secs(3600)), "the caller learns how long to wait");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn secrets_never_reach_error_text() {
    let server = MockServer::start().await;
    let token = Secret::new("123456:AAH-super-secret-token");
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_string("bad request for token 123456:AAH-super-secret-token"))
        .mount(&server)
        .await;
    let ctx = ctx();
    let http = client(&ctx).with_secrets([&token]);
    let url = format!("{}/bot{}/getMe", server.uri(), token.expose());
    let err = http.send(RequestSpec::new(Method::GET, url)).await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains(token.expose()), "{text}");
    assert!(text.contains("/bot***/getMe"), "the path stays readable: {text}");

    let unreachable = format!("http://127.0.0.1:9/bot{}/getMe", token.expose());
    let err = http.send(RequestSpec::new(Method::GET, unreachable)).await.unwrap_err();
    assert_eq!(err.class, FailureClass::Network);
    assert!(!format!("{err} {err:?}").contains(token.expose()));
}

#[tokio::test]
async fn malformed_bodies_are_retried_then_reported_as_upstream() {
    let server = MockServer::start().await;
    Mock::given(path("/x")).respond_with(ResponseTemplate::new(200).set_body_string("{not json")).mount(&server).await;
    let ctx = ctx();
    let err = client(&ctx)
        .send_json::<Value>(RequestSpec::new(Method::GET, format!("{}/x", server.uri())))
        .await
        .unwrap_err();
    assert_eq!(err.class, FailureClass::Upstream);
    assert!(err.message.contains("malformed"), "{err}");
    assert_eq!(ctx.metrics.get("test").requests, 4, "every attempt was used");
}

#[tokio::test]
async fn slow_answers_time_out_as_network_failures() {
    let server = MockServer::start().await;
    Mock::given(path("/x"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let mut ctx = ctx();
    ctx.http.max_attempts = 1;
    let err = client(&ctx).send(RequestSpec::new(Method::GET, format!("{}/x", server.uri()))).await.unwrap_err();
    assert_eq!((err.class, err.retryable), (FailureClass::Network, true));
    assert!(err.message.contains("timed out"), "{err}");
}

#[tokio::test]
async fn a_connector_classifier_can_forbid_retrying() {
    let server = MockServer::start().await;
    let body = json!({"error": {"code": "insufficient_quota", "message": "You exceeded your current quota"}});
    Mock::given(path("/x")).respond_with(ResponseTemplate::new(429).set_body_json(body)).mount(&server).await;
    let ctx = ctx();
    let http = client(&ctx).with_classifier(Arc::new(|resp| {
        resp.text()
            .contains("insufficient_quota")
            .then(|| ConnectorError::new(FailureClass::RateLimited, "billing quota exhausted").with_retryable(false))
    }));
    let err = http.send(RequestSpec::new(Method::POST, format!("{}/x", server.uri()))).await.unwrap_err();
    assert!(!err.retryable);
    assert_eq!(ctx.metrics.get("test").requests, 1);
}

#[tokio::test]
async fn requests_to_one_account_are_paced() {
    let server = MockServer::start().await;
    Mock::given(path("/x")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let ctx = ctx();
    let http = client(&ctx).with_rate("test:acct", Rate::per_second(20.0));
    let started = Instant::now();
    let sends = (0..10).map(|_| http.send(RequestSpec::new(Method::GET, format!("{}/x", server.uri()))));
    for result in futures::future::join_all(sends).await {
        result.unwrap();
    }
    assert!(started.elapsed() >= Duration::from_millis(440), "10 requests at 20/s: {:?}", started.elapsed());
}

#[tokio::test]
async fn the_read_only_client_sends_only_gets_and_stays_on_its_host() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v4/leads")).respond_with(ResponseTemplate::new(204)).mount(&server).await;
    Mock::given(path("/api/v4/account"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        .mount(&server)
        .await;
    let ctx = ctx();
    let ro = ReadOnlyClient::new(client(&ctx), server.uri());
    let empty: Option<Value> = ro.send_json(ro.get("/api/v4/leads?page=2&limit=250").unwrap()).await.unwrap();
    assert_eq!(empty, None, "204 is the end of the data, not an error");
    let account: Option<Value> =
        ro.send_json(ro.get(&format!("{}/api/v4/account", server.uri())).unwrap()).await.unwrap();
    assert_eq!(account, Some(json!({"id": 1})));
    assert!(ro.get("https://evil.example/api/v4/leads").is_err(), "links off the host are refused");

    let seen = server.received_requests().await.unwrap();
    assert!(seen.iter().all(|r| r.method.as_str() == "GET"));
    assert_eq!(seen[0].url.query(), Some("page=2&limit=250"));
}

/// A context with the default (strict) outbound policy.
fn strict_ctx() -> ConnectorContext {
    let mut ctx = ConnectorContext::default();
    ctx.http.max_attempts = 3;
    ctx.http.backoff_base = Duration::from_millis(10);
    ctx
}

#[tokio::test]
async fn by_default_no_request_reaches_a_non_public_address_in_any_spelling() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let port = server.address().port();
    let ctx = strict_ctx();
    for url in [
        format!("https://127.0.0.1:{port}/x"),
        format!("https://2130706433:{port}/x"),
        format!("https://0x7f.0.0.1:{port}/x"),
        format!("https://[::ffff:127.0.0.1]:{port}/x"),
        format!("https://[::1]:{port}/x"),
        // A name is checked on what it resolves to, when the connection is made.
        format!("https://localhost:{port}/x"),
        format!("http://127.0.0.1:{port}/x"),
        "https://169.254.169.254/latest/meta-data/".to_owned(),
    ] {
        let err = client(&ctx).send(RequestSpec::new(Method::GET, url.clone())).await.unwrap_err();
        assert_eq!((err.class, err.retryable), (FailureClass::Config, false), "{url}: {err:?}");
        assert!(err.message.contains("refused to connect") && err.message.contains("SYNKRO_OUTBOUND_ALLOW"), "{err}");
    }
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing reached the server");
    // The operator's allowance opens exactly what it names.
    let allowed = ctx.clone().with_outbound(synkro_core::connector::OutboundPolicy::parse("127.0.0.1").unwrap());
    client(&allowed).send(RequestSpec::new(Method::GET, format!("http://127.0.0.1:{port}/x"))).await.unwrap();
    let err =
        client(&allowed).send(RequestSpec::new(Method::GET, format!("https://[::1]:{port}/x"))).await.unwrap_err();
    assert_eq!(err.class, FailureClass::Config, "{err}");
}

#[tokio::test]
async fn redirects_are_not_followed_and_no_referer_is_sent() {
    let server = MockServer::start().await;
    Mock::given(path("/start"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", format!("{}/elsewhere", server.uri())))
        .mount(&server)
        .await;
    Mock::given(path("/elsewhere")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let ctx = ctx();
    let err = client(&ctx)
        .send(RequestSpec::new(Method::POST, format!("{}/start", server.uri())).json(json!({"a": 1})))
        .await
        .unwrap_err();
    assert_eq!((err.class, err.retryable, err.status), (FailureClass::Config, false, Some(302)), "{err:?}");
    assert!(err.hint.as_deref().unwrap().contains("redirect"), "{err:?}");
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1, "the redirect was not followed");
    assert!(received.iter().all(|r| !r.headers.contains_key("referer")));
}

#[tokio::test]
async fn no_part_of_an_upstream_answer_reaches_the_error() {
    let server = MockServer::start().await;
    Mock::given(path("/error"))
        .respond_with(ResponseTemplate::new(404).set_body_string("<html>internal admin page: db-password=42</html>"))
        .mount(&server)
        .await;
    Mock::given(path("/shape"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": "internal admin page"})))
        .mount(&server)
        .await;
    let ctx = ctx();
    let err = client(&ctx).send(RequestSpec::new(Method::GET, format!("{}/error", server.uri()))).await.unwrap_err();
    assert_eq!(err.status, Some(404));
    assert!(!format!("{err:?}").contains("internal admin page"), "{err:?}");

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Expected {
        ok: u32,
    }
    let err = client(&ctx)
        .send_json::<Expected>(RequestSpec::new(Method::GET, format!("{}/shape", server.uri())))
        .await
        .unwrap_err();
    assert_eq!(err.class, FailureClass::Upstream);
    assert!(err.message.contains("unexpected shape"), "{err}");
    assert!(!format!("{err:?}").contains("internal admin page"), "serde's message quotes the body: {err:?}");
}

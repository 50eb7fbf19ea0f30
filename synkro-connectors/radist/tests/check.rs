//! The credential check and failure classes: success details, bad and unscoped keys, no
//! WhatsApp source, rate limiting, server errors and malformed bodies.
#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_redacted, config, ctx};
use serde_json::json;
use synkro_connector_radist::RadistConnector;
use synkro_core::connector::{Capability, Connector, FailureClass, Registry, run_check};
use synkro_sandbox::{Fault, Sandbox, SandboxConfig, Service};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

#[tokio::test]
async fn check_finds_the_company_and_its_sources_with_two_reads() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let key = sandbox.credentials().radist_api_key.clone();
    let ctx = ctx(&sandbox.url(Service::Radist));
    let details = RadistConnector.check(&config(&key, json!({})), &ctx).await.unwrap();
    assert_eq!(
        details,
        json!({
            "company_id": 205113, "company_name": "Acme",
            "sources": [{"connection_id": 1, "type": "whatsapp"}, {"connection_id": 2, "type": "waba"},
                {"connection_id": 3, "type": "telegram"}],
            "whatsapp_sources": 2,
        })
    );
    let requests = sandbox.requests(Service::Radist);
    let seen: Vec<(&str, &str)> = requests.iter().map(|r| (r.method.as_str(), r.path.as_str())).collect();
    assert_eq!(seen, [("GET", "/v2/companies/"), ("GET", "/v2/companies/205113/messaging/chats/sources/")]);
    assert_eq!((requests[0].query_value("limit"), requests[0].query_value("offset")), (Some("100"), Some("0")));
    assert!(requests.iter().all(|r| r.header("x-api-key") == Some(key.as_str())), "the key is sent as is");

    let report = run_check(&RadistConnector, &config(&key, json!({"company_id": 205113})), &ctx).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.details["company_name"], "Acme");
}

#[tokio::test]
async fn a_wrong_key_is_an_auth_failure_that_is_not_retried_and_never_shown() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let wrong = "rk_live_wrongwrongwrongwrongwrongwrong1";
    let ctx = ctx(&sandbox.url(Service::Radist));
    let err = RadistConnector.check(&config(wrong, json!({})), &ctx).await.unwrap_err();
    assert_eq!((err.class, err.retryable, err.status), (FailureClass::Auth, false, Some(401)));
    assert!(err.hint.as_deref().unwrap().contains("API key"), "{err:?}");
    assert_redacted(&err, wrong);
    assert_eq!(sandbox.request_count(Service::Radist), 1, "no retry can help");
}

#[tokio::test]
async fn the_servers_answer_never_reaches_the_error() {
    let key = "rk_live_echoedechoedechoedechoed42";
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"detail": format!("Invalid API key {key}")})))
        .mount(&server)
        .await;
    let err = RadistConnector.check(&config(key, json!({})), &ctx(&format!("{}/v2", server.uri()))).await.unwrap_err();
    assert_eq!(err.class, FailureClass::Auth);
    assert!(err.message.ends_with("HTTP 401"), "the status, not the body: {}", err.message);
    assert!(!format!("{err:?}").contains("Invalid API key"), "{err:?}");
    assert_redacted(&err, key);
}

#[tokio::test]
async fn a_key_without_the_messaging_scope_is_a_permission_failure() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let key = sandbox.credentials().radist_api_key_no_scope.clone();
    let err = RadistConnector.check(&config(&key, json!({})), &ctx(&sandbox.url(Service::Radist))).await.unwrap_err();
    assert_eq!((err.class, err.retryable, err.status), (FailureClass::Permission, false, Some(403)));
    assert!(err.hint.as_deref().unwrap().contains("messaging scope"), "{err:?}");
    assert_redacted(&err, &key);
}

#[tokio::test]
async fn a_company_the_key_cannot_see_is_a_config_failure_naming_company_id() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let key = sandbox.credentials().radist_api_key.clone();
    let cfg = config(&key, json!({"company_id": 999}));
    let err = RadistConnector.check(&cfg, &ctx(&sandbox.url(Service::Radist))).await.unwrap_err();
    assert_eq!(err.class, FailureClass::Config);
    assert!(err.message.contains("company_id") && err.message.contains("999"), "{err:?}");
}

#[tokio::test]
async fn a_company_without_whatsapp_fails_check_and_dialogs_with_a_config_hint() {
    let key = "rk_live_nowhatsappnowhatsapp000";
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/companies/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"companies": [{"id": 5, "name": "TG only"}]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/companies/5/messaging/chats/sources/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"connection_id": 3, "type": "telegram"}])))
        .mount(&server)
        .await;
    let ctx = ctx(&format!("{}/v2", server.uri()));
    let err = RadistConnector.check(&config(key, json!({})), &ctx).await.unwrap_err();
    assert_eq!((err.class, err.retryable), (FailureClass::Config, false));
    assert!(err.hint.as_deref().unwrap().contains("connect WhatsApp in Radist"), "{err:?}");
    let source = common::source(&config(key, json!({})), &ctx);
    let day = common::window("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
    let err = common::batches(source.as_ref(), day, None).await.unwrap_err();
    assert_eq!(err.class, FailureClass::Config);
}

#[tokio::test]
async fn rate_limited_answers_are_waited_out() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    sandbox.inject(Service::Radist, "", Fault::RateLimited, 2);
    let key = sandbox.credentials().radist_api_key.clone();
    let ctx = ctx(&sandbox.url(Service::Radist));
    let details = RadistConnector.check(&config(&key, json!({})), &ctx).await.unwrap();
    assert_eq!(details["whatsapp_sources"], 2);
    assert_eq!(sandbox.rate_limited_count(Service::Radist), 2);
    let counters = ctx.metrics.get("radist");
    assert_eq!((counters.rate_limited, counters.retries, counters.failures, counters.requests), (2, 2, 0, 4));
}

#[tokio::test]
async fn server_errors_are_retried_and_a_lasting_outage_is_an_upstream_failure() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let key = sandbox.credentials().radist_api_key.clone();
    let ctx = ctx(&sandbox.url(Service::Radist));
    sandbox.inject(Service::Radist, "sources", Fault::Status(500), 2);
    RadistConnector.check(&config(&key, json!({})), &ctx).await.unwrap();
    assert_eq!(ctx.metrics.get("radist").retries, 2);

    sandbox.inject(Service::Radist, "", Fault::Status(500), 1_000);
    let err = RadistConnector.check(&config(&key, json!({})), &ctx).await.unwrap_err();
    assert_eq!((err.class, err.retryable, err.status), (FailureClass::Upstream, true, Some(500)));
    assert!(err.message.contains("/v2/companies/"), "{err}");
    assert_redacted(&err, &key);
}

#[tokio::test]
async fn a_malformed_body_is_retried_then_reported_as_upstream() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let key = sandbox.credentials().radist_api_key.clone();
    let ctx = ctx(&sandbox.url(Service::Radist));
    sandbox.inject(Service::Radist, "companies/", Fault::Malformed, 1);
    RadistConnector.check(&config(&key, json!({})), &ctx).await.unwrap();

    sandbox.inject(Service::Radist, "sources", Fault::Malformed, 1_000);
    let err = RadistConnector.check(&config(&key, json!({})), &ctx).await.unwrap_err();
    assert_eq!((err.class, err.retryable), (FailureClass::Upstream, true));
    assert!(err.message.contains("malformed"), "{err}");
}

#[test]
fn the_connector_describes_itself_and_is_registered_once() {
    let spec = RadistConnector.spec();
    assert_eq!((spec.kind, spec.display_name), ("radist", "Radist"));
    assert_eq!(spec.capabilities, [Capability::ChatSource]);
    let public: Vec<&str> = spec.public_fields.iter().map(|f| f.name).collect();
    assert_eq!(public, ["base_url", "company_id", "max_chat_pages", "max_message_pages", "max_chats"]);
    assert!(spec.public_fields.iter().all(|f| !f.required));
    let secret: Vec<(&str, bool)> = spec.secret_fields.iter().map(|f| (f.name, f.required)).collect();
    assert_eq!(secret, [("api_key", true)]);
    let registry = Registry::from_linked().unwrap();
    assert_eq!(registry.get("radist").map(|c| c.spec().display_name), Some("Radist"));
}

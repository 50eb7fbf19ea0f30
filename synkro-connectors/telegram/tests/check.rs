//! The credential check: what it learns, that it sends nothing, and how it fails (wrong token,
//! a chat the bot cannot see, flood control, malformed answers) without ever showing the token.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{assert_redacted, assert_report_redacted, config, ctx, sandbox, sandbox_config, sandbox_ctx};
use serde_json::json;
use synkro_connector_telegram::TelegramConnector;
use synkro_core::connector::{Connector, FailureClass, run_check};
use synkro_sandbox::{Fault, Service, TELEGRAM_BOT_ID, TELEGRAM_BOT_USERNAME};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

#[tokio::test]
async fn check_returns_the_bot_and_the_chat_and_sends_nothing() {
    let sandbox = sandbox().await;
    let chat = sandbox.credentials().telegram_chat_id;
    let report = run_check(&TelegramConnector, &sandbox_config(&sandbox), &sandbox_ctx(&sandbox)).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(
        report.details,
        json!({"bot_id": TELEGRAM_BOT_ID, "bot_username": TELEGRAM_BOT_USERNAME, "chat_id": chat,
            "chat_type": "supergroup", "chat_title": "Acme Sales"})
    );
    let methods: Vec<String> =
        sandbox.requests(Service::Telegram).iter().map(|r| r.path.rsplit('/').next().unwrap().to_owned()).collect();
    assert_eq!(methods, ["getMe", "getChat"], "two reads, nothing else");
    assert!(sandbox.telegram_sent().is_empty(), "a check never posts to the chat");
}

#[tokio::test]
async fn a_wrong_token_is_an_auth_failure_that_is_not_retried_and_never_shown() {
    let sandbox = sandbox().await;
    let wrong = format!("{TELEGRAM_BOT_ID}:AAwrongwrongwrongwrongwrongwrongwrong");
    let config = config(&wrong, &sandbox.credentials().telegram_chat_id.to_string());
    let ctx = sandbox_ctx(&sandbox);

    let err = TelegramConnector.check(&config, &ctx).await.unwrap_err();
    assert_eq!((err.class, err.retryable, err.status), (FailureClass::Auth, false, Some(401)));
    assert!(err.hint.as_deref().unwrap().contains("@BotFather"), "{err:?}");
    assert!(err.message.contains("/bot***/getMe"), "the path is shown with the token stripped: {}", err.message);
    assert_redacted(&err, &wrong);
    assert_eq!(sandbox.request_count(Service::Telegram), 1, "no retry can fix a wrong token");

    let report = run_check(&TelegramConnector, &config, &ctx).await;
    assert_eq!((report.ok, report.class, report.retryable), (false, Some(FailureClass::Auth), false));
    assert_report_redacted(&report, &wrong);
}

#[tokio::test]
async fn a_token_that_is_not_shaped_like_one_is_refused_before_anything_is_sent() {
    let sandbox = sandbox().await;
    let config = config("not-a-token-at-all", "-1001234567890");
    let err = TelegramConnector.check(&config, &sandbox_ctx(&sandbox)).await.unwrap_err();
    assert_eq!((err.class, err.retryable), (FailureClass::Config, false));
    assert!(err.message.starts_with("bot_token"), "{err}");
    assert_redacted(&err, "not-a-token-at-all");
    assert_eq!(sandbox.request_count(Service::Telegram), 0);
}

#[tokio::test]
async fn a_chat_the_bot_cannot_see_is_a_config_failure_with_a_hint() {
    let sandbox = sandbox().await;
    let token = sandbox.credentials().telegram_bot_token.clone();
    let config = config(&token, "-1009876543210");
    let err = TelegramConnector.check(&config, &sandbox_ctx(&sandbox)).await.unwrap_err();
    assert_eq!((err.class, err.retryable, err.status), (FailureClass::Config, false, Some(400)));
    assert!(err.message.contains("chat not found"), "{err}");
    let hint = err.hint.as_deref().unwrap();
    assert!(hint.contains("add the bot") && hint.contains("chat_id"), "{hint}");
    assert_redacted(&err, &token);
    assert_eq!(sandbox.request_count(Service::Telegram), 2, "getMe, then getChat once");
    assert!(sandbox.telegram_sent().is_empty());
}

#[tokio::test]
async fn flood_control_on_the_check_is_waited_out_for_the_seconds_telegram_asks() {
    // Telegram's `retry_after` is in the JSON body; no Retry-After header here.
    let server = MockServer::start().await;
    let token = "123456789:AAtokenfortheretryaftertest000000";
    Mock::given(method("POST"))
        .and(path(format!("/bot{token}/getMe")))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"ok": false, "error_code": 429,
            "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/bot{token}/getMe")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"ok": true, "result": {"id": 123456789, "is_bot": true, "first_name": "B", "username": "b_bot"}}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/bot{token}/getChat")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "result": {"id": -100555, "type": "supergroup", "title": "Sales"}})),
        )
        .mount(&server)
        .await;
    let ctx = ctx(&server.uri());
    let started = Instant::now();
    let details = TelegramConnector.check(&config(token, "-100555"), &ctx).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(details["bot_username"], "b_bot");
    assert!(waited >= Duration::from_millis(950), "retry_after = 1 s was honoured, not the 10 ms backoff: {waited:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 3, "getMe twice, getChat once");
    assert_eq!(ctx.metrics.get("telegram").rate_limited, 1);
}

#[tokio::test]
async fn a_malformed_answer_is_retried_and_a_persistent_one_is_an_upstream_failure() {
    let sandbox = sandbox().await;
    let token = sandbox.credentials().telegram_bot_token.clone();
    sandbox.inject(Service::Telegram, "getMe", Fault::Malformed, 1);
    let report = run_check(&TelegramConnector, &sandbox_config(&sandbox), &sandbox_ctx(&sandbox)).await;
    assert!(report.ok, "one garbled answer is retried: {report:?}");
    assert_eq!(sandbox.request_count(Service::Telegram), 3, "getMe twice, getChat once");

    let ctx = sandbox_ctx(&sandbox);
    sandbox.inject(Service::Telegram, "getMe", Fault::Malformed, ctx.http.max_attempts);
    let err = TelegramConnector.check(&sandbox_config(&sandbox), &ctx).await.unwrap_err();
    assert_eq!((err.class, err.retryable), (FailureClass::Upstream, true));
    assert!(err.message.contains("malformed"), "{err}");
    assert_redacted(&err, &token);
}

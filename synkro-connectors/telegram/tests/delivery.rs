//! Delivering reports: long texts split as Telegram needs and received whole and in order,
//! pacing at one message per second per chat, flood control and server errors survived
//! without duplicates, refusals classified, and a group that became a supergroup followed.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{
    assert_redacted, config, ctx, messenger, sandbox, sandbox_config, sandbox_ctx, sandbox_messenger, texts, units,
};
use serde_json::json;
use synkro_connector_telegram::MAX_MESSAGE_UNITS;
use synkro_core::connector::{Delivery, FailureClass};
use synkro_sandbox::{Fault, Sandbox, SandboxConfig, Service};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_json, method, path},
};

/// `n` paragraphs of about `chars` characters each, every one distinguishable.
fn paragraphs(n: usize, chars: usize) -> Vec<String> {
    (1..=n)
        .map(|i| {
            let mut p = format!("Part {i}:");
            while p.chars().count() < chars {
                p.push_str(&format!(" deal{i}-{}", p.len()));
            }
            p
        })
        .collect()
}

fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

fn send_message_requests(sandbox: &Sandbox) -> usize {
    sandbox.requests(Service::Telegram).iter().filter(|r| r.path.ends_with("/sendMessage")).count()
}

#[tokio::test]
async fn a_short_report_is_one_message_sent_verbatim_without_markup() {
    let sandbox = sandbox().await;
    // Model output full of HTML and Markdown specials must not make Telegram refuse the text.
    let text = "Итог дня: <5% отказов & *рост* продаж_на_10% [см. ниже]";
    let delivery = sandbox_messenger(&sandbox).send_text(text).await.unwrap();
    assert_eq!(delivery, Delivery { messages: 1, moved_to: None });
    let sent = sandbox.telegram_sent();
    assert_eq!(texts(&sent), [text]);
    assert_eq!(sent[0].chat_id, sandbox.credentials().telegram_chat_id);
    assert_eq!(sent[0].parse_mode, None, "sent as plain text");
}

#[tokio::test]
async fn a_paragraph_of_exactly_4096_characters_is_one_message() {
    let sandbox = sandbox().await;
    let paragraph: String = "слово ".repeat(1000).chars().take(MAX_MESSAGE_UNITS).collect();
    assert_eq!(units(&paragraph), 4096);
    let text = format!("{paragraph}\n\nИтого: 12 сделок.");
    let delivery = sandbox_messenger(&sandbox).send_text(&text).await.unwrap();
    assert_eq!(delivery.messages, 2);
    assert_eq!(texts(&sandbox.telegram_sent()), [paragraph.as_str(), "Итого: 12 сделок."]);
}

#[tokio::test]
async fn a_single_line_longer_than_the_limit_is_cut_between_words_and_nothing_is_lost() {
    let sandbox = sandbox().await;
    let line = (0..800).map(|i| format!("deal{i}")).collect::<Vec<_>>().join(" ");
    assert!(units(&line) > 6000 && !line.contains('\n'));
    let delivery = sandbox_messenger(&sandbox).send_text(&line).await.unwrap();
    let sent = sandbox.telegram_sent();
    assert_eq!(delivery.messages as usize, sent.len());
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|m| units(&m.text) <= MAX_MESSAGE_UNITS), "{:?}", sent.iter().map(|m| units(&m.text)));
    let received = texts(&sent).join(" ");
    assert_eq!(words(&received), words(&line), "every word arrives once, in order, none cut in half");
}

#[tokio::test]
async fn a_word_longer_than_the_limit_is_cut_inside_and_arrives_whole_when_joined() {
    let sandbox = sandbox().await;
    let blob: String = (0..5000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    let delivery = sandbox_messenger(&sandbox).send_text(&blob).await.unwrap();
    let sent = sandbox.telegram_sent();
    assert_eq!(delivery.messages, 2);
    assert_eq!(sent.iter().map(|m| units(&m.text)).collect::<Vec<_>>(), [4096, 904]);
    assert_eq!(texts(&sent).concat(), blob);
}

#[tokio::test]
async fn cyrillic_and_emoji_stay_within_the_limit_and_lose_no_words() {
    let sandbox = sandbox().await;
    let text = (1..=40)
        .map(|i| {
            let line = format!("Менеджер Анна 👍 закрыла сделку №{i} 🎉 — клиент доволен 😀, оплата 💰 получена.");
            vec![line; 3].join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    assert!(text.chars().count() < 3 * MAX_MESSAGE_UNITS && units(&text) > 2 * MAX_MESSAGE_UNITS);
    let delivery = sandbox_messenger(&sandbox).send_text(&text).await.unwrap();
    let sent = sandbox.telegram_sent();
    assert_eq!(delivery.messages as usize, sent.len());
    assert_eq!(sent.len(), 3, "{:?}", sent.iter().map(|m| units(&m.text)).collect::<Vec<_>>());
    for m in &sent {
        assert!(units(&m.text) <= MAX_MESSAGE_UNITS, "{} UTF-16 units", units(&m.text));
        assert!(!m.text.starts_with('\n') && !m.text.ends_with('\n'), "cut at a boundary, separators dropped");
    }
    assert_eq!(words(&texts(&sent).join("\n\n")), words(&text));
    assert!(sent[0].text.ends_with("получена.") && sent[1].text.starts_with("Менеджер"), "cut between paragraphs");
}

#[tokio::test]
async fn at_one_message_per_second_a_three_part_report_arrives_without_a_single_429() {
    // The sandbox enforces Telegram's real limit here: 1 message per second per chat.
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    assert_eq!(sandbox.config().telegram_chat_interval, Duration::from_secs(1));
    let parts = paragraphs(3, 3000);
    let started = Instant::now();
    let delivery = sandbox_messenger(&sandbox).send_text(&parts.join("\n\n")).await.unwrap();
    assert_eq!(delivery, Delivery { messages: 3, moved_to: None });
    assert_eq!(sandbox.rate_limited_count(Service::Telegram), 0, "the connector paced itself");
    assert_eq!(send_message_requests(&sandbox), 3, "no request was refused and resent");
    assert_eq!(texts(&sandbox.telegram_sent()), parts);
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[tokio::test]
async fn flood_control_is_waited_out_and_every_part_arrives_once_in_order() {
    let sandbox = sandbox().await;
    let ctx = sandbox_ctx(&sandbox);
    sandbox.inject(Service::Telegram, "sendMessage", Fault::RateLimited, 1);
    let parts = paragraphs(2, 3000);
    let delivery = messenger(&sandbox_config(&sandbox), &ctx).send_text(&parts.join("\n\n")).await.unwrap();
    assert_eq!(delivery.messages, 2);
    assert_eq!(texts(&sandbox.telegram_sent()), parts);
    assert_eq!(sandbox.rate_limited_count(Service::Telegram), 1);
    assert_eq!(send_message_requests(&sandbox), 3);
    assert_eq!(ctx.metrics.get("telegram").rate_limited, 1);
}

#[tokio::test]
async fn server_errors_are_retried_and_no_part_is_duplicated() {
    let sandbox = sandbox().await;
    sandbox.inject(Service::Telegram, "sendMessage", Fault::Status(500), 2);
    let parts = paragraphs(2, 3000);
    let delivery = sandbox_messenger(&sandbox).send_text(&parts.join("\n\n")).await.unwrap();
    assert_eq!(delivery.messages, 2);
    assert_eq!(texts(&sandbox.telegram_sent()), parts, "each part exactly once");
    assert_eq!(send_message_requests(&sandbox), 4);
}

#[tokio::test]
async fn a_malformed_answer_to_a_send_counts_as_sent_and_is_never_resent() {
    // Telegram answered 2xx, so the message most likely went out: resending could duplicate it.
    let sandbox = sandbox().await;
    sandbox.inject(Service::Telegram, "sendMessage", Fault::Malformed, 1);
    let delivery = sandbox_messenger(&sandbox).send_text("Отчёт за день").await.unwrap();
    assert_eq!(delivery.messages, 1);
    assert_eq!(send_message_requests(&sandbox), 1, "not retried");
}

#[tokio::test]
async fn a_chat_that_refuses_the_bot_is_a_permission_failure_and_is_not_retried() {
    let sandbox = sandbox().await;
    let token = sandbox.credentials().telegram_bot_token.clone();
    sandbox.inject(Service::Telegram, "sendMessage", Fault::Status(403), 1);
    let err = sandbox_messenger(&sandbox).send_text("report").await.unwrap_err();
    assert_eq!((err.class, err.retryable, err.status), (FailureClass::Permission, false, Some(403)));
    assert!(err.hint.as_deref().unwrap().contains("add it to the chat"), "{err:?}");
    assert_redacted(&err, &token);
    assert_eq!(send_message_requests(&sandbox), 1);
    assert!(sandbox.telegram_sent().is_empty());
}

#[tokio::test]
async fn a_failure_part_way_says_how_many_parts_were_sent() {
    let server = MockServer::start().await;
    let token = "123456789:AApartialdeliverytesttoken0000000";
    let ok = json!({"ok": true, "result": {"message_id": 1, "date": 0, "chat": {"id": -100555, "type": "supergroup"}}});
    Mock::given(path(format!("/bot{token}/sendMessage")))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path(format!("/bot{token}/sendMessage")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"ok": false, "error_code": 403,
            "description": "Forbidden: bot was kicked from the supergroup chat"})))
        .mount(&server)
        .await;
    let text = paragraphs(2, 3000).join("\n\n");
    let err = messenger(&config(token, "-100555"), &ctx(&server.uri())).send_text(&text).await.unwrap_err();
    assert_eq!(err.class, FailureClass::Permission);
    assert!(err.message.contains("after 1 of 2 parts were sent"), "{err}");
    assert!(err.message.contains("HTTP 403") && !err.message.contains("bot was kicked"), "{err}");
    assert_redacted(&err, token);
}

#[tokio::test]
async fn send_message_posts_json_with_the_chat_and_the_text_to_the_token_path() {
    let server = MockServer::start().await;
    let token = "123456789:AAwireshapetesttoken0000000000000";
    Mock::given(method("POST"))
        .and(path(format!("/bot{token}/sendMessage")))
        .and(body_json(json!({"chat_id": "-100555", "text": "Hello, team"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"ok": true, "result": {"message_id": 7, "date": 0, "chat": {"id": -100555, "type": "supergroup"}}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let delivery = messenger(&config(token, "-100555"), &ctx(&server.uri())).send_text("Hello, team").await.unwrap();
    assert_eq!(delivery.messages, 1);
    let request = &server.received_requests().await.unwrap()[0];
    assert_eq!(request.headers.get("content-type").unwrap(), "application/json");
}

#[tokio::test]
async fn a_group_that_became_a_supergroup_is_followed_and_the_new_id_reported() {
    let sandbox = sandbox().await;
    let (old, new) = (-4_001_234_i64, -1_009_999_999_999_i64);
    sandbox.telegram_migrate_chat(old, new);
    let token = sandbox.credentials().telegram_bot_token.clone();
    let messenger = messenger(&config(&token, &old.to_string()), &sandbox_ctx(&sandbox));
    let parts = paragraphs(2, 3000);

    let delivery = messenger.send_text(&parts.join("\n\n")).await.unwrap();
    assert_eq!(delivery, Delivery { messages: 2, moved_to: Some(new.to_string()) });
    let sent = sandbox.telegram_sent();
    assert_eq!(texts(&sent), parts, "nothing lost to the move");
    assert!(sent.iter().all(|m| m.chat_id == new), "{sent:?}");
    assert_eq!(send_message_requests(&sandbox), 3, "one refusal, then both parts to the supergroup");

    // The bot keeps following: it now answers in the supergroup.
    assert_eq!(messenger.chat_id(), new.to_string());
    let again = messenger.send_text("still here").await.unwrap();
    assert_eq!(again, Delivery { messages: 1, moved_to: None });
    assert_eq!(send_message_requests(&sandbox), 4, "no second refusal");
}

#[tokio::test]
async fn a_failure_part_way_is_not_retried_later_so_no_part_arrives_twice() {
    let server = MockServer::start().await;
    let token = "123456789:AApartialretrytesttoken000000000";
    let ok = json!({"ok": true, "result": {"message_id": 1, "date": 0, "chat": {"id": -100555, "type": "supergroup"}}});
    Mock::given(path(format!("/bot{token}/sendMessage")))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path(format!("/bot{token}/sendMessage")))
        .respond_with(ResponseTemplate::new(502).set_body_string("Bad Gateway"))
        .mount(&server)
        .await;
    let text = paragraphs(2, 3000).join("\n\n");
    let err = messenger(&config(token, "-100555"), &ctx(&server.uri())).send_text(&text).await.unwrap_err();
    assert!(err.message.contains("after 1 of 2 parts were sent"), "{err}");
    assert!(!err.retryable, "sending again would repeat the first part: {err:?}");
}

#[tokio::test]
async fn alerts_go_to_the_alert_chat_when_one_is_set_and_the_check_sees_it() {
    let sandbox = sandbox().await;
    let creds = sandbox.credentials();
    let admins: i64 = -1_009_876_543_210;
    sandbox.telegram_add_chat(admins);
    let mut with_alerts = sandbox_config(&sandbox);
    with_alerts.public.insert("alert_chat_id".into(), json!(admins.to_string()));
    let ctx = sandbox_ctx(&sandbox);

    let bot = messenger(&with_alerts, &ctx);
    bot.send_alert("⚠️ the report failed").await.unwrap();
    bot.send_text("the report").await.unwrap();
    let sent: Vec<(i64, String)> = sandbox.telegram_sent().into_iter().map(|m| (m.chat_id, m.text)).collect();
    assert_eq!(sent, [(admins, "⚠️ the report failed".to_owned()), (creds.telegram_chat_id, "the report".to_owned())]);

    // Without an alert chat, alerts go to the report chat.
    sandbox_messenger(&sandbox).send_alert("⚠️ again").await.unwrap();
    assert_eq!(sandbox.telegram_sent().last().unwrap().chat_id, creds.telegram_chat_id);

    // The check proves the bot can see the alert chat too, and names it.
    let checked =
        synkro_core::connector::run_check(&synkro_connector_telegram::TelegramConnector, &with_alerts, &ctx).await;
    assert!(checked.ok, "{checked:?}");
    assert_eq!(checked.details["alert_chat_id"], json!(admins));
    let mut unseen = sandbox_config(&sandbox);
    unseen.public.insert("alert_chat_id".into(), json!("-1005555"));
    let refused = synkro_core::connector::run_check(&synkro_connector_telegram::TelegramConnector, &unseen, &ctx).await;
    assert!(!refused.ok, "a chat the bot is not in is reported: {refused:?}");
    assert!(refused.message.starts_with("alert chat: "), "{refused:?}");
    assert!(refused.hint.as_deref().unwrap().contains("alert_chat_id"), "{refused:?}");
    let mut garbled = sandbox_config(&sandbox);
    garbled.public.insert("alert_chat_id".into(), json!("admins chat"));
    let err = synkro_core::connector::Connector::build(&synkro_connector_telegram::TelegramConnector, &garbled, &ctx)
        .err()
        .unwrap();
    assert!(err.message.contains("alert_chat_id"), "{err:?}");
}

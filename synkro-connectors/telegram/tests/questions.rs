//! Follow-up questions: messages that mention the bot, from people, in any of the bot's chats
//! (each with its chat), with the mention removed; chat moves from service messages; each
//! update read once through the offset; the inbox is the bot; replies thread to the question;
//! a second reader of the bot's updates is named as such.
#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_redacted, config, ctx, messenger, sandbox, sandbox_messenger};
use serde_json::{Value, json};
use synkro_core::connector::{ChatMove, FailureClass, Question};
use synkro_sandbox::{Sandbox, Service, TELEGRAM_BOT_USERNAME};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::path};

fn mention(text: &str) -> String {
    format!("@{TELEGRAM_BOT_USERNAME} {text}")
}

/// JSON bodies of the `getUpdates` calls the sandbox received.
fn get_updates_bodies(sandbox: &Sandbox) -> Vec<Value> {
    sandbox
        .requests(Service::Telegram)
        .iter()
        .filter(|r| r.path.ends_with("/getUpdates"))
        .map(|r| serde_json::from_str(r.body.as_deref().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn questions_are_people_mentioning_the_bot_in_any_chat_with_the_mention_removed() {
    let sandbox = sandbox().await;
    let chat = sandbox.credentials().telegram_chat_id;
    let first = sandbox.telegram_push_update(chat, "anna", false, &mention("почему упала конверсия?"));
    sandbox.telegram_push_update(chat, "anna", false, "просто разговор, без бота");
    sandbox.telegram_push_update(chat, "helper_bot", true, &mention("я тоже бот, ответь мне"));
    sandbox.telegram_push_update(chat, TELEGRAM_BOT_USERNAME, true, &mention("my own report"));
    let elsewhere = sandbox.telegram_push_update(-1_009_876_543_210, "anna", false, &mention("вопрос из другого чата"));
    sandbox.telegram_push_update(chat, "boris", false, "@synkro_sandbox_bot");
    sandbox.telegram_push_update(chat, "boris", false, "спроси @synkro_sandbox_botanist, не нас");
    let second = sandbox.telegram_push_update(chat, "boris", false, "Коллеги, @Synkro_Sandbox_Bot: что с планом?");

    let asked = sandbox_messenger(&sandbox).questions(None).await.unwrap();
    let got: Vec<(i64, &str, &str, Option<&str>)> =
        asked.questions.iter().map(|q| (q.update_id, q.chat_id.as_str(), q.text.as_str(), q.from.as_deref())).collect();
    let (chat, other) = (chat.to_string(), "-1009876543210");
    assert_eq!(
        got,
        [
            (first, chat.as_str(), "почему упала конверсия?", Some("anna")),
            (elsewhere, other, "вопрос из другого чата", Some("anna")),
            (second, chat.as_str(), "Коллеги, что с планом?", Some("boris")),
        ],
        "the bot's updates are one stream for all its chats: the host tells them apart by chat"
    );
    assert!(asked.moves.is_empty());
    assert_eq!(asked.next_offset, Some(second + 1), "ignored updates are confirmed too");
    assert_eq!(
        get_updates_bodies(&sandbox),
        [json!({"timeout": 0, "allowed_updates": ["message"]})],
        "no offset on the first call; short polling for messages only"
    );
}

#[tokio::test]
async fn an_update_is_read_once_when_the_next_offset_is_passed_back() {
    let sandbox = sandbox().await;
    let chat = sandbox.credentials().telegram_chat_id;
    let messenger = sandbox_messenger(&sandbox);
    let a = sandbox.telegram_push_update(chat, "anna", false, &mention("сколько сделок?"));
    let b = sandbox.telegram_push_update(chat, "boris", false, &mention("а выручка?"));

    let first = messenger.questions(None).await.unwrap();
    assert_eq!(first.questions.iter().map(|q| q.update_id).collect::<Vec<_>>(), [a, b]);
    assert_eq!(first.next_offset, Some(b + 1));

    let again = messenger.questions(first.next_offset).await.unwrap();
    assert!(again.questions.is_empty(), "nothing new: {again:?}");
    assert_eq!(again.next_offset, first.next_offset, "the offset is kept when nothing arrived");

    let c = sandbox.telegram_push_update(chat, "anna", false, &mention("и конверсия?"));
    let third = messenger.questions(again.next_offset).await.unwrap();
    assert_eq!(
        third.questions.iter().map(|q| (q.update_id, q.text.as_str())).collect::<Vec<_>>(),
        [(c, "и конверсия?")]
    );
    assert_eq!(third.next_offset, Some(c + 1));
    assert!(messenger.questions(third.next_offset).await.unwrap().questions.is_empty());

    let offsets: Vec<Option<i64>> =
        get_updates_bodies(&sandbox).iter().map(|body| body.get("offset").and_then(Value::as_i64)).collect();
    assert_eq!(offsets, [None, Some(b + 1), Some(b + 1), Some(c + 1)], "the offset confirms what was read");
}

#[tokio::test]
async fn a_reply_is_threaded_to_the_question() {
    let sandbox = sandbox().await;
    let chat = sandbox.credentials().telegram_chat_id;
    let messenger = sandbox_messenger(&sandbox);
    sandbox.telegram_push_update(chat, "anna", false, &mention("почему упала конверсия?"));
    let asked = messenger.questions(None).await.unwrap();
    let [Question { message_id, .. }] = asked.questions.as_slice() else { panic!("one question: {asked:?}") };

    messenger.reply(*message_id, "Конверсия упала из-за двух сорванных сделок.").await.unwrap();
    let sent = sandbox.telegram_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].chat_id, chat);
    assert_eq!(sent[0].text, "Конверсия упала из-за двух сорванных сделок.");
    assert_eq!(sent[0].reply_to_message_id, Some(*message_id), "the answer quotes the question");
}

#[tokio::test]
async fn the_inbox_is_the_bot_and_chat_moves_come_from_service_messages() {
    let sandbox = sandbox().await;
    let (old, new) = (-4_001_234_i64, -1_009_999_999_999_i64);
    let token = sandbox.credentials().telegram_bot_token.clone();
    let messenger = messenger(&config(&token, &format!(" {old}")), &common::sandbox_ctx(&sandbox));
    let bot_id = token.split(':').next().unwrap();
    assert_eq!(messenger.inbox(), format!("telegram:{bot_id}"), "the bot's id, never its token");
    assert_eq!(messenger.chat_id(), old.to_string(), "the chat id in the form updates carry");

    sandbox.telegram_add_chat(old);
    sandbox.telegram_migrate_chat(old, new);
    sandbox.telegram_push_update(new, "anna", false, &mention("а где отчёт?"));
    let asked = messenger.questions(None).await.unwrap();
    assert_eq!(
        asked.moves,
        [ChatMove { from: old.to_string(), to: new.to_string() }],
        "both service messages, one move"
    );
    assert_eq!(
        asked.questions.iter().map(|q| (q.chat_id.clone(), q.text.as_str())).collect::<Vec<_>>(),
        [(new.to_string(), "а где отчёт?")]
    );
}

#[tokio::test]
async fn a_second_reader_of_the_bots_updates_is_a_config_error_naming_the_cause() {
    let server = MockServer::start().await;
    let token = "123456789:AAconflicttesttoken00000000000000";
    Mock::given(path(format!("/bot{token}/getMe")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"ok": true, "result": {"id": 123456789, "is_bot": true, "first_name": "S", "username": "s_bot"}}),
        ))
        .mount(&server)
        .await;
    Mock::given(path(format!("/bot{token}/getUpdates")))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({"ok": false, "error_code": 409,
            "description": "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"})))
        .mount(&server)
        .await;
    let err = messenger(&config(token, "-100555"), &ctx(&server.uri())).questions(None).await.unwrap_err();
    assert_eq!(err.class, FailureClass::Config);
    assert!(err.message.contains("HTTP 409: another reader of this bot's updates"), "{err}");
    assert!(err.hint.as_deref().unwrap().contains("webhook"), "{err:?}");
    assert_redacted(&err, token);
    let polls =
        server.received_requests().await.unwrap().iter().filter(|r| r.url.path().ends_with("getUpdates")).count();
    assert_eq!(polls, 1, "not retried: another poller does not go away by itself");
}

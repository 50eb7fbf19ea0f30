//! Follow-up questions: only messages in the chat that mention the bot, from people, with the
//! mention removed; each update read once through the offset; replies thread to the question.
#![allow(clippy::unwrap_used)]

mod common;

use common::{sandbox, sandbox_messenger};
use serde_json::{Value, json};
use synkro_core::connector::Question;
use synkro_sandbox::{Sandbox, Service, TELEGRAM_BOT_USERNAME};

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
async fn questions_are_people_mentioning_the_bot_in_the_chat_with_the_mention_removed() {
    let sandbox = sandbox().await;
    let chat = sandbox.credentials().telegram_chat_id;
    let first = sandbox.telegram_push_update(chat, "anna", false, &mention("почему упала конверсия?"));
    sandbox.telegram_push_update(chat, "anna", false, "просто разговор, без бота");
    sandbox.telegram_push_update(chat, "helper_bot", true, &mention("я тоже бот, ответь мне"));
    sandbox.telegram_push_update(chat, TELEGRAM_BOT_USERNAME, true, &mention("my own report"));
    sandbox.telegram_push_update(-1_009_876_543_210, "anna", false, &mention("вопрос из другого чата"));
    sandbox.telegram_push_update(chat, "boris", false, "@synkro_sandbox_bot");
    sandbox.telegram_push_update(chat, "boris", false, "спроси @synkro_sandbox_botanist, не нас");
    let second = sandbox.telegram_push_update(chat, "boris", false, "Коллеги, @Synkro_Sandbox_Bot: что с планом?");

    let asked = sandbox_messenger(&sandbox).questions(None).await.unwrap();
    let got: Vec<(i64, &str, Option<&str>)> =
        asked.questions.iter().map(|q| (q.update_id, q.text.as_str(), q.from.as_deref())).collect();
    assert_eq!(
        got,
        [(first, "почему упала конверсия?", Some("anna")), (second, "Коллеги, что с планом?", Some("boris"))]
    );
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

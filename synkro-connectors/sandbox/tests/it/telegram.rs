//! Telegram Bot API: tokens, text limits, flood control, migration, updates.

use std::time::Duration;

use serde_json::{Value, json};
use synkro_sandbox::{Sandbox, SandboxConfig, Service};

use crate::common::{client, json, unlimited};

async fn call(sb: &Sandbox, method: &str, params: Value) -> (u16, Value) {
    let url = format!("{}/bot{}/{method}", sb.url(Service::Telegram), sb.credentials().telegram_bot_token);
    json(client().post(url).json(&params).send().await.unwrap()).await
}

#[tokio::test]
async fn tokens_get_me_and_get_chat() {
    let sb = unlimited().await;
    let (status, me) = call(&sb, "getMe", json!({})).await;
    assert_eq!((status, me["result"]["username"].as_str()), (200, Some("synkro_sandbox_bot")));
    let (_, me) = call(&sb, "GETME", json!({})).await;
    assert_eq!(me["ok"], true, "method names are case-insensitive");
    let base = sb.url(Service::Telegram);
    let (status, body) = json(client().get(format!("{base}/bot123:wrong/getMe")).send().await.unwrap()).await;
    assert_eq!((status, body), (401, json!({"ok": false, "error_code": 401, "description": "Unauthorized"})));
    assert_eq!(client().get(format!("{base}/botnocolon/getMe")).send().await.unwrap().status().as_u16(), 404);

    let chat = sb.credentials().telegram_chat_id;
    let (status, body) = call(&sb, "getChat", json!({"chat_id": chat})).await;
    assert_eq!((status, body["result"]["type"].as_str()), (200, Some("supergroup")));
    let (status, body) = call(&sb, "getChat", json!({"chat_id": 42})).await;
    assert_eq!((status, body["description"].as_str()), (400, Some("Bad Request: chat not found")));
}

#[tokio::test]
async fn text_limits_and_markup() {
    let sb = unlimited().await;
    let chat = sb.credentials().telegram_chat_id;
    let (status, body) = call(&sb, "sendMessage", json!({"chat_id": chat, "text": "й".repeat(4097)})).await;
    assert_eq!((status, body["description"].as_str()), (400, Some("Bad Request: message is too long")));
    let (status, body) = call(&sb, "sendMessage", json!({"chat_id": chat, "text": ""})).await;
    assert_eq!((status, body["description"].as_str()), (400, Some("Bad Request: message text is empty")));
    let (status, body) =
        call(&sb, "sendMessage", json!({"chat_id": chat, "text": "<b>open", "parse_mode": "HTML"})).await;
    assert_eq!(status, 400);
    assert!(body["description"].as_str().unwrap().starts_with("Bad Request: can't parse entities"));
    let (status, body) = call(&sb, "sendMessage", json!({"chat_id": chat, "text": "й".repeat(4096)})).await;
    assert_eq!((status, body["ok"].as_bool()), (200, Some(true)), "4096 characters (8192 bytes) are fine");
    assert_eq!(sb.telegram_sent().len(), 1);
}

#[tokio::test]
async fn one_message_per_second_per_chat() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let chat = sb.credentials().telegram_chat_id;
    let (status, _) = call(&sb, "sendMessage", json!({"chat_id": chat, "text": "part 1"})).await;
    assert_eq!(status, 200);
    let (status, body) = call(&sb, "sendMessage", json!({"chat_id": chat, "text": "part 2"})).await;
    assert_eq!(status, 429);
    assert_eq!(body["parameters"]["retry_after"], 1);
    assert_eq!(body["description"], "Too Many Requests: retry after 1");
    assert_eq!(sb.rate_limited_count(Service::Telegram), 1);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (status, body) = call(&sb, "sendMessage", json!({"chat_id": chat, "text": "part 2"})).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["chat"]["id"], chat);
    let sent = sb.telegram_sent();
    assert_eq!(sent.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), vec!["part 1", "part 2"]);
    assert!(sent[1].at.unix_micros() - sent[0].at.unix_micros() >= 1_000_000);
}

#[tokio::test]
async fn migrated_groups_point_to_the_supergroup() {
    let sb = unlimited().await;
    sb.telegram_migrate_chat(-4_001_234, -1_009_999_999_999);
    let (status, body) = call(&sb, "sendMessage", json!({"chat_id": -4_001_234, "text": "hi"})).await;
    assert_eq!(status, 400);
    assert_eq!(body["parameters"]["migrate_to_chat_id"], -1_009_999_999_999_i64);
    let (status, _) = call(&sb, "sendMessage", json!({"chat_id": -1_009_999_999_999_i64, "text": "hi"})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn get_updates_confirms_by_offset() {
    let sb = unlimited().await;
    let chat = sb.credentials().telegram_chat_id;
    let first = sb.telegram_push_update(chat, "anna", false, "@synkro_sandbox_bot почему упала конверсия?");
    let second = sb.telegram_push_update(chat, "synkro_sandbox_bot", true, "Report text");
    let (_, body) = call(&sb, "getUpdates", json!({"timeout": 30})).await;
    let updates = body["result"].as_array().unwrap();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0]["update_id"], first);
    assert_eq!(updates[0]["message"]["entities"][0], json!({"type": "mention", "offset": 0, "length": 19}));
    assert_eq!(updates[1]["message"]["from"]["is_bot"], true);
    assert!(updates[1]["message"].get("entities").is_none());

    // Form-encoded params work too; offset confirms (drops) everything before it.
    let url = format!("{}/bot{}/getUpdates", sb.url(Service::Telegram), sb.credentials().telegram_bot_token);
    let (_, body) = json(client().post(&url).form(&[("offset", (second).to_string())]).send().await.unwrap()).await;
    assert_eq!(body["result"].as_array().unwrap().len(), 1);
    let (_, body) = json(client().get(&url).query(&[("offset", first.to_string())]).send().await.unwrap()).await;
    assert_eq!(body["result"][0]["update_id"], second, "confirmed updates never come back");
    let (_, body) = call(&sb, "getUpdates", json!({"offset": second + 1})).await;
    assert_eq!(body["result"], json!([]));

    // Replies must point at an existing message.
    let asked = updates[0]["message"]["message_id"].as_i64().unwrap();
    let (status, body) =
        call(&sb, "sendMessage", json!({"chat_id": chat, "text": "answer", "reply_parameters": {"message_id": asked}}))
            .await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["reply_to_message"]["message_id"], asked);
    assert_eq!(sb.telegram_sent()[0].reply_to_message_id, Some(asked));
}

#[tokio::test]
async fn a_second_poller_ends_the_first_with_409_and_offsets_confirm_for_every_chat() {
    let sb = unlimited().await;
    let (chat, other) = (sb.credentials().telegram_chat_id, -1_005_550_000_001_i64);
    // A long poll waits for updates ...
    let waiting = tokio::spawn({
        let url = format!("{}/bot{}/getUpdates", sb.url(Service::Telegram), sb.credentials().telegram_bot_token);
        async move { json(client().post(url).json(&json!({"timeout": 30})).send().await.unwrap()).await }
    });
    while !sb.requests(Service::Telegram).iter().any(|r| r.path.ends_with("/getUpdates")) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // ... until another poller of the same bot asks: the newer call wins.
    let (status, body) = call(&sb, "getUpdates", json!({"timeout": 0})).await;
    assert_eq!((status, body["result"].clone()), (200, json!([])));
    let (status, body) = waiting.await.unwrap();
    assert_eq!(status, 409);
    assert_eq!(
        body["description"],
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
    );

    // One stream for every chat of the bot: an offset taken in one chat confirms the other's.
    let mine = sb.telegram_push_update(chat, "anna", false, "@synkro_sandbox_bot one");
    let theirs = sb.telegram_push_update(other, "boris", false, "@synkro_sandbox_bot two");
    let (_, body) = call(&sb, "getUpdates", json!({})).await;
    let chats: Vec<&Value> = body["result"].as_array().unwrap().iter().map(|u| &u["message"]["chat"]["id"]).collect();
    assert_eq!(chats, [&json!(chat), &json!(other)]);
    let (_, body) = call(&sb, "getUpdates", json!({"offset": theirs + 1})).await;
    assert_eq!(body["result"], json!([]));
    let (_, body) = call(&sb, "getUpdates", json!({"offset": mine})).await;
    assert_eq!(body["result"], json!([]), "confirmed for the whole bot, whichever chat they came from");
}

#[tokio::test]
async fn a_migration_posts_service_messages_in_both_chats() {
    let sb = unlimited().await;
    let (old, new) = (-4_001_234_i64, -1_009_999_999_999_i64);
    sb.telegram_add_chat(old);
    let (status, _) = call(&sb, "sendMessage", json!({"chat_id": old, "text": "before"})).await;
    assert_eq!(status, 200, "an added chat is one the bot can write to");
    sb.telegram_migrate_chat(old, new);
    let (_, body) = call(&sb, "getUpdates", json!({})).await;
    let messages: Vec<&Value> = body["result"].as_array().unwrap().iter().map(|u| &u["message"]).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!((&messages[0]["chat"]["id"], &messages[0]["migrate_to_chat_id"]), (&json!(old), &json!(new)));
    assert_eq!((&messages[1]["chat"]["id"], &messages[1]["migrate_from_chat_id"]), (&json!(new), &json!(old)));
    assert_eq!(messages[1]["chat"]["type"], "supergroup");
}

//! Fake Telegram Bot API: getMe, getChat, sendMessage (limits, flood control, migration), getUpdates
//! (offsets confirm updates for the whole bot, long polling, one poller at a time), webhooks.

mod markup;
mod state;

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use synkro_core::time::Timestamp;

use crate::http::{Incoming, Reply, parse_query};
use crate::server::{Shared, lock};
pub use state::SentMessage;
pub(crate) use state::TgState;

/// Longest message text, in characters after entity parsing.
const MAX_TEXT_CHARS: usize = 4096;

/// A failed Bot API answer; the HTTP status mirrors `error_code`.
pub(crate) fn error(code: u16, description: &str) -> Reply {
    Reply::json(code, &json!({"ok": false, "error_code": code, "description": description}))
}

fn bad_request(description: &str) -> Reply {
    error(400, &format!("Bad Request: {description}"))
}

/// Flood-control 429 with `parameters.retry_after`.
pub(crate) fn too_many_requests(retry_after: u64) -> Reply {
    Reply::json(
        429,
        &json!({"ok": false, "error_code": 429, "description": format!("Too Many Requests: retry after {retry_after}"),
            "parameters": {"retry_after": retry_after}}),
    )
    .with_header("retry-after", retry_after.to_string())
}

fn migrated(new: i64) -> Reply {
    Reply::json(
        400,
        &json!({"ok": false, "error_code": 400,
            "description": "Bad Request: group chat was upgraded to a supergroup chat",
            "parameters": {"migrate_to_chat_id": new}}),
    )
}

fn ok(result: Value) -> Reply {
    Reply::json(200, &json!({"ok": true, "result": result}))
}

/// Parameters from the query string and a JSON or form body (body wins).
fn params(req: &Incoming) -> Map<String, Value> {
    let mut map: Map<String, Value> = req.query.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    match req.content_type().as_str() {
        "application/json" => {
            if let Some(Value::Object(body)) = req.json() {
                map.extend(body);
            }
        }
        "application/x-www-form-urlencoded" => {
            let text = String::from_utf8_lossy(&req.body);
            map.extend(parse_query(&text).into_iter().map(|(k, v)| (k, Value::String(v))));
        }
        _ => {}
    }
    map
}

/// An integer parameter given as a number or a numeric string.
fn int(params: &Map<String, Value>, name: &str) -> Option<i64> {
    match params.get(name)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text_param<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    params.get(name).and_then(Value::as_str)
}

/// An object parameter given as JSON or as a JSON string (form bodies).
fn object(params: &Map<String, Value>, name: &str) -> Option<Value> {
    match params.get(name)? {
        Value::String(s) => serde_json::from_str(s).ok(),
        other => Some(other.clone()),
    }
}

/// Handles a request to the Telegram server.
pub(crate) async fn handle(shared: &Shared, req: &Incoming) -> Reply {
    let Some((token, method)) = req.path.strip_prefix("/bot").and_then(|rest| rest.split_once('/')) else {
        return error(404, "Not Found");
    };
    if !token.contains(':') {
        return error(404, "Not Found");
    }
    if token != shared.credentials.telegram_bot_token {
        return error(401, "Unauthorized");
    }
    let params = params(req);
    match method.to_ascii_lowercase().as_str() {
        "getme" => ok(json!({"id": crate::credentials::TELEGRAM_BOT_ID, "is_bot": true, "first_name": "Synkro",
            "username": crate::credentials::TELEGRAM_BOT_USERNAME, "can_join_groups": true,
            "can_read_all_group_messages": false, "supports_inline_queries": false,
            "can_connect_to_business": false, "has_main_web_app": false})),
        "getchat" => get_chat(shared, &params),
        "sendmessage" => send_message(shared, &params),
        "getupdates" => get_updates(shared, &params).await,
        "setwebhook" => {
            let url = text_param(&params, "url").unwrap_or("").to_owned();
            lock(&shared.telegram).webhook = (!url.is_empty()).then_some(url);
            Reply::json(200, &json!({"ok": true, "result": true, "description": "Webhook was set"}))
        }
        "deletewebhook" => {
            lock(&shared.telegram).webhook = None;
            Reply::json(200, &json!({"ok": true, "result": true, "description": "Webhook was deleted"}))
        }
        "getwebhookinfo" => {
            let state = lock(&shared.telegram);
            ok(json!({"url": state.webhook.clone().unwrap_or_default(), "has_custom_certificate": false,
                "pending_update_count": state.pending_updates()}))
        }
        _ => error(404, "Not Found"),
    }
}

fn get_chat(shared: &Shared, params: &Map<String, Value>) -> Reply {
    let Some(chat_id) = int(params, "chat_id") else {
        return bad_request(if params.contains_key("chat_id") { "chat not found" } else { "chat_id is empty" });
    };
    let state = lock(&shared.telegram);
    if let Some(new) = state.migrated_to(chat_id) {
        return migrated(new);
    }
    if !state.is_known(chat_id) {
        return bad_request("chat not found");
    }
    ok(state.chat_json(chat_id))
}

fn send_message(shared: &Shared, params: &Map<String, Value>) -> Reply {
    let Some(chat_id) = int(params, "chat_id") else {
        return bad_request(if params.contains_key("chat_id") { "chat not found" } else { "chat_id is empty" });
    };
    let text = text_param(params, "text").unwrap_or("");
    let parse_mode = text_param(params, "parse_mode").filter(|m| !m.is_empty());
    let mut state = lock(&shared.telegram);
    if let Some(new) = state.migrated_to(chat_id) {
        return migrated(new);
    }
    if !state.is_known(chat_id) {
        return bad_request("chat not found");
    }
    let visible = match markup::visible_text(text, parse_mode) {
        Ok(v) => v,
        Err(reason) if reason.starts_with("unsupported") => return bad_request(&reason),
        Err(reason) => return bad_request(&format!("can't parse entities: {reason}")),
    };
    if visible.trim().is_empty() {
        return bad_request("message text is empty");
    }
    if visible.chars().count() > MAX_TEXT_CHARS {
        return bad_request("message is too long");
    }
    let reply = object(params, "reply_parameters");
    let reply_to = reply
        .as_ref()
        .and_then(|r| r.get("message_id"))
        .and_then(Value::as_i64)
        .or_else(|| int(params, "reply_to_message_id"));
    let allow_missing = reply
        .as_ref()
        .and_then(|r| r.get("allow_sending_without_reply"))
        .or_else(|| params.get("allow_sending_without_reply"))
        .is_some_and(|v| v == &Value::Bool(true) || v == "true");
    let replied = reply_to.and_then(|id| state.message(chat_id, id).cloned());
    if reply_to.is_some() && replied.is_none() && !allow_missing {
        return bad_request("message to be replied not found");
    }
    let now = Instant::now();
    if let Some(wait) = state.flood_wait(chat_id, shared.config.telegram_chat_interval, now) {
        return too_many_requests(wait);
    }
    let sent = SentMessage {
        chat_id,
        message_id: 0,
        text: text.to_owned(),
        parse_mode: parse_mode.map(str::to_owned),
        reply_to_message_id: replied.as_ref().and(reply_to),
        at: Timestamp::now(),
    };
    ok(state.accept(sent, &visible, replied, now))
}

/// `getUpdates`: confirms (drops) the bot's updates before `offset`, in every chat, and returns
/// the pending ones; with `timeout` (long polling) waits up to that many seconds for one. As at
/// Telegram, only one poller may wait at a time: a newer `getUpdates` ends an older one that is
/// still waiting with 409 Conflict. A webhook rules polling out (409 as well).
async fn get_updates(shared: &Shared, params: &Map<String, Value>) -> Reply {
    let limit = int(params, "limit").unwrap_or(100).clamp(1, 100) as usize;
    let offset = int(params, "offset");
    let timeout = Duration::from_secs(int(params, "timeout").unwrap_or(0).clamp(0, 50) as u64);
    let deadline = Instant::now() + timeout;
    let ticket = {
        let mut state = lock(&shared.telegram);
        if state.webhook.is_some() {
            return error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the \
                 webhook first",
            );
        }
        state.start_poll()
    };
    loop {
        {
            let mut state = lock(&shared.telegram);
            if !state.is_latest_poll(ticket) {
                return error(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                );
            }
            let updates = state.take_updates(offset, limit);
            if !updates.is_empty() || Instant::now() >= deadline {
                return ok(Value::Array(updates));
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

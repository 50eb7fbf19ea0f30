//! Fake Radist.Online API v2: companies, chat sources, chats with contacts (cursor) and messages (`until`).

use serde_json::{Value, json};

use crate::data::{Chat, Message, MessageKind, SandboxData};
use crate::http::{Incoming, Reply, iso_millis, parse_instant};
use crate::server::Shared;

const MAX_LIMIT: usize = 100;

/// A FastAPI-style `{"detail": ...}` error.
pub(crate) fn detail(status: u16, message: &str) -> Reply {
    Reply::json(status, &json!({"detail": message}))
}

/// A FastAPI-style 422 for one query parameter.
fn unprocessable(param: &str, message: &str) -> Reply {
    Reply::json(422, &json!({"detail": [{"loc": ["query", param], "msg": message, "type": "value_error"}]}))
}

/// Parses an optional integer query parameter within `1..=max`.
fn limit_param(req: &Incoming, default: usize, max: usize) -> Result<usize, Reply> {
    match req.query_get("limit") {
        None => Ok(default),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(unprocessable("limit", &format!("ensure this value is between 1 and {max}"))),
        },
    }
}

/// Handles a request to the Radist server.
pub(crate) fn handle(shared: &Shared, req: &Incoming) -> Reply {
    let creds = &shared.credentials;
    let key = req.header("x-api-key").unwrap_or("");
    let scoped = key == creds.radist_api_key;
    if !scoped && key != creds.radist_api_key_no_scope {
        return detail(401, "Invalid API key");
    }
    let Some(rest) = req.path.strip_prefix("/v2/") else {
        return detail(404, "Not Found");
    };
    if req.method != "GET" {
        return detail(405, "Method Not Allowed");
    }
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let result = match parts.as_slice() {
        ["companies"] => companies(shared, req),
        ["companies", cid, tail @ ..] => {
            if cid.parse::<i64>().is_err() {
                return unprocessable("company_id", "value is not a valid integer");
            }
            if cid.parse::<i64>() != Ok(shared.data.radist_company.id) {
                return detail(404, "Company not found");
            }
            if tail.first() == Some(&"messaging") && !scoped {
                return detail(403, "API key does not have the required scope: messaging");
            }
            match tail {
                [] => Ok(company_json(&shared.data)),
                ["connections"] => Ok(connections(&shared.data)),
                ["messaging", "chats", "sources"] => Ok(sources(&shared.data)),
                ["messaging", "chats", "with_contacts"] => with_contacts(&shared.data, req),
                ["messaging", "messages"] => messages(&shared.data, req),
                _ => Err(detail(404, "Not Found")),
            }
        }
        _ => Err(detail(404, "Not Found")),
    };
    match result {
        Ok(value) => Reply::json(200, &value),
        Err(reply) => reply,
    }
}

fn company_json(data: &SandboxData) -> Value {
    json!({"id": data.radist_company.id, "name": data.radist_company.name})
}

fn companies(shared: &Shared, req: &Incoming) -> Result<Value, Reply> {
    let limit = limit_param(req, 100, MAX_LIMIT)?;
    let offset = match req.query_get("offset").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return Err(unprocessable("offset", "value is not a valid integer")),
    };
    let list: Vec<Value> = [company_json(&shared.data)].into_iter().skip(offset).take(limit).collect();
    Ok(json!({"companies": list}))
}

fn connections(data: &SandboxData) -> Value {
    let list: Vec<Value> = data
        .sources
        .iter()
        .map(|s| json!({"id": s.connection_id, "type": s.kind, "name": s.name, "is_active": true, "params": {}}))
        .collect();
    json!({"connections": list})
}

fn sources(data: &SandboxData) -> Value {
    data.sources.iter().map(|s| json!({"connection_id": s.connection_id, "type": s.kind, "name": s.name})).collect()
}

fn with_contacts(data: &SandboxData, req: &Incoming) -> Result<Value, Reply> {
    let limit = limit_param(req, 20, MAX_LIMIT)?;
    let offset = match req.query_get("cursor").filter(|c| !c.is_empty()) {
        None => 0,
        Some(cursor) => decode_cursor(cursor).ok_or_else(|| detail(400, "Invalid cursor"))?,
    };
    let ordered = data.radist_contacts_by_activity();
    let page: Vec<Value> = ordered
        .iter()
        .skip(offset)
        .take(limit)
        .map(|contact| {
            let chats: Vec<&Chat> = contact.chat_ids.iter().filter_map(|id| data.chat(*id)).collect();
            json!({
                "contact_id": contact.id, "contact_name": contact.name, "avatar_url": null, "is_group": false,
                "unanswered_count": chats.iter().map(|c| unanswered(c)).sum::<usize>(),
                "last_chat_updated_at": iso_millis(contact.last_chat_updated_at),
                "chats": chats.iter().map(|c| chat_json(c)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let next = if offset + limit < ordered.len() { encode_cursor(offset + limit) } else { String::new() };
    Ok(json!({"data": page, "response_metadata": {"next_cursor": next}}))
}

fn unanswered(chat: &Chat) -> usize {
    chat.messages.iter().rev().take_while(|m| m.direction == crate::data::Direction::Inbound).count()
}

fn chat_json(chat: &Chat) -> Value {
    json!({"chat_id": chat.id, "connection_id": chat.connection_id, "phone": chat.phone,
        "source_chat_id": chat.source_chat_id, "unanswered_count": unanswered(chat),
        "created_at": iso_millis(chat.created_at), "updated_at": iso_millis(chat.last_activity()),
        "last_message": chat.messages.last().map(message_json)})
}

/// A message as Radist serves it.
pub(crate) fn message_json(m: &Message) -> Value {
    let mut value = json!({"message_id": m.id, "chat_id": m.chat_id, "created_at": iso_millis(m.created_at),
        "direction": m.direction.as_str(), "message_type": m.kind.as_str()});
    match (m.kind, &m.text) {
        (MessageKind::WabaInteractive, text) => {
            value["text"] = Value::Null;
            value["waba_interactive"] = json!({"type": "button", "body": {"text": text}});
        }
        (_, Some(text)) => value["text"] = json!({"text": text}),
        (_, None) => value["text"] = Value::Null,
    }
    if let Some(att) = &m.attachment {
        let key = if m.kind == MessageKind::Image { "image" } else { "file" };
        value[key] = json!({"name": att.name, "caption": att.caption, "url": format!("https://files.radist.example/{}/{}", m.id, att.name)});
    }
    value
}

fn messages(data: &SandboxData, req: &Incoming) -> Result<Value, Reply> {
    let chat_id = match req.query_get("chat_id").map(str::parse::<i64>) {
        None => return Err(unprocessable("chat_id", "field required")),
        Some(Err(_)) => return Err(unprocessable("chat_id", "value is not a valid integer")),
        Some(Ok(id)) => id,
    };
    let limit = limit_param(req, MAX_LIMIT, MAX_LIMIT)?;
    let until = match req.query_get("until").filter(|u| !u.is_empty()) {
        None => None,
        Some(raw) => Some(parse_instant(raw).ok_or_else(|| unprocessable("until", "invalid datetime format"))?),
    };
    let chat = data.chat(chat_id).ok_or_else(|| detail(404, "Chat not found"))?;
    let list: Vec<Value> = chat
        .messages
        .iter()
        .rev()
        .filter(|m| until.is_none_or(|u| m.created_at <= u))
        .take(limit)
        .map(message_json)
        .collect();
    Ok(Value::Array(list))
}

fn encode_cursor(offset: usize) -> String {
    format!("c{:x}", offset as u64 ^ 0x5a5a)
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let raw = u64::from_str_radix(cursor.strip_prefix('c')?, 16).ok()?;
    usize::try_from(raw ^ 0x5a5a).ok()
}

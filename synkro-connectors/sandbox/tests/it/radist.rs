//! Radist: keys and scopes, sources, cursor paging of chats, `until` paging of messages.

use std::collections::HashSet;

use serde_json::Value;
use synkro_sandbox::{Sandbox, Service};

use crate::common::{client, json, unlimited};

async fn get(sb: &Sandbox, path: &str, key: &str, query: &[(&str, String)]) -> (u16, Value) {
    let resp = client().get(format!("{}{path}", sb.url(Service::Radist))).header("X-Api-Key", key).query(query);
    json(resp.send().await.unwrap()).await
}

#[tokio::test]
async fn keys_scopes_companies_and_sources() {
    let sb = unlimited().await;
    let c = sb.credentials().clone();
    assert!(sb.url(Service::Radist).ends_with("/v2"));
    let (status, body) =
        get(&sb, "/companies/", &c.radist_api_key, &[("limit", "1".into()), ("offset", "0".into())]).await;
    assert_eq!(status, 200);
    assert_eq!(body["companies"][0]["id"], 205_113);
    assert_eq!(get(&sb, "/companies/", "bad", &[]).await, (401, serde_json::json!({"detail": "Invalid API key"})));

    let sources = format!("/companies/{}/messaging/chats/sources/", c.radist_company_id);
    let (status, body) = get(&sb, &sources, &c.radist_api_key, &[]).await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = body.as_array().unwrap().iter().map(|s| s["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["whatsapp", "waba", "telegram"]);
    assert_eq!(get(&sb, "/companies/1/messaging/chats/sources/", &c.radist_api_key, &[]).await.0, 404);

    assert_eq!(get(&sb, "/companies/", &c.radist_api_key_no_scope, &[]).await.0, 200);
    assert_eq!(get(&sb, &sources, &c.radist_api_key_no_scope, &[]).await.0, 403);
    let messages = format!("/companies/{}/messaging/messages/", c.radist_company_id);
    assert_eq!(get(&sb, &messages, &c.radist_api_key_no_scope, &[("chat_id", "400001".into())]).await.0, 403);
}

#[tokio::test]
async fn chat_cursor_covers_every_contact_once_newest_first() {
    let sb = unlimited().await;
    let c = sb.credentials().clone();
    let path = format!("/companies/{}/messaging/chats/with_contacts/", c.radist_company_id);
    let mut cursor = String::new();
    let mut seen = Vec::new();
    let mut times = Vec::new();
    let mut chats = 0;
    loop {
        let mut query = vec![("limit", "7".to_owned())];
        if !cursor.is_empty() {
            query.push(("cursor", cursor.clone()));
        }
        let (status, body) = get(&sb, &path, &c.radist_api_key, &query).await;
        assert_eq!(status, 200);
        for contact in body["data"].as_array().unwrap() {
            seen.push(contact["contact_id"].as_i64().unwrap());
            times.push(contact["last_chat_updated_at"].as_str().unwrap().to_owned());
            for chat in contact["chats"].as_array().unwrap() {
                chats += 1;
                assert!(chat["connection_id"].is_i64() && chat.get("source_chat_id").is_some());
            }
        }
        cursor = body["response_metadata"]["next_cursor"].as_str().unwrap().to_owned();
        if cursor.is_empty() {
            break;
        }
    }
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no contact twice");
    assert_eq!(seen.len(), sb.data().radist_contacts.len());
    assert_eq!(chats, sb.data().chats.len());
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest activity first");
    assert_eq!(get(&sb, &path, &c.radist_api_key, &[("limit", "101".into())]).await.0, 422);
}

#[tokio::test]
async fn until_paging_returns_every_message_of_a_chat() {
    let sb = unlimited().await;
    let c = sb.credentials().clone();
    let chat = &sb.data().chats[0];
    let path = format!("/companies/{}/messaging/messages/", c.radist_company_id);
    let mut until: Option<String> = None;
    let mut ids: Vec<String> = Vec::new();
    let mut overlaps = 0;
    loop {
        let mut query = vec![("chat_id", chat.id.to_string()), ("limit", "10".to_owned())];
        if let Some(u) = &until {
            query.push(("until", u.clone()));
        }
        let (status, body) = get(&sb, &path, &c.radist_api_key, &query).await;
        assert_eq!(status, 200);
        let page = body.as_array().unwrap();
        for m in page {
            let id = m["message_id"].as_str().unwrap().to_owned();
            if ids.contains(&id) {
                overlaps += 1;
            } else {
                ids.push(id);
            }
        }
        if page.len() < 10 {
            break;
        }
        let oldest = page.last().unwrap()["created_at"].as_str().unwrap().to_owned();
        assert_ne!(until.as_ref(), Some(&oldest), "paging makes progress");
        until = Some(oldest);
    }
    assert!(overlaps > 0, "until is inclusive: the boundary message comes again");
    let mut truth: Vec<String> = chat.messages.iter().map(|m| m.id.clone()).collect();
    truth.reverse();
    let mut got = ids.clone();
    got.sort_by_key(|id| truth.iter().position(|t| t == id));
    assert_eq!(got, truth, "every message exactly once after de-duplication");

    let (_, first) =
        get(&sb, &path, &c.radist_api_key, &[("chat_id", chat.id.to_string()), ("limit", "1".into())]).await;
    let newest = chat.messages.last().unwrap();
    assert_eq!(first[0]["message_id"], newest.id.as_str());
    assert!(first[0]["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(get(&sb, &path, &c.radist_api_key, &[("chat_id", "1".into())]).await.0, 404);
}

//! Exact request shapes against a scripted server (wiremock): paths, query parameters, the
//! `X-Api-Key` header, cursor and `until` paging, de-duplication, early stop and page caps.
#![allow(clippy::unwrap_used)]

mod common;

use std::{collections::HashSet, sync::Arc};

use common::{RecordingLimiter, batches, config, ctx, ctx_with, dialogs, source, ts, window};
use serde_json::{Value, json};
use synkro_core::{connector::Direction, time::Timestamp};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path, query_param, query_param_is_missing},
};

const KEY: &str = "rk_test_wire_0123456789abcdef";
const COMPANY: &str = "/v2/companies/77";

fn iso(at: Timestamp) -> String {
    format!("{:.3}", at.to_jiff())
}

fn shift(at: Timestamp, millis: i64) -> Timestamp {
    Timestamp::from_unix_micros(at.unix_micros() + millis * 1_000).unwrap()
}

fn message(chat: i64, i: usize, at: Timestamp) -> Value {
    let direction = if i.is_multiple_of(2) { "inbound" } else { "outbound" };
    json!({"message_id": format!("m-{chat}-{i}"), "chat_id": chat, "created_at": iso(at), "direction": direction,
        "message_type": "text", "text": {"text": format!("hello {i}")}})
}

fn chat(id: i64, connection: Value, phone: &str, last: &str) -> Value {
    json!({"chat_id": id, "connection_id": connection, "phone": phone, "source_chat_id": format!("{phone}@c.us"),
        "last_message": {"created_at": last}})
}

fn contact(id: i64, name: &str, last: &str, chats: Vec<Value>) -> Value {
    json!({"contact_id": id, "contact_name": name, "avatar_url": null, "is_group": false, "unanswered_count": 0,
        "last_chat_updated_at": last, "chats": chats})
}

async fn mount_get(server: &MockServer, at: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(at))
        .and(header("X-Api-Key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

/// Company 77 with a WhatsApp (10), a WABA (string id "11") and a Telegram (12) connection.
async fn mount_company(server: &MockServer) {
    mount_get(server, "/v2/companies/", json!({"companies": [{"id": 77, "name": "Shop"}]})).await;
    let sources = json!([{"connection_id": 10, "type": "WhatsApp"}, {"connection_id": "11", "type": "waba"},
        {"connection_id": 12, "type": "telegram"}]);
    mount_get(server, &format!("{COMPANY}/messaging/chats/sources/"), sources).await;
}

fn query_of(request: &wiremock::Request) -> Vec<(String, String)> {
    request.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[tokio::test]
async fn paging_follows_cursors_and_until_with_the_documented_request_shapes() {
    let server = MockServer::start().await;
    mount_company(&server).await;
    let day = window("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
    let in_day = "2026-03-01T20:00:00.000Z";
    let page1 = json!({"data": [
        contact(1, "Anna", in_day, vec![
            chat(100, json!(10), "+7 900 111-22-33", in_day),
            chat(101, json!(12), "+7 900 111-22-33", in_day),
        ]),
        contact(2, "Boris", in_day, vec![chat(102, json!("11"), "8 900 111 22 44", in_day)]),
        contact(3, "Vera", in_day, vec![chat(103, json!(10), "+79001112255", "2026-02-28T23:59:59.999Z")]),
    ], "response_metadata": {"next_cursor": "p2"}});
    let old = "2026-02-27T10:00:00.000Z";
    let page2 = json!({"data": [contact(4, "Gleb", old, vec![chat(104, json!(10), "+79001112266", old)])],
        "response_metadata": {"next_cursor": "p3"}});
    let contacts = format!("{COMPANY}/messaging/chats/with_contacts/");
    Mock::given(method("GET"))
        .and(path(&contacts))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page1))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&contacts))
        .and(query_param("cursor", "p2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page2))
        .expect(1)
        .mount(&server)
        .await;

    // Chat 100: 230 messages 5 minutes apart, served newest first; `until` is the oldest time
    // seen and inclusive, so each older page repeats the previous page's oldest message.
    let first = ts("2026-03-01T01:00:00.250Z");
    let at = |i: usize| shift(first, i as i64 * 300_000);
    let newest_first =
        |from: usize, to: usize| -> Value { (to..=from).rev().map(|i| message(100, i, at(i))).collect() };
    let messages = format!("{COMPANY}/messaging/messages/");
    let pages = [(None, newest_first(229, 130)), (Some(130), newest_first(130, 31)), (Some(31), newest_first(31, 0))];
    for (until_of, body) in pages {
        let mock = Mock::given(method("GET")).and(path(&messages)).and(query_param("chat_id", "100"));
        let mock = match until_of {
            None => mock.and(query_param_is_missing("until")),
            Some(i) => mock.and(query_param("until", iso(at(i)))),
        };
        mock.respond_with(ResponseTemplate::new(200).set_body_json(body)).expect(1).mount(&server).await;
    }
    // Chat 102: one message before the window, two inside, one exactly at its end.
    let chat102 = json!([
        message(102, 4, ts("2026-03-02T00:00:00.000Z")),
        message(102, 3, ts("2026-03-01T23:59:59.999Z")),
        message(102, 2, ts("2026-03-01T00:00:00.000Z")),
        message(102, 1, ts("2026-02-28T23:59:59.999Z")),
    ]);
    Mock::given(method("GET"))
        .and(path(&messages))
        .and(query_param("chat_id", "102"))
        .respond_with(ResponseTemplate::new(200).set_body_json(chat102))
        .expect(1)
        .mount(&server)
        .await;

    let limiter = Arc::new(RecordingLimiter::default());
    let ctx = ctx_with(&format!("{}/v2", server.uri()), limiter.clone());
    let source = source(&config(KEY, json!({})), &ctx);
    let got = batches(source.as_ref(), day, None).await.unwrap();
    assert_eq!(got.len(), 2, "one batch per contacts page");
    assert!(got.iter().all(|b| b.truncated.is_none()));
    let dialogs: Vec<_> = got.into_iter().flat_map(|b| b.items).collect();
    assert_eq!(dialogs.iter().map(|d| d.chat_id.as_str()).collect::<Vec<_>>(), ["100", "102"]);

    let d100 = &dialogs[0];
    let ids: Vec<String> = d100.messages.iter().map(|m| m.id.clone()).collect();
    let expected: Vec<String> = (0..230).map(|i| format!("m-100-{i}")).collect();
    assert_eq!(ids, expected, "every message once, oldest first");
    assert_eq!((d100.contact_id.as_deref(), d100.contact_name.as_deref()), (Some("1"), Some("Anna")));
    assert_eq!((d100.phone.as_deref(), d100.channel.as_str()), (Some("79001112233"), "whatsapp"));
    assert_eq!((d100.messages[0].direction, d100.messages[1].direction), (Direction::Inbound, Direction::Outbound));
    assert_eq!(d100.messages[7].text, "hello 7");
    let d102 = &dialogs[1];
    assert_eq!(d102.messages.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["m-102-2", "m-102-3"]);
    assert_eq!((d102.phone.as_deref(), d102.channel.as_str()), (Some("79001112244"), "waba"));

    let requests = server.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| r.method.as_str() == "GET"));
    assert!(requests.iter().all(|r| r.headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(KEY)));
    let shape: Vec<(String, Vec<(String, String)>)> =
        requests.iter().map(|r| (r.url.path().to_owned(), query_of(r))).collect();
    assert_eq!(shape[0], ("/v2/companies/".to_owned(), pairs(&[("limit", "100"), ("offset", "0")])));
    assert_eq!(shape[1], (format!("{COMPANY}/messaging/chats/sources/"), vec![]));
    assert_eq!(shape[2], (contacts.clone(), pairs(&[("limit", "100")])));
    assert_eq!(shape.last().unwrap(), &(contacts.clone(), pairs(&[("limit", "100"), ("cursor", "p2")])));
    let mut message_queries: Vec<Vec<(String, String)>> =
        shape.iter().filter(|(p, _)| *p == messages).map(|(_, q)| q.clone()).collect();
    message_queries.sort();
    let until130 = iso(at(130));
    let until31 = iso(at(31));
    assert_eq!(until130, "2026-03-01T11:50:00.250Z", "ISO-8601 with milliseconds and Z: the oldest message's time");
    let mut expected = vec![
        pairs(&[("chat_id", "100"), ("limit", "100")]),
        pairs(&[("chat_id", "100"), ("limit", "100"), ("until", &until130)]),
        pairs(&[("chat_id", "100"), ("limit", "100"), ("until", &until31)]),
        pairs(&[("chat_id", "102"), ("limit", "100")]),
    ];
    expected.sort();
    assert_eq!(message_queries, expected, "no request for the telegram chat, the stale chat or the old page");
    assert_eq!(shape.len(), 3 + 4 + 1);

    let keys: HashSet<(String, u64)> =
        limiter.acquired.lock().unwrap().iter().map(|(k, r)| (k.clone(), (r * 1000.0) as u64)).collect();
    let expected_key = keys.iter().next().unwrap().0.clone();
    assert_eq!(keys.len(), 1, "one key for every request: {keys:?}");
    assert!(expected_key.starts_with("radist:key-") && expected_key.len() == "radist:key-".len() + 8);
    assert!(!expected_key.contains(&KEY[8..]), "the key itself never names the budget");
    assert_eq!(keys.iter().next().unwrap().1, 5_000, "5 requests per second");
}

#[tokio::test]
async fn a_configured_company_skips_discovery_and_names_the_rate_key() {
    let server = MockServer::start().await;
    mount_company(&server).await;
    let contacts = format!("{COMPANY}/messaging/chats/with_contacts/");
    mount_get(&server, &contacts, json!({"data": [], "response_metadata": {"next_cursor": null}})).await;
    let limiter = Arc::new(RecordingLimiter::default());
    let ctx = ctx_with(&format!("{}/v2", server.uri()), limiter.clone());
    let source = source(&config(KEY, json!({"company_id": 77})), &ctx);
    let day = window("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
    assert!(dialogs(source.as_ref(), day, None).await.is_empty());
    let paths: Vec<String> =
        server.received_requests().await.unwrap().iter().map(|r| r.url.path().to_owned()).collect();
    assert_eq!(paths, [format!("{COMPANY}/messaging/chats/sources/"), contacts]);
    assert!(limiter.acquired.lock().unwrap().iter().all(|(k, _)| k == "radist:77"));
}

#[tokio::test]
async fn the_contact_page_cap_stops_paging_and_says_so() {
    let server = MockServer::start().await;
    mount_company(&server).await;
    let in_day = "2026-03-01T20:00:00.000Z";
    let page = json!({"data": [contact(1, "Anna", in_day, vec![chat(100, json!(10), "+79001112233", in_day)])],
        "response_metadata": {"next_cursor": "more"}});
    mount_get(&server, &format!("{COMPANY}/messaging/chats/with_contacts/"), page).await;
    mount_get(&server, &format!("{COMPANY}/messaging/messages/"), json!([message(100, 1, ts(in_day))])).await;
    let ctx = ctx(&format!("{}/v2", server.uri()));
    let source = source(&config(KEY, json!({"max_chat_pages": 2})), &ctx);
    let day = window("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
    let got = batches(source.as_ref(), day, None).await.unwrap();
    assert_eq!(got.len(), 2);
    assert!(got[0].truncated.is_none());
    let cut = got[1].truncated.as_ref().unwrap();
    assert_eq!((cut.cap.as_str(), cut.limit), ("max_chat_pages", 2));
    assert!(cut.message.contains("max_chat_pages") && cut.message.contains("2 pages"), "{}", cut.message);
    let cursors =
        server.received_requests().await.unwrap().iter().filter(|r| r.url.path().ends_with("with_contacts/")).count();
    assert_eq!(cursors, 2);
}

#[tokio::test]
async fn an_inclusive_until_that_repeats_messages_never_duplicates_them() {
    let server = MockServer::start().await;
    mount_company(&server).await;
    let in_day = "2026-03-01T20:00:00.000Z";
    let page = json!({"data": [contact(1, "Anna", in_day, vec![chat(100, json!(10), "+79001112233", in_day)])],
        "response_metadata": {"next_cursor": ""}});
    mount_get(&server, &format!("{COMPANY}/messaging/chats/with_contacts/"), page).await;
    // A server that ignores part of `until`: the second page repeats 40 messages of the first.
    let first = ts("2026-03-01T01:00:00Z");
    let at = |i: usize| shift(first, i as i64 * 60_000);
    let messages = format!("{COMPANY}/messaging/messages/");
    let newest: Value = (100..200).rev().map(|i| message(100, i, at(i))).collect();
    let older: Value = (40..140).rev().map(|i| message(100, i, at(i))).collect();
    let oldest: Value = (0..40).rev().map(|i| message(100, i, at(i))).collect();
    Mock::given(method("GET"))
        .and(path(&messages))
        .and(query_param_is_missing("until"))
        .respond_with(ResponseTemplate::new(200).set_body_json(newest))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&messages))
        .and(query_param("until", iso(at(100))))
        .respond_with(ResponseTemplate::new(200).set_body_json(older))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&messages))
        .and(query_param("until", iso(at(40))))
        .respond_with(ResponseTemplate::new(200).set_body_json(oldest))
        .mount(&server)
        .await;
    let ctx = ctx(&format!("{}/v2", server.uri()));
    let source = source(&config(KEY, json!({})), &ctx);
    let day = window("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
    let got = dialogs(source.as_ref(), day, None).await;
    let ids: Vec<&str> = got[0].messages.iter().map(|m| m.id.as_str()).collect();
    let expected: Vec<String> = (0..200).map(|i| format!("m-100-{i}")).collect();
    assert_eq!(ids, expected);
}

/// A chat served the way the sandbox and (as far as known) Radist do: newest first, `until`
/// inclusive, at most `limit` messages.
fn inclusive_messages(all: Vec<(String, Timestamp)>) -> impl Fn(&wiremock::Request) -> ResponseTemplate {
    move |request: &wiremock::Request| {
        let query = query_of(request);
        let until = query.iter().find(|(k, _)| k == "until").map(|(_, v)| ts(v));
        let limit: usize = query.iter().find(|(k, _)| k == "limit").unwrap().1.parse().unwrap();
        let page: Value = all
            .iter()
            .rev()
            .filter(|(_, at)| until.is_none_or(|u| *at <= u))
            .take(limit)
            .map(|(id, at)| json!({"message_id": id, "created_at": iso(*at), "direction": "inbound", "text": {"text": id}}))
            .collect();
        ResponseTemplate::new(200).set_body_json(page)
    }
}

#[tokio::test]
async fn messages_sharing_a_time_across_a_page_boundary_are_all_read() {
    let server = MockServer::start().await;
    mount_company(&server).await;
    let in_day = "2026-03-01T20:00:00.000Z";
    let page = json!({"data": [contact(1, "Anna", in_day, vec![chat(100, json!(10), "+79001112233", in_day)])],
        "response_metadata": {"next_cursor": ""}});
    mount_get(&server, &format!("{COMPANY}/messaging/chats/with_contacts/"), page).await;
    // 150 messages a minute apart, except that 48, 49 and 50 share one millisecond: the newest
    // page ends with 50, so 48 and 49 sit exactly on the boundary.
    let first = ts("2026-03-01T01:00:00.000Z");
    let all: Vec<(String, Timestamp)> = (0..150)
        .map(|i| {
            let minute = if (48..=50).contains(&i) { 50 } else { i as i64 };
            (format!("m-100-{i}"), shift(first, minute * 60_000))
        })
        .collect();
    Mock::given(method("GET"))
        .and(path(format!("{COMPANY}/messaging/messages/")))
        .respond_with(inclusive_messages(all))
        .mount(&server)
        .await;
    let ctx = ctx(&format!("{}/v2", server.uri()));
    let source = source(&config(KEY, json!({})), &ctx);
    let day = window("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
    let got = dialogs(source.as_ref(), day, None).await;
    let ids: Vec<&str> = got[0].messages.iter().map(|m| m.id.as_str()).collect();
    let expected: Vec<String> = (0..150).map(|i| format!("m-100-{i}")).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn a_server_that_ignores_until_ends_the_chat_instead_of_looping() {
    let server = MockServer::start().await;
    mount_company(&server).await;
    let in_day = "2026-03-01T20:00:00.000Z";
    let page = json!({"data": [contact(1, "Anna", in_day, vec![chat(100, json!(10), "+79001112233", in_day)])],
        "response_metadata": {"next_cursor": ""}});
    mount_get(&server, &format!("{COMPANY}/messaging/chats/with_contacts/"), page).await;
    let first = ts("2026-03-01T01:00:00Z");
    let newest: Value = (0..100).rev().map(|i| message(100, i, shift(first, i as i64 * 60_000))).collect();
    mount_get(&server, &format!("{COMPANY}/messaging/messages/"), newest).await;
    let ctx = ctx(&format!("{}/v2", server.uri()));
    let source = source(&config(KEY, json!({"max_message_pages": 50})), &ctx);
    let day = window("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
    let got = batches(source.as_ref(), day, None).await.unwrap();
    assert!(got[0].truncated.is_none());
    assert_eq!(got[0].items[0].messages.len(), 100);
    let untils: Vec<Option<String>> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/messages/"))
        .map(|r| query_of(r).into_iter().find(|(k, _)| k == "until").map(|(_, v)| v))
        .collect();
    let oldest = iso(first);
    let before = iso(shift(first, -1));
    assert_eq!(untils, [None, Some(oldest), Some(before)], "the oldest time, then 1 ms before it, then stop");
}

#[tokio::test]
async fn the_chat_cap_with_more_pages_and_a_message_cap_are_both_reported() {
    let server = MockServer::start().await;
    mount_company(&server).await;
    let in_day = "2026-03-01T20:00:00.000Z";
    let page = json!({"data": [contact(1, "Anna", in_day, vec![
        chat(100, json!(10), "+79001112233", in_day),
        chat(101, json!(10), "+79001112244", in_day),
    ])], "response_metadata": {"next_cursor": "more"}});
    mount_get(&server, &format!("{COMPANY}/messaging/chats/with_contacts/"), page).await;
    let first = ts("2026-03-01T01:00:00Z");
    let full: Value = (0..100).rev().map(|i| message(100, i, shift(first, i as i64 * 60_000))).collect();
    mount_get(&server, &format!("{COMPANY}/messaging/messages/"), full).await;
    let ctx = ctx(&format!("{}/v2", server.uri()));
    let source = source(&config(KEY, json!({"max_chats": 1, "max_message_pages": 1})), &ctx);
    let day = window("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
    let got = batches(source.as_ref(), day, None).await.unwrap();
    assert_eq!(got.len(), 2, "the second cap comes in a batch of its own");
    assert_eq!(got[0].items.len(), 1);
    let messages = got[0].truncated.as_ref().unwrap();
    assert_eq!((messages.cap.as_str(), messages.limit), ("max_message_pages", 1));
    assert!(messages.message.contains("100 (nothing before 2026-03-01T01:00:00Z)"), "{}", messages.message);
    assert!(got[1].items.is_empty());
    let chats = got[1].truncated.as_ref().unwrap();
    assert_eq!((chats.cap.as_str(), chats.limit), ("max_chats", 1));
    assert!(chats.message.contains("at least 1 more chat(s) were left out, and further contact pages were not read"));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.iter().filter(|r| r.url.path().ends_with("with_contacts/")).count(), 1);
    assert_eq!(requests.iter().filter(|r| r.url.path().ends_with("/messages/")).count(), 1);
}

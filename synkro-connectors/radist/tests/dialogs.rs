//! Dialogs against the sandbox: exactly the truth for the window, across contact and message
//! pages; the phone filter; empty windows; caps; faults while reading.
#![allow(clippy::unwrap_used)]

mod common;

use std::{
    collections::{BTreeMap, HashSet},
    sync::Arc,
    time::Instant,
};

use common::{RecordingLimiter, batches, config, ctx, ctx_with, dialogs, source, window};
use serde_json::json;
use synkro_core::{
    connector::{ChatSource, Dialog, Direction},
    domain::Window,
    time::Timestamp,
};
use synkro_sandbox::{Chat, Fault, Sandbox, SandboxConfig, SandboxData, Service};

/// Chat id → message ids in the window, for every WhatsApp/WABA chat (with a phone in
/// `phones`, when given) that has a message in it.
fn truth(data: &SandboxData, window: Window, phones: Option<&HashSet<String>>) -> BTreeMap<String, Vec<String>> {
    data.chats
        .iter()
        .filter(|c| c.is_messaging())
        .filter(|c| phones.is_none_or(|p| c.phone.as_ref().is_some_and(|phone| p.contains(phone))))
        .filter_map(|c| {
            let ids: Vec<String> =
                data.messages_in(c.id, window.start(), window.end()).iter().map(|m| m.id.clone()).collect();
            (!ids.is_empty()).then(|| (c.id.to_string(), ids))
        })
        .collect()
}

fn by_chat(dialogs: &[Dialog]) -> BTreeMap<String, Vec<String>> {
    let map: BTreeMap<String, Vec<String>> =
        dialogs.iter().map(|d| (d.chat_id.clone(), d.messages.iter().map(|m| m.id.clone()).collect())).collect();
    assert_eq!(map.len(), dialogs.len(), "no chat twice");
    map
}

fn sandbox_window(sandbox: &Sandbox) -> Window {
    Window::new(sandbox.config().window_start, sandbox.config().window_end()).unwrap()
}

/// Chat ids the messages endpoint was asked for, in request order (repeats kept).
fn message_requests(sandbox: &Sandbox) -> Vec<i64> {
    sandbox
        .requests(Service::Radist)
        .iter()
        .filter(|r| r.path.ends_with("/messaging/messages/"))
        .map(|r| r.query_value("chat_id").unwrap().parse().unwrap())
        .collect()
}

fn fast_source(sandbox: &Sandbox, public: serde_json::Value) -> Arc<dyn ChatSource> {
    let ctx = ctx_with(&sandbox.url(Service::Radist), Arc::new(RecordingLimiter::default()));
    source(&config(&sandbox.credentials().radist_api_key, public), &ctx)
}

/// The sandbox's day and a 36-hour window reaching back over the 12 hours of messages before
/// it, so that the 150-message chat needs a second page.
fn windows(sandbox: &Sandbox) -> [Window; 2] {
    let day = sandbox_window(sandbox);
    let wide_start = Timestamp::from_unix_seconds(day.start().unix_seconds() - 12 * 3600).unwrap();
    [day, Window::new(wide_start, day.end()).unwrap()]
}

#[tokio::test]
async fn dialogs_equal_the_truth_across_contact_and_message_pages() {
    let sandbox = Sandbox::start(SandboxConfig { unrelated_chats: 120, ..Default::default() }).await;
    let data = sandbox.data();
    for (n, window) in windows(&sandbox).into_iter().enumerate() {
        sandbox.reset_counters();
        let got = batches(fast_source(&sandbox, json!({})).as_ref(), window, None).await.unwrap();
        assert_eq!(got.len(), 2, "{} contacts make two pages of 100", data.radist_contacts.len());
        assert!(got.iter().all(|b| b.truncated.is_none()));
        let dialogs: Vec<Dialog> = got.into_iter().flat_map(|b| b.items).collect();
        let expected = truth(data, window, None);
        assert_eq!(by_chat(&dialogs), expected, "window {n}");
        assert_dialogs_carry_every_field(data, &dialogs);

        // The data exercises what the assertion claims.
        let in_window = |c: &Chat| !data.messages_in(c.id, window.start(), window.end()).is_empty();
        assert!(data.chats.iter().any(|c| !c.is_messaging() && in_window(c)), "a telegram chat is left out");
        if n == 0 {
            let quiet = data.chats.iter().filter(|c| c.is_messaging() && !c.messages.is_empty() && !in_window(c));
            assert!(quiet.count() > 0, "a chat with messages, none of them in the day, is left out");
        }
        let asked = message_requests(&sandbox);
        for id in &asked {
            let chat = data.chat(*id).unwrap();
            assert!(chat.is_messaging(), "telegram chat {id} was read");
            let last = chat.messages.last().map(|m| m.created_at);
            assert!(last.is_some_and(|at| at >= window.start()), "stale or empty chat {id} was read");
        }
        let long = &data.chats[0];
        let long_pages = asked.iter().filter(|id| **id == long.id).count();
        assert_eq!(long_pages, if n == 0 { 1 } else { 2 }, "the long chat is paged only when the window needs it");

        // Dialogs follow the list order: most recently active contact first.
        let order: Vec<String> = data
            .radist_contacts_by_activity()
            .iter()
            .flat_map(|c| c.chat_ids.iter().map(|id| id.to_string()))
            .filter(|id| expected.contains_key(id))
            .collect();
        assert_eq!(dialogs.iter().map(|d| d.chat_id.clone()).collect::<Vec<_>>(), order);
    }
}

fn assert_dialogs_carry_every_field(data: &SandboxData, dialogs: &[Dialog]) {
    for dialog in dialogs {
        let chat = data.chat(dialog.chat_id.parse().unwrap()).unwrap();
        let contact = data.radist_contacts.iter().find(|c| c.id == chat.contact_id).unwrap();
        assert_eq!(dialog.contact_id, Some(contact.id.to_string()));
        assert_eq!(dialog.contact_name.as_deref(), Some(contact.name.as_str()));
        assert_eq!((dialog.phone.as_ref(), dialog.channel.as_str()), (chat.phone.as_ref(), chat.source.as_str()));
        for message in &dialog.messages {
            let want = chat.messages.iter().find(|m| m.id == message.id).unwrap();
            let text = want.text.clone().filter(|t| !t.is_empty());
            let caption = want.attachment.as_ref().and_then(|a| a.caption.clone());
            assert_eq!(message.text, text.or(caption).unwrap_or_default(), "{}", message.id);
            let files: Vec<String> = want.attachment.iter().map(|a| a.name.clone()).collect();
            assert_eq!(message.files, files, "{}", message.id);
            let inbound = want.direction == synkro_sandbox::Direction::Inbound;
            assert_eq!(message.direction == Direction::Inbound, inbound, "{}", message.id);
            assert_eq!(message.at, want.created_at);
        }
    }
}

#[tokio::test]
async fn the_phone_filter_keeps_only_chats_with_those_phones() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let data = sandbox.data();
    let day = sandbox_window(&sandbox);
    let mut phones: HashSet<String> =
        data.chats.iter().filter(|c| c.is_messaging()).filter_map(|c| c.phone.clone()).step_by(3).take(6).collect();
    phones.insert("79990000000".to_owned());
    let got = dialogs(fast_source(&sandbox, json!({})).as_ref(), day, Some(phones.clone())).await;
    let expected = truth(data, day, Some(&phones));
    assert!(!expected.is_empty() && expected.len() < truth(data, day, None).len());
    assert_eq!(by_chat(&got), expected);
    for id in message_requests(&sandbox) {
        let phone = data.chat(id).unwrap().phone.clone().unwrap();
        assert!(phones.contains(&phone), "chat {id} outside the filter was read");
    }

    sandbox.reset_counters();
    let none = dialogs(fast_source(&sandbox, json!({})).as_ref(), day, Some(HashSet::new())).await;
    assert!(none.is_empty());
    assert_eq!(sandbox.request_count(Service::Radist), 0, "an empty filter needs no request");
}

#[tokio::test]
async fn windows_without_messages_give_no_dialogs_and_no_error() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let later = window("2027-01-01T00:00:00Z", "2027-01-02T00:00:00Z");
    let got = batches(fast_source(&sandbox, json!({})).as_ref(), later, None).await.unwrap();
    assert!(got.iter().all(|b| b.items.is_empty() && b.truncated.is_none()));
    assert!(message_requests(&sandbox).is_empty(), "every chat's last message is before the window");

    let earlier = window("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z");
    assert!(dialogs(fast_source(&sandbox, json!({})).as_ref(), earlier, None).await.is_empty());
}

#[tokio::test]
async fn the_message_page_cap_cuts_long_chats_and_names_them() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let data = sandbox.data();
    let [_, wide] = windows(&sandbox);
    let got = batches(fast_source(&sandbox, json!({"max_message_pages": 1})).as_ref(), wide, None).await.unwrap();
    let cuts: Vec<_> = got.iter().filter_map(|b| b.truncated.as_ref()).collect();
    assert_eq!(cuts.len(), 1, "{cuts:?}");
    let long = &data.chats[0];
    assert_eq!((cuts[0].cap.as_str(), cuts[0].limit), ("max_message_pages", 1));
    assert!(cuts[0].message.contains(&long.id.to_string()) && cuts[0].message.contains("max_message_pages"));
    let dialogs: Vec<Dialog> = got.into_iter().flat_map(|b| b.items).collect();
    let cut = dialogs.iter().find(|d| d.chat_id == long.id.to_string()).unwrap();
    let newest: Vec<String> = long.messages[long.messages.len() - 100..]
        .iter()
        .filter(|m| m.created_at >= wide.start() && m.created_at < wide.end())
        .map(|m| m.id.clone())
        .collect();
    assert_eq!(cut.messages.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), newest);
}

#[tokio::test]
async fn the_chat_cap_says_how_many_chats_were_left_out_and_requests_are_paced() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let data = sandbox.data();
    let day = sandbox_window(&sandbox);
    let eligible = data
        .chats
        .iter()
        .filter(|c| c.is_messaging() && c.messages.last().is_some_and(|m| m.created_at >= day.start()))
        .count();
    let key = sandbox.credentials().radist_api_key.clone();
    let source = source(&config(&key, json!({"max_chats": 6})), &ctx(&sandbox.url(Service::Radist)));
    let started = Instant::now();
    let got = batches(source.as_ref(), day, None).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(got.len(), 1);
    let cut = got[0].truncated.as_ref().unwrap();
    assert_eq!((cut.cap.as_str(), cut.limit), ("max_chats", 6));
    assert!(cut.message.contains(&format!("{} more chat", eligible - 6)), "{}", cut.message);
    assert_eq!(message_requests(&sandbox).len(), 6);
    let requests = sandbox.request_count(Service::Radist);
    let floor = 0.2 * (requests - 1) as f64 * 0.98;
    assert!(elapsed.as_secs_f64() >= floor, "{requests} requests at 5/s took only {elapsed:?}");
}

#[tokio::test]
async fn faults_while_reading_messages_do_not_change_the_result() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let day = sandbox_window(&sandbox);
    sandbox.inject(Service::Radist, "messages", Fault::Status(500), 2);
    sandbox.inject(Service::Radist, "with_contacts", Fault::RateLimited, 1);
    sandbox.inject(Service::Radist, "messages", Fault::Malformed, 1);
    sandbox.inject(Service::Radist, "messages", Fault::Status(503), 1);
    let got = dialogs(fast_source(&sandbox, json!({})).as_ref(), day, None).await;
    assert_eq!(by_chat(&got), truth(sandbox.data(), day, None));
    assert_eq!(sandbox.rate_limited_count(Service::Radist), 1);

    sandbox.inject(Service::Radist, "messages", Fault::Status(500), 1_000);
    let source = fast_source(&sandbox, json!({}));
    let err = batches(source.as_ref(), day, None).await.unwrap_err();
    assert_eq!(err.status, Some(500));
}

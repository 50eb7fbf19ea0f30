//! Telegram server state: known chats, migrations, flood control, stored messages and queued updates.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use synkro_core::time::Timestamp;

use crate::credentials::{TELEGRAM_BOT_ID, TELEGRAM_BOT_USERNAME};
use crate::http::now_unix;

/// A message the fake Telegram server accepted through `sendMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// Target chat.
    pub chat_id: i64,
    /// Id Telegram assigned (per chat).
    pub message_id: i64,
    /// Text exactly as sent (markup included).
    pub text: String,
    /// `parse_mode` as sent, if any.
    pub parse_mode: Option<String>,
    /// The message this one replies to, if any.
    pub reply_to_message_id: Option<i64>,
    /// When the server accepted it (wall clock).
    pub at: Timestamp,
}

/// The bot as a Telegram `User`.
pub(crate) fn bot_user() -> Value {
    json!({"id": TELEGRAM_BOT_ID, "is_bot": true, "first_name": "Synkro", "username": TELEGRAM_BOT_USERNAME})
}

/// `private`, `group` or `supergroup` from the shape of the id.
fn chat_type(chat_id: i64) -> &'static str {
    if chat_id <= -1_000_000_000_000 {
        "supergroup"
    } else if chat_id < 0 {
        "group"
    } else {
        "private"
    }
}

/// Mutable Telegram state.
pub(crate) struct TgState {
    configured_chat: i64,
    known: BTreeSet<i64>,
    migrated: HashMap<i64, i64>,
    last_send: HashMap<i64, Instant>,
    messages: HashMap<(i64, i64), Value>,
    next_message_id: HashMap<i64, i64>,
    updates: VecDeque<(i64, Value)>,
    next_update_id: i64,
    /// `getUpdates` calls so far; only the latest may still wait.
    polls: u64,
    pub(crate) webhook: Option<String>,
    pub(crate) sent: Vec<SentMessage>,
}

impl TgState {
    pub(crate) fn new(configured_chat: i64) -> Self {
        TgState {
            configured_chat,
            known: BTreeSet::from([configured_chat]),
            migrated: HashMap::new(),
            last_send: HashMap::new(),
            messages: HashMap::new(),
            next_message_id: HashMap::new(),
            updates: VecDeque::new(),
            next_update_id: 900_001,
            polls: 0,
            webhook: None,
            sent: Vec::new(),
        }
    }

    /// The `Chat` object for `chat_id`.
    pub(crate) fn chat_json(&self, chat_id: i64) -> Value {
        match chat_type(chat_id) {
            "private" => json!({"id": chat_id, "type": "private", "first_name": "Sandbox user"}),
            kind => {
                let title = if chat_id == self.configured_chat { "Acme Sales" } else { "Sandbox group" };
                json!({"id": chat_id, "type": kind, "title": title})
            }
        }
    }

    /// Where `chat_id` moved to, if it was migrated.
    pub(crate) fn migrated_to(&self, chat_id: i64) -> Option<i64> {
        self.migrated.get(&chat_id).copied()
    }

    pub(crate) fn is_known(&self, chat_id: i64) -> bool {
        self.known.contains(&chat_id)
    }

    /// Makes `chat_id` a chat the bot is in.
    pub(crate) fn add_chat(&mut self, chat_id: i64) {
        self.known.insert(chat_id);
    }

    /// Upgrades group `old` to supergroup `new` and, as Telegram does, posts the service
    /// messages: `migrate_to_chat_id` in the group, then `migrate_from_chat_id` in the supergroup.
    pub(crate) fn migrate(&mut self, old: i64, new: i64) {
        let group = self.chat_json(old);
        self.migrated.insert(old, new);
        self.known.remove(&old);
        self.known.insert(new);
        let admin = json!({"id": user_id("admin"), "is_bot": false, "first_name": "admin", "username": "admin"});
        let to = json!({"message_id": self.next_id(old), "date": now_unix(), "chat": group, "from": admin,
            "migrate_to_chat_id": new});
        self.push_message(old, to);
        let from = json!({"message_id": self.next_id(new), "date": now_unix(), "chat": self.chat_json(new),
            "from": admin, "migrate_from_chat_id": old});
        self.push_message(new, from);
    }

    /// Starts a `getUpdates` call; returns its ticket.
    pub(crate) fn start_poll(&mut self) -> u64 {
        self.polls += 1;
        self.polls
    }

    /// Whether no `getUpdates` call started after the one with `ticket`.
    pub(crate) fn is_latest_poll(&self, ticket: u64) -> bool {
        self.polls == ticket
    }

    pub(crate) fn message(&self, chat_id: i64, message_id: i64) -> Option<&Value> {
        self.messages.get(&(chat_id, message_id))
    }

    /// Seconds to wait before `chat_id` may receive another message, if any.
    pub(crate) fn flood_wait(&self, chat_id: i64, interval: Duration, now: Instant) -> Option<u64> {
        let last = self.last_send.get(&chat_id)?;
        let elapsed = now.duration_since(*last);
        (elapsed < interval).then(|| (interval - elapsed).as_secs_f64().ceil().max(1.0) as u64)
    }

    fn next_id(&mut self, chat_id: i64) -> i64 {
        let id = self.next_message_id.entry(chat_id).or_insert(1000);
        *id += 1;
        *id
    }

    /// Stores an accepted bot message and returns it as a Telegram `Message`.
    pub(crate) fn accept(&mut self, sent: SentMessage, visible: &str, reply_to: Option<Value>, now: Instant) -> Value {
        let message_id = self.next_id(sent.chat_id);
        let mut message = json!({"message_id": message_id, "from": bot_user(), "chat": self.chat_json(sent.chat_id),
            "date": sent.at.unix_seconds(), "text": visible});
        if let Some(reply) = reply_to {
            message["reply_to_message"] = reply;
        }
        self.messages.insert((sent.chat_id, message_id), message.clone());
        self.last_send.insert(sent.chat_id, now);
        self.sent.push(SentMessage { message_id, ..sent });
        message
    }

    /// Queues a text message from a user as an update; returns the `update_id`.
    pub(crate) fn push_update(&mut self, chat_id: i64, username: &str, is_bot: bool, text: &str) -> i64 {
        self.known.insert(chat_id);
        let message_id = self.next_id(chat_id);
        let from_id = if username == TELEGRAM_BOT_USERNAME { TELEGRAM_BOT_ID } else { user_id(username) };
        let mut message = json!({
            "message_id": message_id, "date": now_unix(), "chat": self.chat_json(chat_id), "text": text,
            "from": {"id": from_id, "is_bot": is_bot, "first_name": username, "username": username},
        });
        let entities = entities(text);
        if !entities.is_empty() {
            message["entities"] = Value::Array(entities);
        }
        self.push_message(chat_id, message)
    }

    /// Stores `message` (in `chat_id`) and queues it as an update; returns the `update_id`.
    fn push_message(&mut self, chat_id: i64, message: Value) -> i64 {
        let message_id = message["message_id"].as_i64().unwrap_or_default();
        self.messages.insert((chat_id, message_id), message.clone());
        let update_id = self.next_update_id;
        self.next_update_id += 1;
        self.updates.push_back((update_id, json!({"update_id": update_id, "message": message})));
        update_id
    }

    /// Updates not yet confirmed.
    pub(crate) fn pending_updates(&self) -> usize {
        self.updates.len()
    }

    /// `getUpdates`: confirms (drops) updates before `offset`, returns up to `limit` pending ones.
    /// A negative offset keeps only the last `-offset` updates.
    pub(crate) fn take_updates(&mut self, offset: Option<i64>, limit: usize) -> Vec<Value> {
        match offset {
            Some(o) if o < 0 => {
                let keep = usize::try_from(o.unsigned_abs()).unwrap_or(usize::MAX);
                while self.updates.len() > keep {
                    self.updates.pop_front();
                }
            }
            Some(o) => self.updates.retain(|(id, _)| *id >= o),
            None => {}
        }
        self.updates.iter().take(limit).map(|(_, u)| u.clone()).collect()
    }
}

/// A stable fake user id for a username.
fn user_id(username: &str) -> i64 {
    let hash =
        username.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    100_000_000 + (hash % 900_000_000) as i64
}

/// `mention` entities for the bot and a `bot_command` for a leading `/command`; offsets in UTF-16 units.
fn entities(text: &str) -> Vec<Value> {
    let mut list = Vec::new();
    let utf16 = |s: &str| s.encode_utf16().count();
    if text.starts_with('/') {
        let end = text.find(char::is_whitespace).unwrap_or(text.len());
        list.push(json!({"type": "bot_command", "offset": 0, "length": utf16(&text[..end])}));
    }
    let mention = format!("@{TELEGRAM_BOT_USERNAME}");
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = lower[from..].find(&mention) {
        let start = from + pos;
        list.push(json!({"type": "mention", "offset": utf16(&text[..start]), "length": utf16(&mention)}));
        from = start + mention.len();
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mention_offsets_count_utf16_units() {
        let list = entities("Привет 👋 @Synkro_Sandbox_Bot почему?");
        assert_eq!(list, vec![json!({"type": "mention", "offset": 10, "length": 19})]);
        assert_eq!(entities("/report now").len(), 1);
    }

    #[test]
    fn offsets_confirm_updates() {
        let mut state = TgState::new(-100);
        let a = state.push_update(-100, "anna", false, "one");
        let b = state.push_update(-100, "anna", false, "two");
        assert_eq!(state.take_updates(None, 100).len(), 2);
        assert_eq!(state.take_updates(Some(b), 100).len(), 1);
        assert_eq!(state.take_updates(Some(a), 100).len(), 1, "confirmed updates are gone");
        assert!(state.take_updates(Some(b + 1), 100).is_empty());
    }
}

//! Deterministic generation of the Radist side: sources, contacts, chats and messages.

use std::collections::HashSet;

use fastrand::Rng;
use synkro_core::time::Timestamp;

use super::generate::PhoneBook;
use super::words::{CAPTIONS, FILE_NAMES, IMAGE_NAMES, INBOUND_TEXTS, INTERACTIVE_TEXTS, OUTBOUND_TEXTS};
use super::{Attachment, Chat, ChatSource, Direction, Message, MessageKind, RadistContact, SandboxData};
use crate::SandboxConfig;
use crate::config::shift_seconds;

/// Messages in the first deal chat, so that paging with `limit=100` really pages.
const LONG_CHAT_MESSAGES: usize = 150;

struct ChatGen<'a> {
    rng: &'a mut Rng,
    config: &'a SandboxConfig,
    contacts: Vec<RadistContact>,
    chats: Vec<Chat>,
}

/// Fills the Radist part of `data`.
pub(super) fn generate_chats(data: &mut SandboxData, rng: &mut Rng, phones: &mut PhoneBook, config: &SandboxConfig) {
    data.sources = vec![
        ChatSource { connection_id: 1, kind: "whatsapp".to_owned(), name: "WhatsApp +7 900 000-00-01".to_owned() },
        ChatSource { connection_id: 2, kind: "waba".to_owned(), name: "WABA Acme".to_owned() },
        ChatSource { connection_id: 3, kind: "telegram".to_owned(), name: "Telegram @acme_support".to_owned() },
    ];
    let mut generator = ChatGen { rng, config, contacts: Vec::new(), chats: Vec::new() };
    let mut seen_contacts = HashSet::new();
    let contact_pos: std::collections::HashMap<i64, usize> =
        data.contacts.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    for lead in &data.leads {
        if generator.rng.f64() >= 0.7 {
            continue;
        }
        let Some(contact) = lead.contacts.first().and_then(|l| contact_pos.get(&l.id)).map(|&i| &data.contacts[i])
        else {
            continue;
        };
        if contact.phones.is_empty() || !seen_contacts.insert(contact.id) {
            continue;
        }
        let mut chat_specs = Vec::new();
        for phone in &contact.phones {
            let connection = 1 + generator.rng.i64(0..2);
            chat_specs.push((connection, Some(phone.clone())));
            if generator.rng.f64() < 0.05 {
                chat_specs.push((3 - connection, Some(phone.clone())));
            }
        }
        generator.add_contact(&contact.name, &chat_specs);
    }
    for _ in 0..config.unrelated_chats {
        let phone = phones.next(generator.rng);
        let connection = 1 + generator.rng.i64(0..2);
        let name = format!("+{phone}");
        generator.add_contact(&name, &[(connection, Some(phone))]);
    }
    let deal_phones: Vec<String> = generator.chats.iter().filter_map(|c| c.phone.clone()).take(2).collect::<Vec<_>>();
    for (k, phone) in deal_phones.into_iter().map(Some).chain([None]).enumerate() {
        generator.add_contact(&format!("@tg_client_{}", k + 1), &[(3, phone)]);
    }
    data.radist_contacts = generator.contacts;
    data.chats = generator.chats;
}

impl ChatGen<'_> {
    fn add_contact(&mut self, name: &str, chats: &[(i64, Option<String>)]) {
        let contact_id = 900_001 + self.contacts.len() as i64;
        let mut chat_ids = Vec::new();
        let mut last = None::<Timestamp>;
        for (connection, phone) in chats {
            let chat = self.chat(contact_id, *connection, phone.clone());
            last = Some(last.map_or(chat.last_activity(), |l| l.max(chat.last_activity())));
            chat_ids.push(chat.id);
            self.chats.push(chat);
        }
        let last_chat_updated_at = last.unwrap_or(self.config.window_start);
        self.contacts.push(RadistContact { id: contact_id, name: name.to_owned(), chat_ids, last_chat_updated_at });
    }

    fn chat(&mut self, contact_id: i64, connection_id: i64, phone: Option<String>) -> Chat {
        let id = 400_001 + self.chats.len() as i64;
        let source = match connection_id {
            1 => "whatsapp",
            2 => "waba",
            _ => "telegram",
        };
        let source_chat_id = match (source, &phone) {
            ("whatsapp", Some(p)) => format!("{p}@c.us"),
            ("waba", Some(p)) => p.clone(),
            _ => format!("{}", 500_000_000 + self.rng.i64(0..400_000_000)),
        };
        let count = match (self.chats.is_empty(), source) {
            (true, _) => LONG_CHAT_MESSAGES,
            (_, "telegram") => self.rng.usize(3..=10),
            _ => self.rng.usize(0..=30),
        };
        let messages = self.messages(id, source == "waba", count);
        let first = messages.first().map_or(self.config.window_start, |m| m.created_at);
        let created_at = shift_seconds(first, -self.rng.i64(3600..30 * 86_400));
        Chat { id, contact_id, connection_id, source: source.to_owned(), phone, source_chat_id, created_at, messages }
    }

    fn messages(&mut self, chat_id: i64, waba: bool, count: usize) -> Vec<Message> {
        let from = shift_seconds(self.config.window_start, -12 * 3600).unix_micros() / 1000;
        let to = shift_seconds(self.config.window_end(), 2 * 3600).unix_micros() / 1000;
        let mut times: Vec<i64> = (0..count).map(|_| self.rng.i64(from..to)).collect();
        times.sort_unstable();
        for j in 1..times.len() {
            if self.rng.f64() < 0.05 {
                times[j] = times[j - 1];
            }
        }
        let mut direction = if self.rng.f64() < 0.7 { Direction::Inbound } else { Direction::Outbound };
        let mut messages = Vec::with_capacity(count);
        for (n, ms) in times.into_iter().enumerate() {
            if n > 0 && self.rng.f64() < 0.6 {
                direction = match direction {
                    Direction::Inbound => Direction::Outbound,
                    Direction::Outbound => Direction::Inbound,
                };
            }
            let created_at = Timestamp::from_unix_micros(ms * 1000).unwrap_or(self.config.window_start);
            messages.push(self.message(chat_id, n + 1, created_at, direction, waba));
        }
        messages
    }

    fn message(&mut self, chat_id: i64, n: usize, created_at: Timestamp, direction: Direction, waba: bool) -> Message {
        let id = format!("m-{chat_id}-{n}");
        let roll = self.rng.f64();
        if waba && roll < 0.08 {
            let text = INTERACTIVE_TEXTS[self.rng.usize(..INTERACTIVE_TEXTS.len())].to_owned();
            return Message {
                id,
                chat_id,
                created_at,
                direction: Direction::Outbound,
                kind: MessageKind::WabaInteractive,
                text: Some(text),
                attachment: None,
            };
        }
        if (0.08..0.18).contains(&roll) {
            let image = self.rng.bool();
            let names = if image { IMAGE_NAMES } else { FILE_NAMES };
            let caption = self.rng.bool().then(|| CAPTIONS[self.rng.usize(..CAPTIONS.len())].to_owned());
            let text = self.rng.bool().then(String::new);
            return Message {
                id,
                chat_id,
                created_at,
                direction,
                kind: if image { MessageKind::Image } else { MessageKind::File },
                text,
                attachment: Some(Attachment { name: names[self.rng.usize(..names.len())].to_owned(), caption }),
            };
        }
        let texts = match direction {
            Direction::Inbound => INBOUND_TEXTS,
            Direction::Outbound => OUTBOUND_TEXTS,
        };
        let text = texts[self.rng.usize(..texts.len())].to_owned();
        Message { id, chat_id, created_at, direction, kind: MessageKind::Text, text: Some(text), attachment: None }
    }
}

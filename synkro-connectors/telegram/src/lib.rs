//! The Telegram connector: delivers reports to a chat and receives follow-up questions
//! addressed to the bot.
//!
//! Long texts are split into messages of at most 4096 characters on paragraph or line
//! boundaries ([`split_message`]), sent in order at most one per second per chat, honouring
//! `retry_after`. A group that became a supergroup (`migrate_to_chat_id`) is followed and the
//! new id reported, for the host to store. Questions come from `getUpdates` with an offset the
//! caller persists; the offset confirms updates for the whole bot, so the inbox is the bot
//! (`telegram:{bot id}`) and questions from every chat come back, each with its chat, along
//! with the chat moves the service messages announce. Only messages that mention the bot
//! count, and bots' messages (its own included) are ignored. The bot token lives in the URL
//! path, so it is registered for redaction.

mod client;
mod config;
mod connector;
mod model;
mod split;

use std::sync::Arc;

pub use config::{TelegramConfig, TelegramSettings};
pub use connector::TelegramConnector;
pub use split::{MAX_MESSAGE_UNITS, split_message};

inventory::submit! {
    synkro_core::connector::Registration::new(|| Arc::new(TelegramConnector))
}

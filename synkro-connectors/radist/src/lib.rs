//! The Radist.Online connector: a chat source of WhatsApp and WhatsApp Business dialogs.
//!
//! It reads the company's chat sources (keeping `whatsapp` and `waba` connections), pages
//! through chats grouped by contact (cursor paging, most recently active first, stopping at
//! the first page entirely older than the window), and reads each chat's messages backwards
//! from the newest with `until`, keeping those inside the window. One batch per contacts page
//! keeps memory bounded; every cap that cuts (`max_chat_pages`, `max_chats`,
//! `max_message_pages`) is reported in a [`Truncation`](synkro_core::connector::Truncation).
//!
//! Authentication: an API key with the `messaging` scope, sent as `X-Api-Key` and stripped
//! from every error. Requests are paced at 5 per second per company (or per key fingerprint
//! when no company is configured).

mod chat;
mod client;
mod config;
mod connector;
mod model;
mod source;

use std::sync::Arc;

pub use config::{
    DEFAULT_BASE_URL, DEFAULT_MAX_CHAT_PAGES, DEFAULT_MAX_CHATS, DEFAULT_MAX_MESSAGE_PAGES, RadistConfig,
    RadistSettings,
};
pub use connector::RadistConnector;

inventory::submit! {
    synkro_core::connector::Registration::new(|| Arc::new(RadistConnector))
}

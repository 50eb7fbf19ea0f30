//! The capabilities the report pipeline uses, and the data they exchange.
//!
//! Lists arrive as streams of batches (one batch per upstream page), so memory stays bounded
//! by a page, not by the window. A batch may carry a [`Truncation`]: a cap cut the data, and
//! the job log says exactly what was left out.

use std::{collections::HashSet, sync::Arc};

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ConnectorError;
use crate::{domain::Window, time::Timestamp};

/// A page of results, and whether a cap cut the data after it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceBatch<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Set on the last batch when a cap stopped the reading early.
    pub truncated: Option<Truncation>,
    /// Chat sources given `phones`: the chats of this page the filter left out whose last
    /// message (as the chat list shows it, without reading their messages) is inside the
    /// window — the dialogs without a deal. 0 elsewhere.
    pub unmatched: u64,
}

impl<T> SourceBatch<T> {
    /// A batch with no truncation.
    pub fn new(items: Vec<T>) -> Self {
        Self { items, truncated: None, unmatched: 0 }
    }
}

/// A cap that cut data: what, at which limit, and what was left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncation {
    /// The cap's setting name (`max_pages`, `radist_fetch_limit`, ...).
    pub cap: String,
    /// Its value.
    pub limit: u64,
    /// What was left out, for the job log.
    pub message: String,
}

/// A stream of batches from a source.
pub type BatchStream<'a, T> = BoxStream<'a, Result<SourceBatch<T>, ConnectorError>>;

/// A contact attached to a deal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealContact {
    /// The CRM's contact id.
    pub id: i64,
    /// The contact's name.
    pub name: Option<String>,
    /// Phones, normalised (see [`normalize_phone`](super::normalize_phone)).
    pub phones: Vec<String>,
}

/// A CRM deal updated inside a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deal {
    /// The CRM's deal id.
    pub id: i64,
    /// The deal's name.
    pub name: String,
    /// Pipeline stage id.
    pub status_id: Option<i64>,
    /// Pipeline stage name, where the CRM told it.
    pub status: Option<String>,
    /// Pipeline id.
    pub pipeline_id: Option<i64>,
    /// Responsible manager's id.
    pub responsible_user_id: Option<i64>,
    /// Responsible manager's name, where the token may read users (else `None`).
    pub responsible: Option<String>,
    /// Deal value.
    pub price: Option<i64>,
    /// When the deal was created.
    pub created_at: Timestamp,
    /// When the deal was last updated.
    pub updated_at: Timestamp,
    /// Its contacts.
    pub contacts: Vec<DealContact>,
    /// Other attributes worth keeping (custom fields, tags), as the CRM sent them.
    pub attrs: Value,
}

impl Deal {
    /// Every normalised phone of every contact, without repeats, in contact order.
    pub fn phones(&self) -> Vec<&str> {
        let mut seen = HashSet::new();
        self.contacts.iter().flat_map(|c| c.phones.iter()).map(String::as_str).filter(|p| seen.insert(*p)).collect()
    }
}

/// Deals from a CRM.
pub trait CrmSource: Send + Sync {
    /// Every deal updated inside `window`, page by page, with stage names, managers and
    /// contact phones.
    fn deals(&self, window: Window) -> BatchStream<'_, Deal>;
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the client to the company.
    Inbound,
    /// From the company to the client.
    Outbound,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The platform's message id (unique within the chat).
    pub id: String,
    /// When it was sent.
    pub at: Timestamp,
    /// Inbound (client) or outbound (agent).
    pub direction: Direction,
    /// Its text (empty for a file without caption).
    pub text: String,
    /// Names of attached files.
    pub files: Vec<String>,
}

/// A chat with one client and its messages inside a window, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dialog {
    /// The platform's chat id.
    pub chat_id: String,
    /// The platform's contact id.
    pub contact_id: Option<String>,
    /// The client's name.
    pub contact_name: Option<String>,
    /// The client's phone, normalised.
    pub phone: Option<String>,
    /// The channel (`whatsapp`, `waba`).
    pub channel: String,
    /// Messages inside the window, oldest first, without duplicates.
    pub messages: Vec<ChatMessage>,
}

impl Dialog {
    /// The readable transcript of DESIGN.md section 7: one line per message, time-ordered,
    /// `time  client|agent: text [files: a, b]`, times as `YYYY-MM-DD HH:MM` in `zone`.
    pub fn transcript(&self, zone: &jiff::tz::TimeZone) -> String {
        let mut out = String::new();
        for m in &self.messages {
            let local = zone.to_datetime(m.at.to_jiff());
            let who = match m.direction {
                Direction::Inbound => "client",
                Direction::Outbound => "agent",
            };
            let text = m.text.split_whitespace().collect::<Vec<_>>().join(" ");
            out.push_str(&format!("{}  {who}: {text}", local.strftime("%Y-%m-%d %H:%M")));
            if !m.files.is_empty() {
                let sep = if text.is_empty() { "" } else { " " };
                out.push_str(&format!("{sep}[files: {}]", m.files.join(", ")));
            }
            out.push('\n');
        }
        out
    }

    /// When the last message was sent.
    pub fn last_message_at(&self) -> Option<Timestamp> {
        self.messages.last().map(|m| m.at)
    }
}

/// Dialogs from a messaging platform.
pub trait ChatSource: Send + Sync {
    /// Dialogs with messages inside `window`, page by page; only chats whose normalised phone
    /// is in `phones` when it is given (and then each batch counts, in
    /// [`SourceBatch::unmatched`], the chats active in the window that the filter left out).
    fn dialogs(&self, window: Window, phones: Option<Arc<HashSet<String>>>) -> BatchStream<'_, Dialog>;
}

/// One merged row per deal, as stored in the warehouse (`deals` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct DealRow {
    /// The tenant's slug.
    pub tenant_id: String,
    /// The CRM deal id, or a stable negative id derived from the chat id (chats_only).
    pub deal_id: i64,
    /// Deal name.
    pub deal_name: Option<String>,
    /// Stage id.
    pub status_id: Option<i64>,
    /// Stage name.
    pub status: Option<String>,
    /// Responsible manager.
    pub responsible: Option<String>,
    /// Normalised phone the dialog was joined on.
    pub phone: Option<String>,
    /// Chat id of the joined dialog.
    pub chat_id: Option<String>,
    /// First message in the window.
    pub first_message_at: Option<Timestamp>,
    /// Last message in the window.
    pub last_message_at: Option<Timestamp>,
    /// Messages in the window.
    pub messages_count: i64,
    /// Deal attributes.
    #[cfg_attr(feature = "store", sqlx(json))]
    pub deal_attrs_json: Value,
    /// Contact attributes.
    #[cfg_attr(feature = "store", sqlx(json))]
    pub contact_attrs_json: Value,
    /// The raw messages.
    #[cfg_attr(feature = "store", sqlx(json))]
    pub dialog_raw: Value,
    /// The readable transcript.
    pub dialog_norm: String,
    /// When the deal was last updated in the CRM.
    pub updated_at: Option<Timestamp>,
}

/// Which timestamp selects a window's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowTime {
    /// The deal's `updated_at` (crm_only).
    UpdatedAt,
    /// The dialog's `last_message_at` (modes with chats).
    LastMessageAt,
}

/// A report as archived in the warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchivedReport {
    /// The tenant's slug.
    pub tenant_id: String,
    /// Synkro's report id, so several reports a day stay distinct.
    pub source_report_id: String,
    /// First day covered (tenant time), `YYYY-MM-DD`.
    pub period_start: String,
    /// Last day covered.
    pub period_end: String,
    /// The report text.
    pub summary_text: String,
    /// Its metadata.
    pub metadata: Value,
    /// When it was made.
    pub created_at: Timestamp,
}

/// Deal rows and the report archive.
#[async_trait]
pub trait Warehouse: Send + Sync {
    /// Inserts or updates rows by (tenant_id, deal_id); returns how many were written.
    async fn upsert_deals(&self, rows: &[DealRow]) -> Result<u64, ConnectorError>;
    /// A tenant's rows whose `by` time is inside `window`, page by page.
    fn rows_in_window<'a>(&'a self, tenant: &'a str, window: Window, by: RowTime) -> BatchStream<'a, DealRow>;
    /// Stores a report in the archive.
    async fn archive_report(&self, report: &ArchivedReport) -> Result<(), ConnectorError>;
}

/// A request to a language model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompletionRequest {
    /// Instructions.
    pub system: String,
    /// The material to work on.
    pub context: String,
    /// Sampling temperature, when the model takes one.
    pub temperature: Option<f32>,
    /// Most output tokens.
    pub max_output_tokens: u32,
}

/// A language model's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Completion {
    /// The text.
    pub text: String,
    /// The model that answered.
    pub model: String,
    /// Whether the output-token limit cut the text.
    pub truncated: bool,
}

/// Text generation.
#[async_trait]
pub trait LanguageModel: Send + Sync {
    /// Generates text for `request`.
    async fn complete(&self, request: &CompletionRequest) -> Result<Completion, ConnectorError>;
    /// Model ids the key may use, for the settings page.
    async fn list_models(&self) -> Result<Vec<String>, ConnectorError>;
}

/// A question addressed to the bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// The platform's update id.
    pub update_id: i64,
    /// The chat it was asked in (compare with [`Messenger::chat_id`]).
    pub chat_id: String,
    /// The question without the mention.
    pub text: String,
    /// Who asked (display name).
    pub from: Option<String>,
    /// The message to reply to.
    pub message_id: i64,
}

/// A chat that moved to a new id (a Telegram group that became a supergroup).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMove {
    /// The old id.
    pub from: String,
    /// The new id.
    pub to: String,
}

/// Questions received since an offset, and the offset to persist for next time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Questions {
    /// Questions addressed to the bot, in every chat, in the order they were asked.
    pub questions: Vec<Question>,
    /// Chats the platform said moved (the host should store the new id where it keeps the old).
    pub moves: Vec<ChatMove>,
    /// Pass this next time so nothing is read twice.
    pub next_offset: Option<i64>,
}

/// What a delivery did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Messages sent (a long text is split).
    pub messages: u32,
    /// The chat moved (a Telegram group became a supergroup) and this is its new id: the host
    /// should store it in the integration's settings.
    pub moved_to: Option<String>,
}

/// Report delivery and follow-up questions.
///
/// Questions come from an inbox that several messengers may share: every Telegram chat a bot
/// is in reaches the host through that bot's one update stream, which only one reader may poll
/// at a time and whose offset confirms updates for every chat at once. So the host reads each
/// [`inbox`](Messenger::inbox) once, with one offset, and hands each question to the
/// messengers whose [`chat_id`](Messenger::chat_id) it was asked in.
#[async_trait]
pub trait Messenger: Send + Sync {
    /// The inbox [`questions`](Messenger::questions) reads, such as `telegram:123456789` (the
    /// bot's id). Messengers with the same inbox read the same stream. Never a secret.
    fn inbox(&self) -> String;
    /// The chat this messenger delivers to and answers in (its new id once it moved).
    fn chat_id(&self) -> String;
    /// Sends a text of any length to the configured chat, split as the platform needs, in
    /// order. On failure part-way, the error says how many parts were sent.
    async fn send_text(&self, text: &str) -> Result<Delivery, ConnectorError>;
    /// Sends an alert for the tenant's admins (a report failed, was written without the AI, or
    /// was not delivered): to the messenger's alert chat when it has one, else to its chat (the
    /// text says it is an alert). By default, [`send_text`](Messenger::send_text).
    async fn send_alert(&self, text: &str) -> Result<Delivery, ConnectorError> {
        self.send_text(text).await
    }
    /// Questions addressed to the bot in any chat since `offset`, and chats that moved.
    async fn questions(&self, offset: Option<i64>) -> Result<Questions, ConnectorError>;
    /// Replies in this messenger's chat to message `message_id`.
    async fn reply(&self, message_id: i64, text: &str) -> Result<Delivery, ConnectorError>;
}

/// What a connector built from a tenant's configuration.
#[derive(Clone, Default)]
pub struct Capabilities {
    /// Deals.
    pub crm: Option<Arc<dyn CrmSource>>,
    /// Dialogs.
    pub chat: Option<Arc<dyn ChatSource>>,
    /// Deal rows and archive.
    pub warehouse: Option<Arc<dyn Warehouse>>,
    /// Text generation.
    pub llm: Option<Arc<dyn LanguageModel>>,
    /// Delivery.
    pub messenger: Option<Arc<dyn Messenger>>,
}

impl Capabilities {
    /// The capabilities it holds, in [`Capability`] order: what the connector's spec must
    /// advertise (the contract suites check they agree).
    pub fn provided(&self) -> Vec<super::Capability> {
        use super::Capability as C;
        [
            (C::CrmSource, self.crm.is_some()),
            (C::ChatSource, self.chat.is_some()),
            (C::Warehouse, self.warehouse.is_some()),
            (C::LanguageModel, self.llm.is_some()),
            (C::Messenger, self.messenger.is_some()),
        ]
        .into_iter()
        .filter_map(|(capability, held)| held.then_some(capability))
        .collect()
    }
}

impl std::fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capabilities")
            .field("crm", &self.crm.is_some())
            .field("chat", &self.chat.is_some())
            .field("warehouse", &self.warehouse.is_some())
            .field("llm", &self.llm.is_some())
            .field("messenger", &self.messenger.is_some())
            .finish()
    }
}

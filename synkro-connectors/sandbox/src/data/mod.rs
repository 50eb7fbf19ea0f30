//! The generated truth behind the fake servers: plain structs with public fields and lookup helpers.

mod generate;
mod generate_chats;
mod lookup;
mod words;

use synkro_core::time::Timestamp;

use lookup::DataIndex;

/// amoCRM system status id of a won deal ("Успешно реализовано"), present in every pipeline.
pub const STATUS_WON: i64 = 142;
/// amoCRM system status id of a lost deal ("Закрыто и не реализовано"), present in every pipeline.
pub const STATUS_LOST: i64 = 143;

/// Everything a sandbox serves, generated deterministically from [`SandboxConfig::seed`](crate::SandboxConfig).
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxData {
    /// amoCRM account id.
    pub account_id: i64,
    /// amoCRM account name.
    pub account_name: String,
    /// amoCRM users (ids 1001..=1005); 1001 is the admin who owns the tokens.
    pub users: Vec<User>,
    /// Two pipelines, each with an "unsorted" status, regular statuses and the system 142/143.
    pub pipelines: Vec<Pipeline>,
    /// Leads (deals), ids from 10 001, in id order.
    pub leads: Vec<Lead>,
    /// Contacts, ids from 50 001, in id order.
    pub contacts: Vec<Contact>,
    /// The Radist company (205113, "Acme").
    pub radist_company: RadistCompany,
    /// Radist chat sources (connections): whatsapp = 1, waba = 2, telegram = 3.
    pub sources: Vec<ChatSource>,
    /// Radist contacts (the grouping of `chats/with_contacts`), ids from 900 001.
    pub radist_contacts: Vec<RadistContact>,
    /// Radist chats, ids from 400 001, each with its messages (oldest first).
    pub chats: Vec<Chat>,
    pub(crate) index: DataIndex,
}

/// An amoCRM user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// User id.
    pub id: i64,
    /// Full name.
    pub name: String,
    /// Login e-mail.
    pub email: String,
    /// Account administrator.
    pub is_admin: bool,
    /// Active (not deactivated).
    pub is_active: bool,
}

/// An amoCRM pipeline with its statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    /// Pipeline id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Sort key.
    pub sort: i64,
    /// The account's main pipeline.
    pub is_main: bool,
    /// Statuses in sort order (unsorted first, 142 and 143 last).
    pub statuses: Vec<Status>,
}

/// A pipeline status (stage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Status id; 142/143 repeat in every pipeline, so key statuses by (pipeline, status).
    pub id: i64,
    /// Name.
    pub name: String,
    /// Sort key.
    pub sort: i64,
    /// Whether the status can be edited (false for 142/143 and unsorted).
    pub is_editable: bool,
    /// Owning pipeline.
    pub pipeline_id: i64,
    /// Colour, `#rrggbb`.
    pub color: String,
    /// 0 = regular, 1 = unsorted.
    pub kind: u8,
}

/// An amoCRM lead (deal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    /// Lead id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Price (roubles).
    pub price: i64,
    /// Pipeline.
    pub pipeline_id: i64,
    /// Status within the pipeline.
    pub status_id: i64,
    /// Responsible user.
    pub responsible_user_id: i64,
    /// Creation time (whole seconds, before the window).
    pub created_at: Timestamp,
    /// Last update (whole seconds): about 90 % inside the window, the rest before it; lead index 1
    /// sits exactly on `window_end` (outside a half-open window, inside an inclusive `to` filter).
    pub updated_at: Timestamp,
    /// Closing time for won/lost leads.
    pub closed_at: Option<Timestamp>,
    /// Linked contacts; the first is the main one.
    pub contacts: Vec<LeadContact>,
}

/// A contact link on a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeadContact {
    /// Contact id.
    pub id: i64,
    /// The lead's main contact.
    pub is_main: bool,
}

/// An amoCRM contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Contact id.
    pub id: i64,
    /// Full name.
    pub name: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Responsible user.
    pub responsible_user_id: i64,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update.
    pub updated_at: Timestamp,
    /// Custom fields exactly as served (`None` is served as JSON `null`).
    pub custom_fields_values: Option<Vec<CustomField>>,
    /// Truth: every phone of the contact, normalised (`7XXXXXXXXXX`), whichever field holds it.
    pub phones: Vec<String>,
}

/// An amoCRM custom field value block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomField {
    /// Field id.
    pub field_id: i64,
    /// Field name as shown in the UI.
    pub field_name: String,
    /// System code (`PHONE`, `EMAIL`) or `None` for user-defined fields.
    pub field_code: Option<String>,
    /// Field type (`multitext` for phones and e-mails).
    pub field_type: String,
    /// Values.
    pub values: Vec<FieldValue>,
}

/// One value of a custom field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldValue {
    /// Raw value, e.g. `"+7 (912) 345-67-89"`.
    pub value: String,
    /// Enum code such as `WORK` or `MOB`.
    pub enum_code: Option<String>,
}

/// The Radist company.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadistCompany {
    /// Company id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// A Radist chat source (connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatSource {
    /// Connection id.
    pub connection_id: i64,
    /// `whatsapp`, `waba` or `telegram`.
    pub kind: String,
    /// Display name.
    pub name: String,
}

/// A Radist contact: the group `chats/with_contacts` pages over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadistContact {
    /// Radist contact id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Chats of this contact.
    pub chat_ids: Vec<i64>,
    /// Latest activity over its chats (the list's sort key, newest first).
    pub last_chat_updated_at: Timestamp,
}

/// A Radist chat with its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    /// Chat id.
    pub id: i64,
    /// Owning Radist contact.
    pub contact_id: i64,
    /// Connection (source) id: 1 whatsapp, 2 waba, 3 telegram.
    pub connection_id: i64,
    /// Source type: `whatsapp`, `waba` or `telegram` (telegram chats must be ignored by Synkro).
    pub source: String,
    /// Digits-only `7XXXXXXXXXX`, or `None` (some telegram chats).
    pub phone: Option<String>,
    /// The messenger's own chat id.
    pub source_chat_id: String,
    /// When the chat was created.
    pub created_at: Timestamp,
    /// Messages, oldest first (equal timestamps occur).
    pub messages: Vec<Message>,
}

impl Chat {
    /// A WhatsApp or WABA chat (the kinds Synkro reads).
    pub fn is_messaging(&self) -> bool {
        self.source == "whatsapp" || self.source == "waba"
    }

    /// Time of the last message, or the creation time for an empty chat.
    pub fn last_activity(&self) -> Timestamp {
        self.messages.last().map_or(self.created_at, |m| m.created_at)
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client to the company.
    Inbound,
    /// From the company to the client.
    Outbound,
}

impl Direction {
    /// Wire name: `inbound` / `outbound`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// Kind of a Radist message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// Plain text in `text.text`.
    Text,
    /// Image with `image.name` and optional caption.
    Image,
    /// File with `file.name` and optional caption.
    File,
    /// WABA interactive message; text in `waba_interactive.body.text`.
    WabaInteractive,
}

impl MessageKind {
    /// Wire name of `message_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Image => "image",
            MessageKind::File => "file",
            MessageKind::WabaInteractive => "waba_interactive",
        }
    }
}

/// A Radist message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `m-<chat>-<n>`.
    pub id: String,
    /// Owning chat.
    pub chat_id: i64,
    /// Creation time, millisecond precision.
    pub created_at: Timestamp,
    /// Direction.
    pub direction: Direction,
    /// Kind.
    pub kind: MessageKind,
    /// Text: `text.text`, or `waba_interactive.body.text` for WABA interactive messages. `None` for
    /// media without text (served as `"text": null`); `Some("")` is served as `{"text": ""}`.
    pub text: Option<String>,
    /// Media attachment for images and files.
    pub attachment: Option<Attachment>,
}

/// An image or file attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name.
    pub name: String,
    /// Optional caption.
    pub caption: Option<String>,
}

//! Radist wire types (API v2), kept apart from Synkro's domain types.
//!
//! The public material on these shapes is thin (EXTERNAL_APIS.md section 2), so the types
//! are lenient where clients disagree: ids may be numbers or strings, lists may come bare or
//! wrapped, and unknown fields are ignored.

use serde::Deserialize;
use synkro_core::{
    connector::{ChatMessage, ConnectorError, Direction, FailureClass},
    time::Timestamp,
};

/// An id sent as a number or as a string, kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(from = "RawId")]
pub(crate) struct Id(pub String);

#[derive(Deserialize)]
#[serde(untagged)]
enum RawId {
    Int(i64),
    Text(String),
}

impl From<RawId> for Id {
    fn from(raw: RawId) -> Self {
        match raw {
            RawId::Int(n) => Self(n.to_string()),
            RawId::Text(s) => Self(s),
        }
    }
}

/// A list sent bare (`[...]`) or wrapped (`{"data": [...]}`, `{"companies": [...]}`, ...).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum List<T> {
    Bare(Vec<T>),
    Wrapped {
        #[serde(alias = "companies", alias = "sources", alias = "messages", alias = "items")]
        data: Vec<T>,
    },
}

impl<T> List<T> {
    pub fn into_vec(self) -> Vec<T> {
        match self {
            Self::Bare(items) | Self::Wrapped { data: items } => items,
        }
    }
}

/// `GET /companies/` item.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Company {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
}

/// `GET /companies/{cid}/messaging/chats/sources/` item.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ChatSource {
    pub connection_id: Id,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

impl ChatSource {
    /// The source type, lowercase (`whatsapp`, `waba`, `telegram`, ...).
    pub fn kind(&self) -> String {
        self.kind.as_deref().unwrap_or_default().trim().to_ascii_lowercase()
    }

    /// Whether Synkro reads this source: WhatsApp or WhatsApp Business API.
    pub fn is_whatsapp(&self) -> bool {
        matches!(self.kind().as_str(), "whatsapp" | "waba")
    }
}

/// `GET /companies/{cid}/messaging/chats/with_contacts/`.
#[derive(Debug, Deserialize)]
pub(crate) struct ContactsPage {
    pub data: Vec<ContactItem>,
    #[serde(default)]
    pub response_metadata: Option<ResponseMetadata>,
}

impl ContactsPage {
    /// The cursor of the next page; `None` on the last one.
    pub fn next_cursor(&self) -> Option<String> {
        let cursor = self.response_metadata.as_ref()?.next_cursor.as_deref()?.trim();
        (!cursor.is_empty()).then(|| cursor.to_owned())
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResponseMetadata {
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// A contact with its chats.
#[derive(Debug, Deserialize)]
pub(crate) struct ContactItem {
    #[serde(default)]
    pub contact_id: Option<Id>,
    #[serde(default)]
    pub contact_name: Option<String>,
    #[serde(default)]
    pub last_chat_updated_at: Option<String>,
    #[serde(default)]
    pub chats: Vec<ChatItem>,
}

/// One chat of a contact.
#[derive(Debug, Deserialize)]
pub(crate) struct ChatItem {
    pub chat_id: Id,
    #[serde(default)]
    pub connection_id: Option<Id>,
    #[serde(default)]
    pub phone: Option<String>,
    /// Absent: unknown (read the chat); `null`: the chat has no message; else its last one.
    #[serde(default, deserialize_with = "present")]
    pub last_message: Option<Option<LastMessage>>,
}

/// Tells a `null` field (`Some(None)`) apart from an absent one (`None`, via `default`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
pub(crate) struct LastMessage {
    #[serde(default)]
    pub created_at: Option<String>,
}

/// `GET /companies/{cid}/messaging/messages/` item.
#[derive(Debug, Deserialize)]
pub(crate) struct Message {
    pub message_id: Id,
    pub created_at: String,
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub text: Option<Text>,
    #[serde(default)]
    pub waba_interactive: Option<Interactive>,
    #[serde(default)]
    pub image: Option<Media>,
    #[serde(default)]
    pub file: Option<Media>,
    #[serde(default)]
    pub audio: Option<Media>,
    #[serde(default)]
    pub video: Option<Media>,
    #[serde(default)]
    pub voice: Option<Media>,
}

/// `text`: `{"text": "..."}`, or a bare string in some payloads.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Text {
    Plain(String),
    Object {
        #[serde(default)]
        text: Option<String>,
    },
}

#[derive(Debug, Deserialize)]
pub(crate) struct Interactive {
    #[serde(default)]
    pub body: Option<InteractiveBody>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct InteractiveBody {
    #[serde(default)]
    pub text: Option<String>,
}

/// An attachment: `image`, `file`, `audio`, `video` or `voice`.
#[derive(Debug, Deserialize)]
pub(crate) struct Media {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub caption: Option<String>,
}

impl Message {
    /// The message's text: `text.text`, else the WABA interactive body, else a media caption
    /// (first non-empty one).
    pub fn text(&self) -> String {
        let own = self.text.as_ref().and_then(|t| match t {
            Text::Plain(s) => Some(s.as_str()),
            Text::Object { text } => text.as_deref(),
        });
        let interactive = self.waba_interactive.as_ref().and_then(|w| w.body.as_ref()).and_then(|b| b.text.as_deref());
        let caption = self.media().find_map(|m| m.caption.as_deref().filter(|c| !c.trim().is_empty()));
        [own, interactive, caption].into_iter().flatten().find(|t| !t.trim().is_empty()).unwrap_or_default().to_owned()
    }

    /// Names of the attached files.
    pub fn files(&self) -> Vec<String> {
        self.media().filter_map(|m| m.name.as_deref()).filter(|n| !n.trim().is_empty()).map(str::to_owned).collect()
    }

    /// Whether the client wrote it.
    pub fn is_inbound(&self) -> bool {
        self.direction.as_deref().is_some_and(|d| d.trim().eq_ignore_ascii_case("inbound"))
    }

    /// The domain message; an unreadable time is a malformed answer.
    pub fn into_chat_message(self) -> Result<ChatMessage, ConnectorError> {
        let at = parse_time(&self.created_at).ok_or_else(|| {
            ConnectorError::new(
                FailureClass::Upstream,
                format!(
                    "malformed message {}: created_at {:?} is not an ISO-8601 time",
                    self.message_id.0, self.created_at
                ),
            )
        })?;
        let direction = if self.is_inbound() { Direction::Inbound } else { Direction::Outbound };
        Ok(ChatMessage { text: self.text(), files: self.files(), id: self.message_id.0, at, direction })
    }

    fn media(&self) -> impl Iterator<Item = &Media> {
        [&self.image, &self.file, &self.audio, &self.video, &self.voice].into_iter().flatten()
    }
}

/// Parses Radist's ISO-8601 times (`2026-03-01T09:15:02.123Z`, or with an offset); a time
/// without an offset is taken as UTC.
pub(crate) fn parse_time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    let ts = match text.parse::<jiff::Timestamp>() {
        Ok(ts) => ts,
        Err(_) => jiff::tz::TimeZone::UTC.to_timestamp(text.parse::<jiff::civil::DateTime>().ok()?).ok()?,
    };
    Timestamp::from_jiff(ts)
}

/// `ts` as Radist writes times: UTC, milliseconds, `Z` (`2026-03-01T09:15:02.123Z`); finer
/// precision is cut off.
pub(crate) fn format_time(ts: Timestamp) -> String {
    let millis = ts.unix_micros().div_euclid(1_000);
    let whole = jiff::Timestamp::from_millisecond(millis).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    format!("{}.{:03}Z", whole.strftime("%Y-%m-%dT%H:%M:%S"), millis.rem_euclid(1_000))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn times_parse_in_every_seen_form_and_format_with_milliseconds() {
        let ts = parse_time("2026-03-01T09:15:02.123Z").unwrap();
        assert_eq!(format_time(ts), "2026-03-01T09:15:02.123Z");
        assert_eq!(parse_time("2026-03-01T12:15:02.123+03:00"), Some(ts));
        assert_eq!(parse_time("2026-03-01T09:15:02.123"), Some(ts), "no offset means UTC");
        assert_eq!(format_time(parse_time("2026-03-01T09:15:02Z").unwrap()), "2026-03-01T09:15:02.000Z");
        assert_eq!(format_time(parse_time("2026-03-01T09:15:02.123987Z").unwrap()), "2026-03-01T09:15:02.123Z");
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn text_falls_back_from_text_to_interactive_body_to_caption_and_files_are_named() {
        let m: Message = serde_json::from_value(json!({
            "message_id": 17, "created_at": "2026-03-01T09:15:02.123Z", "direction": "INBOUND",
            "text": {"text": ""}, "image": {"name": "photo.jpg", "caption": "look"}, "voice": {"name": "v.ogg"},
        }))
        .unwrap();
        assert_eq!((m.message_id.0.as_str(), m.text().as_str(), m.is_inbound()), ("17", "look", true));
        assert_eq!(m.files(), ["photo.jpg", "v.ogg"]);
        let m: Message = serde_json::from_value(json!({
            "message_id": "m-1", "created_at": "2026-03-01T09:15:02Z", "direction": "outbound",
            "text": null, "waba_interactive": {"body": {"text": "Pick a slot"}},
        }))
        .unwrap();
        assert_eq!((m.text().as_str(), m.is_inbound(), m.files().len()), ("Pick a slot", false, 0));
        let m: Message = serde_json::from_value(json!({
            "message_id": "m-2", "created_at": "2026-03-01T09:15:02Z", "text": "plain", "file": {"name": "a.pdf"},
        }))
        .unwrap();
        assert_eq!((m.text().as_str(), m.files()), ("plain", vec!["a.pdf".to_owned()]));
    }

    #[test]
    fn lists_come_bare_or_wrapped_and_cursors_end_when_empty() {
        let bare: List<ChatSource> = serde_json::from_value(json!([{"connection_id": 1, "type": "WABA"}])).unwrap();
        let sources = bare.into_vec();
        assert!(sources[0].is_whatsapp());
        assert_eq!(sources[0].kind(), "waba");
        let wrapped: List<Company> = serde_json::from_value(json!({"companies": [{"id": 5, "name": "A"}]})).unwrap();
        assert_eq!(wrapped.into_vec()[0].id, 5);
        assert!(serde_json::from_value::<List<Company>>(json!({"unexpected": true})).is_err());
        let page: ContactsPage =
            serde_json::from_value(json!({"data": [], "response_metadata": {"next_cursor": ""}})).unwrap();
        assert_eq!(page.next_cursor(), None);
        let page: ContactsPage =
            serde_json::from_value(json!({"data": [], "response_metadata": {"next_cursor": "c2"}})).unwrap();
        assert_eq!(page.next_cursor().as_deref(), Some("c2"));
    }
}

//! Bot API wire types.

use serde::Deserialize;

/// `{ok, result}` or `{ok: false, error_code, description, parameters}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<T> {
    pub ok: bool,
    pub result: Option<T>,
    pub error_code: Option<u16>,
    pub description: Option<String>,
    pub parameters: Option<Parameters>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Parameters {
    pub retry_after: Option<u64>,
    pub migrate_to_chat_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BotUser {
    pub id: i64,
    pub is_bot: bool,
    pub first_name: Option<String>,
    pub username: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Chat {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Update {
    pub update_id: i64,
    pub message: Option<Message>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Message {
    pub message_id: i64,
    pub from: Option<BotUser>,
    pub chat: Chat,
    pub text: Option<String>,
    /// Service message in a group that became a supergroup: the supergroup's id.
    pub migrate_to_chat_id: Option<i64>,
    /// Service message in the new supergroup: the group's old id.
    pub migrate_from_chat_id: Option<i64>,
}

//! The [`Connector`] and [`Messenger`] implementations.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use synkro_core::connector::{
    Capabilities, Capability, Connector, ConnectorConfig, ConnectorContext, ConnectorError, ConnectorSpec, Delivery,
    FailureClass, Messenger, Question, Questions,
};
use tokio::sync::{OnceCell, RwLock};

use crate::{
    client::{BotApi, Sent},
    config::{PUBLIC_FIELDS, SECRET_FIELDS, TelegramConfig},
    model::{BotUser, Chat, Update},
    split::{MAX_MESSAGE_UNITS, split_message},
};

/// The Telegram connector (kind `telegram`).
#[derive(Debug, Default, Clone, Copy)]
pub struct TelegramConnector;

static SPEC: ConnectorSpec = ConnectorSpec {
    kind: "telegram",
    display_name: "Telegram",
    version: env!("CARGO_PKG_VERSION"),
    description: "Delivers reports to a Telegram chat and answers follow-up questions addressed to the bot",
    public_fields: PUBLIC_FIELDS,
    secret_fields: SECRET_FIELDS,
    capabilities: &[Capability::Messenger],
};

#[async_trait]
impl Connector for TelegramConnector {
    fn spec(&self) -> &'static ConnectorSpec {
        &SPEC
    }

    /// `getMe` proves the token; `getChat` proves the bot can see the chat. Sends nothing.
    async fn check(&self, config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<Value, ConnectorError> {
        let config = TelegramConfig::parse(config, ctx.endpoint("telegram"))?;
        let api = BotApi::new(&config, ctx)?;
        let me: BotUser = api.call("getMe", json!({})).await?;
        let chat: Chat = api.call("getChat", json!({"chat_id": config.chat_id})).await?;
        Ok(json!({"bot_id": me.id, "bot_username": me.username, "chat_id": chat.id, "chat_type": chat.kind,
            "chat_title": chat.title}))
    }

    fn build(&self, config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<Capabilities, ConnectorError> {
        let config = TelegramConfig::parse(config, ctx.endpoint("telegram"))?;
        let bot = TelegramBot {
            api: BotApi::new(&config, ctx)?,
            chat_id: RwLock::new(config.chat_id),
            username: OnceCell::new(),
        };
        Ok(Capabilities { messenger: Some(Arc::new(bot)), ..Default::default() })
    }
}

struct TelegramBot {
    api: BotApi,
    chat_id: RwLock<String>,
    username: OnceCell<String>,
}

impl TelegramBot {
    /// Sends `parts` in order, following a group → supergroup migration.
    async fn send_parts(&self, parts: Vec<String>, reply_to: Option<i64>) -> Result<Delivery, ConnectorError> {
        let total = parts.len();
        let mut moved_to = None;
        let mut sent = 0u32;
        for (i, text) in parts.into_iter().enumerate() {
            loop {
                let chat_id = self.chat_id.read().await.clone();
                let mut body = json!({"chat_id": chat_id, "text": text});
                if let (Some(message_id), 0) = (reply_to, i) {
                    body["reply_parameters"] = json!({"message_id": message_id, "allow_sending_without_reply": true});
                }
                match self.api.send_message(body).await {
                    Ok(Sent::Ok) => break,
                    Ok(Sent::Migrated(new_id)) if moved_to.is_none() => {
                        tracing::warn!(new_chat_id = new_id, "Telegram group became a supergroup; following it");
                        *self.chat_id.write().await = new_id.to_string();
                        moved_to = Some(new_id.to_string());
                    }
                    Ok(Sent::Migrated(_)) => {
                        return Err(ConnectorError::new(FailureClass::Upstream, "Telegram kept moving the chat"));
                    }
                    Err(mut e) => {
                        if sent > 0 {
                            e.message = format!("{} (after {sent} of {total} parts were sent)", e.message);
                        }
                        return Err(e);
                    }
                }
            }
            sent += 1;
        }
        Ok(Delivery { messages: sent, moved_to })
    }

    async fn username(&self) -> Result<&str, ConnectorError> {
        self.username
            .get_or_try_init(|| async {
                let me: BotUser = self.api.call("getMe", json!({})).await?;
                me.username.ok_or_else(|| ConnectorError::new(FailureClass::Upstream, "the bot has no username"))
            })
            .await
            .map(String::as_str)
    }
}

/// The question in `text` if it mentions `@username` (any case): the text without the
/// mention, trimmed; `None` if there is no mention or nothing else. `@usernamefan` mentions
/// someone else, not the bot.
pub(crate) fn question_for(text: &str, username: &str) -> Option<String> {
    let mention = format!("@{}", username.to_lowercase());
    let lower = text.to_lowercase();
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let at = lower
        .match_indices(&mention)
        .map(|(at, _)| at)
        .find(|at| !lower[at + mention.len()..].starts_with(name_char))?;
    // Byte offsets agree between `text` and `lower` only for ASCII-case changes; map by chars.
    let start = lower[..at].chars().count();
    let len = mention.chars().count();
    let before: String = text.chars().take(start).collect();
    let after: String = text.chars().skip(start + len).collect();
    let after = after.trim_start().trim_start_matches([',', ':', '—', '-']);
    let joined = format!("{} {}", before.trim_end(), after);
    let question = joined.split_whitespace().collect::<Vec<_>>().join(" ");
    (!question.is_empty()).then_some(question)
}

#[async_trait]
impl Messenger for TelegramBot {
    async fn send_text(&self, text: &str) -> Result<Delivery, ConnectorError> {
        self.send_parts(split_message(text, MAX_MESSAGE_UNITS), None).await
    }

    async fn questions(&self, offset: Option<i64>) -> Result<Questions, ConnectorError> {
        let username = self.username().await?.to_owned();
        let mut body = json!({"timeout": 0, "allowed_updates": ["message"]});
        if let Some(offset) = offset {
            body["offset"] = json!(offset);
        }
        let updates: Vec<Update> = self.api.call("getUpdates", body).await?;
        let next_offset = updates.iter().map(|u| u.update_id + 1).max().or(offset);
        let chat_id = self.chat_id.read().await.clone();
        let questions = updates
            .into_iter()
            .filter_map(|u| {
                let message = u.message?;
                let from = message.from.as_ref()?;
                if from.is_bot || message.chat.id.to_string() != chat_id {
                    return None;
                }
                let text = question_for(message.text.as_deref()?, &username)?;
                let who = from.username.clone().or(from.first_name.clone());
                Some(Question { update_id: u.update_id, text, from: who, message_id: message.message_id })
            })
            .collect();
        Ok(Questions { questions, next_offset })
    }

    async fn reply(&self, message_id: i64, text: &str) -> Result<(), ConnectorError> {
        self.send_parts(split_message(text, MAX_MESSAGE_UNITS), Some(message_id)).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::question_for;

    #[test]
    fn the_mention_is_removed_from_the_question() {
        assert_eq!(
            question_for("@Synkro_Bot why did sales drop?", "synkro_bot").as_deref(),
            Some("why did sales drop?")
        );
        assert_eq!(
            question_for("Привет, @synkro_bot: что с конверсией?", "synkro_bot").as_deref(),
            Some("Привет, что с конверсией?")
        );
        assert_eq!(question_for("no mention here", "synkro_bot"), None);
        assert_eq!(question_for("@synkro_bot", "synkro_bot"), None, "a bare mention asks nothing");
        assert_eq!(question_for("ask @synkro_bot_fan or @Synkro_Botanist", "synkro_bot"), None, "other users");
        assert_eq!(
            question_for("@synkro_botanist knows; @synkro_bot, why?", "synkro_bot").as_deref(),
            Some("@synkro_botanist knows; why?")
        );
    }
}

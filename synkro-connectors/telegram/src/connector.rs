//! The [`Connector`] and [`Messenger`] implementations.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use serde_json::{Value, json};
use synkro_core::connector::{
    Capabilities, Capability, ChatMove, Connector, ConnectorConfig, ConnectorContext, ConnectorError, ConnectorSpec,
    Delivery, FailureClass, Messenger, Question, Questions,
};
use tokio::sync::OnceCell;

use crate::{
    client::{BotApi, Sent},
    config::{TelegramConfig, TelegramSettings},
    model::{BotUser, Chat, Message, Update},
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
    public_fields: TelegramSettings::PUBLIC_FIELDS,
    secret_fields: TelegramSettings::SECRET_FIELDS,
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
        let mut found = json!({"bot_id": me.id, "bot_username": me.username, "chat_id": chat.id,
            "chat_type": chat.kind, "chat_title": chat.title});
        if let Some(alerts) = &config.alert_chat_id {
            let chat: Chat = api.call("getChat", json!({"chat_id": alerts})).await.map_err(|mut e| {
                e.message = format!("alert chat: {}", e.message);
                let hint = "the bot cannot see the alert chat: add the bot to it and check alert_chat_id";
                if matches!(e.class, FailureClass::Config | FailureClass::Permission) { e.with_hint(hint) } else { e }
            })?;
            found["alert_chat_id"] = json!(chat.id);
            found["alert_chat_title"] = json!(chat.title);
        }
        Ok(found)
    }

    fn build(&self, config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<Capabilities, ConnectorError> {
        let config = TelegramConfig::parse(config, ctx.endpoint("telegram"))?;
        let bot = TelegramBot {
            api: BotApi::new(&config, ctx)?,
            inbox: format!("telegram:{}", config.bot_id),
            chat_id: RwLock::new(config.chat_id),
            alert_chat_id: config.alert_chat_id,
            username: OnceCell::new(),
        };
        Ok(Capabilities { messenger: Some(Arc::new(bot)), ..Default::default() })
    }
}

struct TelegramBot {
    api: BotApi,
    /// `telegram:{bot id}`: every chat of one bot shares its update stream.
    inbox: String,
    /// Never held across an await.
    chat_id: RwLock<String>,
    /// The admins' chat for alerts, when set.
    alert_chat_id: Option<String>,
    username: OnceCell<String>,
}

impl TelegramBot {
    fn chat(&self) -> String {
        self.chat_id.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sends `parts` in order to the report chat, or to `to`, following a group → supergroup
    /// migration (stored, and reported in the delivery, for the report chat only).
    async fn send_parts(
        &self,
        parts: Vec<String>,
        reply_to: Option<i64>,
        to: Option<&str>,
    ) -> Result<Delivery, ConnectorError> {
        let total = parts.len();
        let mut moved_to: Option<String> = None;
        let mut sent = 0u32;
        for (i, text) in parts.into_iter().enumerate() {
            loop {
                let chat_id = match (to, &moved_to) {
                    (Some(_), Some(moved)) => moved.clone(),
                    (Some(to), None) => to.to_owned(),
                    (None, _) => self.chat(),
                };
                let mut body = json!({"chat_id": chat_id, "text": text});
                if let (Some(message_id), 0) = (reply_to, i) {
                    body["reply_parameters"] = json!({"message_id": message_id, "allow_sending_without_reply": true});
                }
                match self.api.send_message(body).await {
                    Ok(Sent::Ok) => break,
                    Ok(Sent::Migrated(new_id)) if moved_to.is_none() => {
                        tracing::warn!(new_chat_id = new_id, "Telegram group became a supergroup; following it");
                        if to.is_none() {
                            *self.chat_id.write().unwrap_or_else(|e| e.into_inner()) = new_id.to_string();
                        }
                        moved_to = Some(new_id.to_string());
                    }
                    Ok(Sent::Migrated(_)) => {
                        return Err(ConnectorError::new(FailureClass::Upstream, "Telegram kept moving the chat"));
                    }
                    Err(mut e) => {
                        if sent > 0 {
                            e.message = format!("{} (after {sent} of {total} parts were sent)", e.message);
                            // Sending again would repeat the parts that arrived: not for a retry.
                            e.retryable = false;
                        }
                        return Err(e);
                    }
                }
            }
            sent += 1;
        }
        Ok(Delivery { messages: sent, moved_to: moved_to.filter(|_| to.is_none()) })
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

/// The chat move a service message announces: `migrate_to_chat_id` in the old group,
/// `migrate_from_chat_id` in the new supergroup.
fn chat_move(message: &Message) -> Option<ChatMove> {
    let here = message.chat.id;
    let (from, to) = match (message.migrate_to_chat_id, message.migrate_from_chat_id) {
        (Some(to), _) => (here, to),
        (None, Some(from)) => (from, here),
        (None, None) => return None,
    };
    Some(ChatMove { from: from.to_string(), to: to.to_string() })
}

#[async_trait]
impl Messenger for TelegramBot {
    fn inbox(&self) -> String {
        self.inbox.clone()
    }

    fn chat_id(&self) -> String {
        self.chat()
    }

    async fn send_text(&self, text: &str) -> Result<Delivery, ConnectorError> {
        self.send_parts(split_message(text, MAX_MESSAGE_UNITS), None, None).await
    }

    async fn send_alert(&self, text: &str) -> Result<Delivery, ConnectorError> {
        self.send_parts(split_message(text, MAX_MESSAGE_UNITS), None, self.alert_chat_id.as_deref()).await
    }

    async fn questions(&self, offset: Option<i64>) -> Result<Questions, ConnectorError> {
        let username = self.username().await?.to_owned();
        let mut body = json!({"timeout": 0, "allowed_updates": ["message"]});
        if let Some(offset) = offset {
            body["offset"] = json!(offset);
        }
        let updates: Vec<Update> = self.api.call("getUpdates", body).await?;
        let next_offset = updates.iter().map(|u| u.update_id + 1).max().or(offset);
        let mut batch = Questions { questions: Vec::new(), moves: Vec::new(), next_offset };
        for update in updates {
            let Some(message) = update.message else { continue };
            if let Some(moved) = chat_move(&message) {
                if !batch.moves.contains(&moved) {
                    batch.moves.push(moved);
                }
                continue;
            }
            let Some(from) = message.from.as_ref().filter(|from| !from.is_bot) else { continue };
            let Some(text) = message.text.as_deref().and_then(|text| question_for(text, &username)) else { continue };
            batch.questions.push(Question {
                update_id: update.update_id,
                chat_id: message.chat.id.to_string(),
                text,
                from: from.username.clone().or(from.first_name.clone()),
                message_id: message.message_id,
            });
        }
        Ok(batch)
    }

    async fn reply(&self, message_id: i64, text: &str) -> Result<Delivery, ConnectorError> {
        self.send_parts(split_message(text, MAX_MESSAGE_UNITS), Some(message_id), None).await
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

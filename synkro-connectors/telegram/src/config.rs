//! Telegram settings: the bot token and the chat reports go to.

use synkro_core::{
    Secret,
    connector::{ConnectorConfig, ConnectorError, UrlSetting},
};

synkro_core::connector_settings! {
    /// Telegram settings as a tenant saves them.
    pub struct TelegramSettings {
        public {
            /// The chat reports go to: a numeric id (groups are negative) or @channelname; the
            /// bot must be a member
            chat_id: String = "-1001234567890",
            /// Where alerts about failed, rule-written or undelivered reports go (the admins'
            /// chat); without it they go to the report chat, marked as alerts
            alert_chat_id: Option<String> = "-1009876543210",
            /// Bot API server (only for a self-hosted Bot API server)
            base_url: Option<UrlSetting> = "https://api.telegram.org",
        }
        secret {
            /// The bot's token from @BotFather
            bot_token: Secret = "123456789:AAH…",
        }
    }
}

/// Parsed Telegram settings.
#[derive(Clone, Debug)]
pub struct TelegramConfig {
    /// Bot API origin.
    pub base_url: String,
    /// The bot token.
    pub token: Secret,
    /// The chat: a numeric id (in canonical form, so it compares with the ids in updates) or
    /// `@channel`.
    pub chat_id: String,
    /// The admins' chat for alerts, in the same form; `None`: alerts go to `chat_id`.
    pub alert_chat_id: Option<String>,
    /// The bot's id: the token's digits before the colon (public, unlike the token).
    pub bot_id: String,
}

impl TelegramConfig {
    /// Parses and validates; `override_base` replaces the Bot API origin (sandbox, tests).
    pub fn parse(config: &ConnectorConfig, override_base: Option<&str>) -> Result<Self, ConnectorError> {
        let settings = TelegramSettings::from_config(config)?;
        let token = settings.bot_token;
        let shape_ok = token
            .expose()
            .split_once(':')
            .is_some_and(|(id, rest)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty());
        if !shape_ok {
            return Err(ConnectorError::config(
                "bot_token",
                "is not a bot token (expected digits, a colon, then letters)",
            )
            .with_hint("copy the token @BotFather gave you, such as 123456789:AAH…"));
        }
        let bot_id = token.expose().split(':').next().unwrap_or_default().to_owned();
        let chat_id = chat("chat_id", settings.chat_id)?;
        let alert_chat_id = settings
            .alert_chat_id
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .map(|c| chat("alert_chat_id", c))
            .transpose()?;
        let base_url = override_base
            .map(str::to_owned)
            .or(settings.base_url.map(|url| url.0))
            .unwrap_or_else(|| "https://api.telegram.org".to_owned());
        Ok(Self { base_url: base_url.trim_end_matches('/').to_owned(), token, chat_id, alert_chat_id, bot_id })
    }
}

/// A chat setting in canonical form: a numeric id (`-0100` → `-100`) or `@channelname`.
fn chat(field: &'static str, chat_id: String) -> Result<String, ConnectorError> {
    let channel = chat_id.len() > 1
        && chat_id.starts_with('@')
        && chat_id[1..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    match chat_id.parse::<i64>() {
        Ok(id) => Ok(id.to_string()),
        Err(_) if channel => Ok(chat_id),
        Err(_) => Err(ConnectorError::config(field, "must be a numeric chat id or @channelname")),
    }
}

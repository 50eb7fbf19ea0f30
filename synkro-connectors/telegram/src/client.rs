//! Bot API calls: `POST {base}/bot{token}/{method}` with a JSON body, errors read from the
//! `{ok: false, error_code, description, parameters}` envelope.

use std::{sync::Arc, time::Duration};

use serde::de::DeserializeOwned;
use serde_json::Value;
use synkro_connector_kit::{HttpClient, HttpResponse, Method, RequestSpec, default_classify};
use synkro_core::connector::{ConnectorContext, ConnectorError, FailureClass, Rate};

use crate::{config::TelegramConfig, model::Envelope};

/// Telegram allows about one message per second per chat. Spacing sends 1.1 s apart (as
/// EXTERNAL_APIS.md advises) leaves room for network and scheduling jitter, so two parts never
/// reach Telegram less than a second apart and trip its flood control.
const PER_CHAT: Rate = Rate::per_second(1.0 / 1.1);

/// What `sendMessage` did.
pub(crate) enum Sent {
    /// Delivered.
    Ok,
    /// The group became a supergroup with this id; nothing was sent.
    Migrated(i64),
}

#[derive(Clone)]
pub(crate) struct BotApi {
    api: HttpClient,
    sender: HttpClient,
    base: String,
    token: synkro_core::Secret,
}

impl BotApi {
    pub(crate) fn new(config: &TelegramConfig, ctx: &ConnectorContext) -> Result<Self, ConnectorError> {
        let api = HttpClient::new("telegram", ctx)?.with_secrets([&config.token]).with_classifier(Arc::new(classify));
        let sender = api.clone().with_rate(format!("telegram:chat:{}", config.chat_id), PER_CHAT);
        Ok(Self { api, sender, base: config.base_url.clone(), token: config.token.clone() })
    }

    fn spec(&self, method: &str, body: Value) -> RequestSpec {
        RequestSpec::new(Method::POST, format!("{}/bot{}/{method}", self.base, self.token.expose())).json(body)
    }

    /// Calls a read method (`getMe`, `getChat`, `getUpdates`).
    pub(crate) async fn call<T: DeserializeOwned>(&self, method: &str, body: Value) -> Result<T, ConnectorError> {
        self.api.send_parsed(self.spec(method, body), |resp| result(resp)).await
    }

    /// Sends one message (paced per chat); a group migration comes back as [`Sent::Migrated`].
    pub(crate) async fn send_message(&self, body: Value) -> Result<Sent, ConnectorError> {
        self.sender
            .send_parsed(self.spec("sendMessage", body).accept(400), |resp| {
                // A 2xx whose body does not parse was most likely sent: retrying could deliver
                // the message twice, so count it as sent.
                let envelope: Envelope<Value> = match resp.json() {
                    Ok(envelope) => envelope,
                    Err(_) if resp.is_success() => {
                        tracing::warn!("Telegram accepted a message with an unreadable answer; not resending");
                        return Ok(Sent::Ok);
                    }
                    Err(e) => return Err(e),
                };
                match envelope.parameters.as_ref().and_then(|p| p.migrate_to_chat_id) {
                    Some(new_id) if !envelope.ok => Ok(Sent::Migrated(new_id)),
                    _ if envelope.ok => Ok(Sent::Ok),
                    _ => Err(classify(resp).unwrap_or_else(|| default_classify(resp))),
                }
            })
            .await
    }
}

fn result<T: DeserializeOwned>(resp: &HttpResponse) -> Result<T, ConnectorError> {
    let envelope: Envelope<T> = resp.json()?;
    match (envelope.ok, envelope.result) {
        (true, Some(result)) => Ok(result),
        _ => Err(ConnectorError::new(FailureClass::Upstream, "Telegram answered without a result")),
    }
}

/// Reads Telegram's error envelope: 401/404 bad token, 403 not allowed in the chat, 400 bad
/// request (chat not found, ...), 409 another reader of the bot's updates, 429 with
/// `retry_after`.
fn classify(resp: &HttpResponse) -> Option<ConnectorError> {
    let envelope: Envelope<Value> = serde_json::from_slice(&resp.body).ok()?;
    let code = envelope.error_code.unwrap_or(resp.status);
    let description = envelope.description.unwrap_or_default();
    let params = envelope.parameters.unwrap_or_default();
    // Telegram's description is read, never repeated: the message is Synkro's own words.
    let (class, what, hint) = match code {
        401 | 404 => {
            (FailureClass::Auth, "bot token refused", "Telegram refused the bot token: copy it again from @BotFather")
        }
        403 => (
            FailureClass::Permission,
            "not allowed in this chat",
            "the bot may not write to this chat: add it to the chat (or unblock it)",
        ),
        409 => (
            FailureClass::Config,
            "another reader of this bot's updates",
            "something else reads this bot's updates: delete its webhook, or stop the other program polling with \
             the same token",
        ),
        429 => (FailureClass::RateLimited, "too many requests", "Telegram asked to slow down; it will be retried"),
        400 if description.contains("chat not found") => (
            FailureClass::Config,
            "chat not found",
            "the bot cannot see this chat: add the bot to it and check chat_id",
        ),
        400 => (FailureClass::Config, "request rejected", "Telegram rejected the request"),
        500..=599 => (FailureClass::Upstream, "Telegram failed", "Telegram failed; it will be retried"),
        _ => return None,
    };
    let retry_after = params.retry_after.or_else(|| {
        description.rsplit("retry after ").next().and_then(|n| n.trim().parse().ok()).filter(|_| code == 429)
    });
    Some(
        ConnectorError::new(class, format!("HTTP {code}: {what}"))
            .with_hint(hint)
            .with_status(code)
            .with_retry_after(retry_after.map(Duration::from_secs)),
    )
}

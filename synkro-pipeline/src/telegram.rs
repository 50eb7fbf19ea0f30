//! Telegram as the pipeline sees it: a chat that moved (a group that became a supergroup) is
//! stored in the integration's settings with an audit entry, whether a report delivery or a
//! follow-up noticed it; and the tenants are grouped by the bot they use, because a bot's
//! updates are one stream for all of them (see [`crate::followup`]).

use std::{collections::BTreeMap, sync::Arc};

use serde_json::{Value, json};
use synkro_core::{
    Store, StoreError,
    connector::{ChatMove, Messenger},
    domain::{AuditAction, IntegrationConfig, NewAuditLog, Tenant},
};

use crate::{EngineError, Service};

/// The chat id stored in an integration's settings.
fn stored_chat(integration: &IntegrationConfig) -> Option<&str> {
    integration.public_config.get("chat_id").and_then(Value::as_str)
}

/// Stores that `integration`'s chat moved to `to`: `chat_id` in its settings becomes `to`, and
/// the audit log gets an `integration.chat_migrated` entry with the old and new ids and where the move
/// was noticed (`seen_in`: `delivery` or `follow-up`). Returns the updated integration, or
/// `None` when there was nothing to do: the chat already is `to`, or the settings changed
/// since `integration` was read (someone set another chat).
pub async fn record_chat_move(
    store: &Store,
    integration: &IntegrationConfig,
    to: &str,
    seen_in: &str,
) -> Result<Option<IntegrationConfig>, StoreError> {
    let Some(from) = stored_chat(integration).filter(|from| *from != to) else { return Ok(None) };
    let mut audit = NewAuditLog::new(
        AuditAction::IntegrationChatMigrated,
        format!("the {} chat became a supergroup: chat_id changed from {from} to {to}", integration.kind),
    );
    audit.tenant_id = Some(integration.tenant_id);
    audit.metadata = json!({"kind": integration.kind.as_str(), "old_chat_id": from, "new_chat_id": to,
        "seen_in": seen_in});
    let moved = store.move_integration_chat(integration.id, from, to, &audit).await?;
    if moved.is_some() {
        tracing::info!(tenant = %integration.tenant_id, old_chat_id = from, new_chat_id = to, seen_in, "chat moved");
    }
    Ok(moved)
}

/// The delivery path: delivering `tenant`'s report found the chat moved to `to`. Stores it on
/// the integration that provided the messenger, so the next delivery and the follow-ups use the
/// new chat; a failure is logged and never fails the job.
pub async fn delivery_moved_chat(store: &Store, tenant: &Tenant, kind: &str, to: &str) {
    let recorded = async {
        let kind = synkro_core::domain::ConnectorKind::new(kind)?;
        let integration = store.get_integration(tenant.id, &kind).await?;
        record_chat_move(store, &integration, to, "delivery").await
    };
    if let Err(e) = recorded.await {
        tracing::warn!(tenant = %tenant.id, new_chat_id = to, error = %e, "the chat's new id was not stored");
    }
}

/// A tenant that reads questions from a bot's updates.
pub(crate) struct Member {
    /// The tenant.
    pub tenant: Tenant,
    /// Its messenger integration as last read or written.
    pub integration: IntegrationConfig,
    /// Its messenger.
    pub messenger: Arc<dyn Messenger>,
    /// The chats its questions come from: its own, and the ones it moved to since it was built.
    chats: Vec<String>,
}

impl Member {
    /// Whether a question asked in `chat` is for this tenant.
    pub fn asked_in(&self, chat: &str) -> bool {
        self.chats.iter().any(|c| c == chat)
    }

    /// Follows `moved` if it is this tenant's chat: stores the new id (once), takes the new
    /// chat's questions from now on and answers there.
    pub async fn follow(&mut self, service: &Service, moved: &ChatMove) {
        if !self.asked_in(&moved.from) || self.asked_in(&moved.to) {
            return;
        }
        self.chats.push(moved.to.clone());
        let updated = match record_chat_move(service.store(), &self.integration, &moved.to, "follow-up").await {
            Ok(Some(updated)) => updated,
            Ok(None) => return,
            Err(e) => {
                let tenant = self.tenant.id;
                tracing::warn!(%tenant, new_chat_id = %moved.to, error = %e, "the chat's new id was not stored");
                return;
            }
        };
        match crate::wiring::messenger_of(service, &updated) {
            Ok(Some(messenger)) => self.messenger = messenger,
            Ok(None) => {}
            Err(e) => tracing::warn!(tenant = %self.tenant.id, error = %e, "the messenger was not rebuilt"),
        }
        self.integration = updated;
    }

    /// The chat it was built for.
    pub fn chat(&self) -> &str {
        &self.chats[0]
    }
}

/// Every active tenant with a messenger, grouped by the inbox (bot) it reads. Tenants whose
/// messenger cannot be built are left out (their settings say why when checked).
pub(crate) async fn members_by_inbox(service: &Service) -> Result<BTreeMap<String, Vec<Member>>, EngineError> {
    let mut inboxes: BTreeMap<String, Vec<Member>> = BTreeMap::new();
    for tenant in service.store().list_active_tenants().await? {
        match crate::wiring::build_messenger(service, &tenant).await {
            Ok(Some((integration, messenger))) => {
                let chats = vec![messenger.chat_id()];
                inboxes.entry(messenger.inbox()).or_default().push(Member { tenant, integration, messenger, chats });
            }
            Ok(None) => {}
            Err(e) => tracing::debug!(tenant = %tenant.id, error = %e, "no follow-ups: the messenger cannot be built"),
        }
    }
    Ok(inboxes)
}

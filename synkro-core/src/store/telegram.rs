//! Telegram's state in the store: one poller per bot for the whole deployment (a lease and the
//! next update offset), and chats that moved.
//!
//! Telegram confirms updates for a whole bot (every chat of every tenant using it) when
//! `getUpdates` is called with a higher offset, and answers a second poller with 409. So each
//! bot has one row: the node holding its lease polls it, the offset only moves forwards, and
//! any number of nodes may run follow-ups. A bot is named `telegram:{bot id}`, never by its
//! token.

use std::time::Duration;

use serde_json::Value;

use super::{Constraint, Store, StoreError, error::map, leases::lease_expiry, on_pool};
use crate::{
    ValidationError,
    domain::{IntegrationConfig, NewAuditLog},
    error::check_len,
    ids::{AuditId, IntegrationId},
    time::Timestamp,
};

/// A bot's update poller.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TelegramPoller {
    /// The bot, such as `telegram:123456789`.
    pub bot: String,
    /// The node polling it, while its lease lasts.
    pub lease_owner: Option<String>,
    /// When the lease runs out; another node may take it over after that.
    pub lease_expires_at: Option<Timestamp>,
    /// The offset the next `getUpdates` passes (`None` before the first update was read).
    pub next_offset: Option<i64>,
    /// When the row last changed.
    pub updated_at: Timestamp,
}

fn check_names(bot: &str, owner: &str) -> Result<(), ValidationError> {
    check_len("bot", bot, 200)?;
    check_len("owner", owner, 200)
}

impl Store {
    /// The poller of `bot`, if it was ever polled.
    pub async fn telegram_poller(&self, bot: &str) -> Result<Option<TelegramPoller>, StoreError> {
        const SQL: &str = "SELECT * FROM telegram_pollers WHERE bot = $1";
        on_pool!(self, |pool| sqlx::query_as::<_, TelegramPoller>(SQL).bind(bot).fetch_optional(pool).await)
            .map_err(map)
    }

    /// Takes (or keeps) the lease on `bot`'s poller for `owner` until `now + lease`, and returns
    /// the poller with the offset to poll from. `None` while another owner's lease lasts: only
    /// one node polls a bot at a time.
    pub async fn lease_telegram_poller(
        &self,
        bot: &str,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> Result<Option<TelegramPoller>, StoreError> {
        check_names(bot, owner)?;
        let expires = lease_expiry(now, lease)?;
        const SQL: &str = "INSERT INTO telegram_pollers AS p (bot, lease_owner, lease_expires_at, next_offset, \
            updated_at) VALUES ($1, $2, $3, NULL, $4) \
            ON CONFLICT (bot) DO UPDATE SET lease_owner = excluded.lease_owner, \
            lease_expires_at = excluded.lease_expires_at, updated_at = excluded.updated_at \
            WHERE p.lease_owner IS NULL OR p.lease_owner = excluded.lease_owner OR p.lease_expires_at IS NULL \
            OR p.lease_expires_at < excluded.updated_at \
            RETURNING *";
        on_pool!(self, |pool| {
            sqlx::query_as::<_, TelegramPoller>(SQL)
                .bind(bot)
                .bind(owner)
                .bind(expires)
                .bind(now)
                .fetch_optional(pool)
                .await
        })
        .map_err(map)
    }

    /// Saves `bot`'s next offset as `owner` and extends the lease to `now + lease`. The offset
    /// never moves backwards (a smaller one leaves the saved one), so updates are read once.
    /// Returns the saved offset, or `None` (and nothing changes) when `owner` no longer holds
    /// the lease: another node took it over, so stop polling.
    pub async fn save_telegram_offset(
        &self,
        bot: &str,
        owner: &str,
        offset: i64,
        lease: Duration,
        now: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        check_names(bot, owner)?;
        let expires = lease_expiry(now, lease)?;
        const SQL: &str = "UPDATE telegram_pollers SET next_offset = CASE WHEN next_offset IS NULL OR \
            next_offset < $3 THEN $3 ELSE next_offset END, lease_expires_at = $4, updated_at = $5 \
            WHERE bot = $1 AND lease_owner = $2 RETURNING next_offset";
        let saved: Option<Option<i64>> = on_pool!(self, |pool| {
            sqlx::query_scalar(SQL)
                .bind(bot)
                .bind(owner)
                .bind(offset)
                .bind(expires)
                .bind(now)
                .fetch_optional(pool)
                .await
        })
        .map_err(map)?;
        Ok(saved.flatten())
    }

    /// Gives up every lease `owner` holds (on shutdown), so another node polls those bots at
    /// once. Returns how many it held.
    pub async fn release_telegram_pollers(&self, owner: &str) -> Result<u64, StoreError> {
        const SQL: &str = "UPDATE telegram_pollers SET lease_owner = NULL, lease_expires_at = NULL, updated_at = $2 \
                           WHERE lease_owner = $1";
        on_pool!(self, |pool| {
            sqlx::query(SQL).bind(owner).bind(Timestamp::now()).execute(pool).await.map(|r| r.rows_affected())
        })
        .map_err(map)
    }

    /// Sets `chat_id` in an integration's public config to `to` if it still is `from`, and
    /// appends `audit` in the same transaction. `Some` with the updated integration, or `None`
    /// (nothing written) when `chat_id` is no longer `from`: it was moved already, or someone
    /// changed it. The integration's status and secrets stay as they are.
    pub async fn move_integration_chat(
        &self,
        integration: IntegrationId,
        from: &str,
        to: &str,
        audit: &NewAuditLog,
    ) -> Result<Option<IntegrationConfig>, StoreError> {
        check_len("chat_id", to, 200)?;
        audit.validate()?;
        const UPDATE: &str = "UPDATE integration_configs SET public_config = $2, updated_at = $3 \
                              WHERE id = $1 AND updated_at = $4 RETURNING *";
        const AUDIT: &str = "INSERT INTO audit_logs (id, tenant_id, actor_id, action, message, metadata, ip_address, \
                             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        // Compare-and-swap on `updated_at`: a concurrent change of the settings (or of rotated
        // tokens) makes the update miss, and the config is read again.
        for _ in 0..5 {
            let current = self.get_integration_by_id(integration).await?;
            if current.public_config.get("chat_id").and_then(Value::as_str) != Some(from) {
                return Ok(None);
            }
            let mut public = current.public_config.clone();
            public["chat_id"] = Value::String(to.to_owned());
            let now = Timestamp::now();
            let moved = on_pool!(self, |pool| async {
                let mut tx = pool.begin().await?;
                let row = sqlx::query_as::<_, IntegrationConfig>(UPDATE)
                    .bind(integration)
                    .bind(sqlx::types::Json(&public))
                    .bind(now)
                    .bind(current.updated_at)
                    .fetch_optional(&mut *tx)
                    .await?;
                if row.is_some() {
                    sqlx::query(AUDIT)
                        .bind(AuditId::new())
                        .bind(audit.tenant_id)
                        .bind(audit.actor_id)
                        .bind(audit.action)
                        .bind(&audit.message)
                        .bind(sqlx::types::Json(&audit.metadata))
                        .bind(audit.ip_address.map(|ip| ip.to_string()))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok::<_, sqlx::Error>(row)
            }
            .await)
            .map_err(map)?;
            if moved.is_some() {
                return Ok(moved);
            }
        }
        Err(StoreError::Conflict(Constraint::Other("integration_configs.updated_at".into())))
    }
}

//! Integration configs, and the store-wide secret operations: the startup self-test and
//! re-encryption under the primary key.

use super::{
    Store, StoreError,
    error::{found, map},
    on_pool,
};
use crate::{
    Error,
    domain::{ConnectorKind, IntegrationConfig, IntegrationStatus, NewIntegrationConfig},
    ids::{IntegrationId, TenantId},
    secrets::{EncryptedSecrets, Keyring},
    time::Timestamp,
};

/// What [`Store::verify_secrets`] or [`Store::reencrypt_secrets`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecretsCheck {
    /// Integration configs holding secrets.
    pub total: usize,
    /// Of those, already encrypted under the primary key (before any re-encryption).
    pub current: usize,
    /// Re-encrypted by this call (always 0 for `verify_secrets`).
    pub reencrypted: usize,
}

impl Store {
    /// Creates an integration config; a second one of the same kind for a tenant is
    /// `Conflict(IntegrationKind)`.
    pub async fn create_integration(&self, new: &NewIntegrationConfig) -> Result<IntegrationConfig, StoreError> {
        const SQL: &str = "INSERT INTO integration_configs (id, tenant_id, kind, status, public_config, \
                           secret_data_encrypted, created_at, updated_at) \
                           VALUES ($1, $2, $3, 'unknown', $4, $5, $6, $6) RETURNING *";
        on_pool!(self, |pool| {
            sqlx::query_as::<_, IntegrationConfig>(SQL)
                .bind(IntegrationId::new())
                .bind(new.tenant_id)
                .bind(&new.kind)
                .bind(sqlx::types::Json(&new.public_config))
                .bind(&new.secret_data_encrypted)
                .bind(Timestamp::now())
                .fetch_one(pool)
                .await
        })
        .map_err(map)
    }

    /// Replaces an integration's public config and secrets; its status goes back to `unknown`
    /// until the next check.
    pub async fn update_integration(
        &self,
        id: IntegrationId,
        public_config: &serde_json::Value,
        secrets: Option<&EncryptedSecrets>,
    ) -> Result<IntegrationConfig, StoreError> {
        const SQL: &str = "UPDATE integration_configs SET public_config = $2, secret_data_encrypted = $3, \
                           status = 'unknown', last_error = NULL, updated_at = $4 WHERE id = $1 RETURNING *";
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, IntegrationConfig>(SQL)
                .bind(id)
                .bind(sqlx::types::Json(public_config))
                .bind(secrets)
                .bind(Timestamp::now())
                .fetch_optional(pool)
                .await
        });
        found(row.map_err(map)?, "integration")
    }

    /// Replaces only an integration's encrypted secrets (rotated OAuth tokens); status, check
    /// results and public settings stay as they are.
    pub async fn set_integration_secrets(
        &self,
        id: IntegrationId,
        secrets: &EncryptedSecrets,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE integration_configs SET secret_data_encrypted = $2, updated_at = $3 WHERE id = $1";
        let done = on_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(id)
                .bind(secrets)
                .bind(Timestamp::now())
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        });
        found((done.map_err(map)? > 0).then_some(()), "integration")
    }

    /// An integration by id.
    pub async fn get_integration_by_id(&self, id: IntegrationId) -> Result<IntegrationConfig, StoreError> {
        const SQL: &str = "SELECT * FROM integration_configs WHERE id = $1";
        let row =
            on_pool!(self, |pool| sqlx::query_as::<_, IntegrationConfig>(SQL).bind(id).fetch_optional(pool).await);
        found(row.map_err(map)?, "integration")
    }

    /// A tenant's integration of one kind.
    pub async fn get_integration(
        &self,
        tenant: TenantId,
        kind: &ConnectorKind,
    ) -> Result<IntegrationConfig, StoreError> {
        const SQL: &str = "SELECT * FROM integration_configs WHERE tenant_id = $1 AND kind = $2";
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, IntegrationConfig>(SQL).bind(tenant).bind(kind).fetch_optional(pool).await
        });
        found(row.map_err(map)?, "integration")
    }

    /// All of a tenant's integrations, by kind.
    pub async fn list_integrations(&self, tenant: TenantId) -> Result<Vec<IntegrationConfig>, StoreError> {
        const SQL: &str = "SELECT * FROM integration_configs WHERE tenant_id = $1 ORDER BY kind";
        on_pool!(self, |pool| sqlx::query_as::<_, IntegrationConfig>(SQL).bind(tenant).fetch_all(pool).await)
            .map_err(map)
    }

    /// Records a check's outcome (`error` should already be redacted).
    pub async fn record_integration_check(
        &self,
        id: IntegrationId,
        status: IntegrationStatus,
        error: Option<&str>,
    ) -> Result<IntegrationConfig, StoreError> {
        const SQL: &str = "UPDATE integration_configs SET status = $2, last_error = $3, last_checked_at = $4 \
                           WHERE id = $1 RETURNING *";
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, IntegrationConfig>(SQL)
                .bind(id)
                .bind(status)
                .bind(error)
                .bind(Timestamp::now())
                .fetch_optional(pool)
                .await
        });
        found(row.map_err(map)?, "integration")
    }

    /// Deletes an integration config.
    pub async fn delete_integration(&self, id: IntegrationId) -> Result<(), StoreError> {
        const SQL: &str = "DELETE FROM integration_configs WHERE id = $1";
        let done = on_pool!(self, |pool| sqlx::query(SQL).bind(id).execute(pool).await.map(|r| r.rows_affected()));
        found((done.map_err(map)? > 0).then_some(()), "integration")
    }

    async fn stored_secrets(&self) -> Result<Vec<(IntegrationId, String, EncryptedSecrets)>, StoreError> {
        const SQL: &str = "SELECT id, kind, secret_data_encrypted FROM integration_configs \
                           WHERE secret_data_encrypted IS NOT NULL ORDER BY id";
        on_pool!(self, |pool| {
            sqlx::query_as::<_, (IntegrationId, String, EncryptedSecrets)>(SQL).fetch_all(pool).await
        })
        .map_err(map)
    }

    /// The startup self-test: every stored secret must decrypt with `keyring`. Refuses (with
    /// [`SecretError::Undecryptable`](crate::secrets::SecretError::Undecryptable), which names `SYNKRO_SECRET_KEYS`) when any does not, so
    /// a wrong key never turns into empty secrets that the next save would write back.
    pub async fn verify_secrets(&self, keyring: &Keyring) -> Result<SecretsCheck, Error> {
        let mut check = SecretsCheck::default();
        let mut failed = Vec::new();
        for (id, kind, token) in self.stored_secrets().await? {
            check.total += 1;
            if keyring.is_current(&token) {
                check.current += 1;
            } else if let Err(e) = keyring.decrypt(&token) {
                tracing::error!(integration = %id, kind = %kind, error = %e, "stored secrets do not decrypt");
                failed.push(e);
            }
        }
        match failed.into_iter().next() {
            Some(first) => Err(first.into()),
            None => Ok(check),
        }
    }

    /// Re-encrypts every stored secret under the keyring's primary key, so that older keys can
    /// then be removed. Safe while the service runs: each row is swapped only if it still holds
    /// the token that was read. Nothing is written unless every secret decrypts.
    pub async fn reencrypt_secrets(&self, keyring: &Keyring) -> Result<SecretsCheck, Error> {
        const SQL: &str = "UPDATE integration_configs SET secret_data_encrypted = $3 \
                           WHERE id = $1 AND secret_data_encrypted = $2";
        let check = self.verify_secrets(keyring).await?;
        let mut result = SecretsCheck { reencrypted: 0, ..check };
        for (id, _kind, token) in self.stored_secrets().await? {
            if keyring.is_current(&token) {
                continue;
            }
            let fresh = keyring.reencrypt(&token)?;
            let swapped = on_pool!(self, |pool| {
                sqlx::query(SQL).bind(id).bind(&token).bind(&fresh).execute(pool).await.map(|r| r.rows_affected())
            })
            .map_err(map)?;
            result.reencrypted += swapped as usize;
        }
        Ok(result)
    }
}

//! Personal API tokens: created with a name, shown once, looked up by the hash of the token,
//! revocable, optionally expiring.

use std::fmt;

use super::{
    Store, StoreError,
    error::{found, map},
    on_pool,
};
use crate::{
    ValidationError,
    error::check_len,
    ids::{ApiTokenId, UserId},
    time::Timestamp,
};

/// A personal API token as stored: never the token itself, only its SHA-256 and a prefix that
/// helps people tell their tokens apart.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiToken {
    /// Id.
    pub id: ApiTokenId,
    /// Whose token it is; requests made with it act as this user.
    pub user_id: UserId,
    /// What it is for, as its owner named it.
    pub name: String,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// The token's first characters, for recognising it.
    pub prefix: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last used (updated at most once a minute).
    pub last_used_at: Option<Timestamp>,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A token to store.
#[derive(Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// Whose token it is.
    pub user_id: UserId,
    /// What it is for (1-100 characters).
    pub name: String,
    /// Hex SHA-256 of the token (64 lowercase hex digits).
    pub token_hash: String,
    /// The token's first characters (at most 16).
    pub prefix: String,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
}

impl fmt::Debug for NewApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewApiToken").field("user_id", &self.user_id).field("name", &self.name).finish_non_exhaustive()
    }
}

impl NewApiToken {
    fn validate(&self) -> Result<(), ValidationError> {
        check_len("name", &self.name, 100)?;
        let hex = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if self.token_hash.len() != 64 || !hex(&self.token_hash) {
            return Err(ValidationError::new("token_hash", "must be a hex SHA-256 digest"));
        }
        if self.prefix.len() > 16 {
            return Err(ValidationError::new("prefix", "must be at most 16 characters"));
        }
        Ok(())
    }
}

impl Store {
    /// Stores a new API token.
    pub async fn create_api_token(&self, new: &NewApiToken) -> Result<ApiToken, StoreError> {
        new.validate()?;
        const SQL: &str = "INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, created_at, \
                           last_used_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, NULL) \
                           RETURNING *";
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ApiToken>(SQL)
                .bind(ApiTokenId::new())
                .bind(new.user_id)
                .bind(new.name.trim())
                .bind(&new.token_hash)
                .bind(&new.prefix)
                .bind(Timestamp::now())
                .bind(new.expires_at)
                .fetch_one(pool)
                .await
        })
        .map_err(map)
    }

    /// The token with this hash if it is neither revoked nor expired at `now`.
    pub async fn get_live_api_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<ApiToken>, StoreError> {
        const SQL: &str = "SELECT * FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
                           AND (expires_at IS NULL OR expires_at > $2)";
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ApiToken>(SQL).bind(token_hash).bind(now).fetch_optional(pool).await
        })
        .map_err(map)
    }

    /// A user's tokens (revoked ones included), newest first.
    pub async fn list_api_tokens(&self, user: UserId) -> Result<Vec<ApiToken>, StoreError> {
        const SQL: &str = "SELECT * FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC";
        on_pool!(self, |pool| sqlx::query_as::<_, ApiToken>(SQL).bind(user).fetch_all(pool).await).map_err(map)
    }

    /// Revokes one of `user`'s tokens; `NotFound` when the user has no such token. Revoking a
    /// revoked token keeps its first revocation time.
    pub async fn revoke_api_token(&self, user: UserId, id: ApiTokenId) -> Result<ApiToken, StoreError> {
        const SQL: &str = "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3) \
                           WHERE id = $1 AND user_id = $2 RETURNING *";
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, ApiToken>(SQL).bind(id).bind(user).bind(Timestamp::now()).fetch_optional(pool).await
        });
        found(row.map_err(map)?, "token")
    }

    /// Revokes every live token of a user (a password reset, deactivation); returns how many.
    pub async fn revoke_user_api_tokens(&self, user: UserId) -> Result<u64, StoreError> {
        const SQL: &str = "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL";
        on_pool!(self, |pool| {
            sqlx::query(SQL).bind(user).bind(Timestamp::now()).execute(pool).await.map(|r| r.rows_affected())
        })
        .map_err(map)
    }

    /// Records that a token was used at `now`.
    pub async fn touch_api_token(&self, id: ApiTokenId, now: Timestamp) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1";
        on_pool!(self, |pool| sqlx::query(SQL).bind(id).bind(now).execute(pool).await.map(|_| ())).map_err(map)
    }
}

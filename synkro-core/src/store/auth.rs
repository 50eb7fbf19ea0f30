//! Login sessions: created at sign-in, looked up by the hash of the cookie token, revocable.

use std::fmt;

use super::{Store, StoreError, error::map, on_pool};
use crate::{ValidationError, ids::UserId, time::Timestamp};

/// A server-side login session.
///
/// `id` is the hex SHA-256 of the token in the user's cookie; the token itself is never stored.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Session {
    /// Hex SHA-256 of the cookie token.
    pub id: String,
    /// Who signed in.
    pub user_id: UserId,
    /// The token state-changing requests must echo in `X-CSRF-Token`.
    pub csrf_token: String,
    /// When the user signed in.
    pub created_at: Timestamp,
    /// When the session stops working.
    pub expires_at: Timestamp,
    /// When it was revoked (logout), if it was.
    pub revoked_at: Option<Timestamp>,
    /// The client address at sign-in.
    pub ip: Option<String>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .field("ip", &self.ip)
            .finish_non_exhaustive()
    }
}

/// A session to create.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Hex SHA-256 of the cookie token (64 lowercase hex digits).
    pub id: String,
    /// Who signed in.
    pub user_id: UserId,
    /// The CSRF token for this session.
    pub csrf_token: String,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// The client address.
    pub ip: Option<String>,
}

impl fmt::Debug for NewSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSession").field("user_id", &self.user_id).finish_non_exhaustive()
    }
}

impl NewSession {
    fn validate(&self) -> Result<(), ValidationError> {
        if self.id.len() != 64 || !self.id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(ValidationError::new("id", "must be a hex SHA-256 digest"));
        }
        if self.csrf_token.len() < 32 {
            return Err(ValidationError::new("csrf_token", "must be at least 32 characters"));
        }
        Ok(())
    }
}

impl Store {
    /// Stores a new session.
    pub async fn create_session(&self, new: &NewSession) -> Result<Session, StoreError> {
        new.validate()?;
        const SQL: &str = "INSERT INTO sessions (id, user_id, csrf_token, created_at, expires_at, revoked_at, ip) \
                           VALUES ($1, $2, $3, $4, $5, NULL, $6) RETURNING *";
        on_pool!(self, |pool| {
            sqlx::query_as::<_, Session>(SQL)
                .bind(&new.id)
                .bind(new.user_id)
                .bind(&new.csrf_token)
                .bind(Timestamp::now())
                .bind(new.expires_at)
                .bind(&new.ip)
                .fetch_one(pool)
                .await
        })
        .map_err(map)
    }

    /// The session with this id if it is neither revoked nor expired at `now`.
    pub async fn get_live_session(&self, id: &str, now: Timestamp) -> Result<Option<Session>, StoreError> {
        const SQL: &str = "SELECT * FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2";
        on_pool!(self, |pool| sqlx::query_as::<_, Session>(SQL).bind(id).bind(now).fetch_optional(pool).await)
            .map_err(map)
    }

    /// Revokes a session; `false` when it did not exist or was already revoked.
    pub async fn revoke_session(&self, id: &str) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
        let done = on_pool!(self, |pool| {
            sqlx::query(SQL).bind(id).bind(Timestamp::now()).execute(pool).await.map(|r| r.rows_affected())
        });
        Ok(done.map_err(map)? > 0)
    }

    /// Revokes every live session of a user (password change, deactivation); returns how many.
    pub async fn revoke_user_sessions(&self, user: UserId) -> Result<u64, StoreError> {
        const SQL: &str =
            "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2";
        on_pool!(self, |pool| {
            sqlx::query(SQL).bind(user).bind(Timestamp::now()).execute(pool).await.map(|r| r.rows_affected())
        })
        .map_err(map)
    }

    /// Revokes every live session of a user except `keep` (the one changing the password);
    /// returns how many.
    pub async fn revoke_other_sessions(&self, user: UserId, keep: &str) -> Result<u64, StoreError> {
        const SQL: &str = "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND id <> $3 \
                           AND revoked_at IS NULL AND expires_at > $2";
        on_pool!(self, |pool| {
            sqlx::query(SQL).bind(user).bind(Timestamp::now()).bind(keep).execute(pool).await.map(|r| r.rows_affected())
        })
        .map_err(map)
    }

    /// Deletes sessions that expired before `before`; returns how many.
    pub async fn delete_expired_sessions(&self, before: Timestamp) -> Result<u64, StoreError> {
        const SQL: &str = "DELETE FROM sessions WHERE expires_at < $1";
        on_pool!(self, |pool| sqlx::query(SQL).bind(before).execute(pool).await.map(|r| r.rows_affected())).map_err(map)
    }
}

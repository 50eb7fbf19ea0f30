//! Login throttle counters, shared by every API node through the database.

use super::{Store, StoreError, error::map, on_pool};
use crate::time::Timestamp;

/// One throttle key's failures in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct LoginCounter {
    /// Failed (or not yet verified) attempts in the window.
    pub failures: i64,
    /// The latest attempt.
    pub last_at: Timestamp,
}

impl Store {
    /// `key`'s counter, unless its window began before `window_from` (then it has none).
    pub async fn login_counter(&self, key: &str, window_from: Timestamp) -> Result<Option<LoginCounter>, StoreError> {
        const SQL: &str = "SELECT failures, last_at FROM login_throttle WHERE key = $1 AND window_start >= $2";
        on_pool!(self, |pool| {
            sqlx::query_as::<_, LoginCounter>(SQL).bind(key).bind(window_from).fetch_optional(pool).await
        })
        .map_err(map)
    }

    /// Counts one attempt against `key` at `now`, in a new window when the current one began
    /// before `window_from`.
    pub async fn count_login_attempt(
        &self,
        key: &str,
        now: Timestamp,
        window_from: Timestamp,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO login_throttle (key, failures, window_start, last_at) VALUES ($1, 1, $2, $2) \
            ON CONFLICT (key) DO UPDATE SET \
            failures = CASE WHEN login_throttle.window_start < $3 THEN 1 ELSE login_throttle.failures + 1 END, \
            window_start = CASE WHEN login_throttle.window_start < $3 THEN $2 ELSE login_throttle.window_start END, \
            last_at = $2";
        on_pool!(self, |pool| {
            sqlx::query(SQL).bind(key).bind(now).bind(window_from).execute(pool).await.map(|_| ())
        })
        .map_err(map)
    }

    /// Takes one attempt back from `key` (it turned out to be a successful login).
    pub async fn discount_login_attempt(&self, key: &str) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE login_throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0";
        on_pool!(self, |pool| sqlx::query(SQL).bind(key).execute(pool).await.map(|_| ())).map_err(map)
    }

    /// Forgets `key`'s attempts (a successful login).
    pub async fn clear_login_counter(&self, key: &str) -> Result<(), StoreError> {
        const SQL: &str = "DELETE FROM login_throttle WHERE key = $1";
        on_pool!(self, |pool| sqlx::query(SQL).bind(key).execute(pool).await.map(|_| ())).map_err(map)
    }

    /// Deletes counters whose latest attempt is older than `before`; returns how many.
    pub async fn delete_stale_login_counters(&self, before: Timestamp) -> Result<u64, StoreError> {
        const SQL: &str = "DELETE FROM login_throttle WHERE last_at < $1";
        on_pool!(self, |pool| sqlx::query(SQL).bind(before).execute(pool).await.map(|r| r.rows_affected())).map_err(map)
    }
}

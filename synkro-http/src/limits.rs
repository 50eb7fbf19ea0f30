//! Per-user limits on what costs Synkro or a tenant something: live-progress streams held
//! open, follow-up questions (an AI call each), manual report runs (a Telegram post each) and
//! row exports (a read of the tenant's warehouse each).
//! Over a limit the API answers 429 with `Retry-After`. The limits are per API node.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use synkro_core::ids::UserId;

use crate::error::ApiError;

/// The limits; the defaults leave people ample room and an attacker little.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserLimitConfig {
    /// Live-progress streams one user may hold open at once.
    pub streams: usize,
    /// Follow-up questions per user per hour (at most a sixth of them at once).
    pub questions_per_hour: u32,
    /// Manual report runs per user per hour (at most a sixth of them at once).
    pub runs_per_hour: u32,
    /// Row exports (CSV) per user per hour (at most a sixth of them at once).
    pub exports_per_hour: u32,
}

impl Default for UserLimitConfig {
    fn default() -> Self {
        Self { streams: 10, questions_per_hour: 60, runs_per_hour: 30, exports_per_hour: 120 }
    }
}

/// What a limit is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Costly {
    /// A follow-up question.
    Question,
    /// A manual report run.
    Run,
    /// A report's rows as CSV.
    Export,
}

/// A token bucket: `tokens` left at `at`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Every user's buckets and open streams.
#[derive(Debug, Default)]
pub struct UserLimits {
    config: UserLimitConfig,
    buckets: Mutex<HashMap<(UserId, Costly), Bucket>>,
    streams: Arc<Mutex<HashMap<UserId, usize>>>,
}

/// Holds one of a user's stream places until dropped.
#[derive(Debug)]
pub struct StreamPlace {
    streams: Arc<Mutex<HashMap<UserId, usize>>>,
    user: UserId,
}

impl Drop for StreamPlace {
    fn drop(&mut self) {
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(open) = streams.get_mut(&self.user) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                streams.remove(&self.user);
            }
        }
    }
}

impl UserLimits {
    /// Limits as configured.
    pub fn new(config: UserLimitConfig) -> Self {
        Self { config, ..Self::default() }
    }

    /// Takes one `what` from `user`'s hourly allowance, or says when the next one frees.
    pub fn take(&self, user: UserId, what: Costly) -> Result<(), ApiError> {
        let per_hour = match what {
            Costly::Question => self.config.questions_per_hour,
            Costly::Run => self.config.runs_per_hour,
            Costly::Export => self.config.exports_per_hour,
        };
        let per_second = f64::from(per_hour.max(1)) / 3600.0;
        let burst = (f64::from(per_hour) / 6.0).max(1.0);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 100_000 {
            buckets.retain(|_, b| now.duration_since(b.at) < Duration::from_secs(3600));
        }
        let bucket = buckets.entry((user, what)).or_insert(Bucket { tokens: burst, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * per_second).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - bucket.tokens) / per_second).ceil();
        let what = match what {
            Costly::Question => "follow-up questions",
            Costly::Run => "manual report runs",
            Costly::Export => "report exports",
        };
        Err(ApiError::RateLimited { what, retry_after: wait as u64 })
    }

    /// A place for one more live-progress stream of `user`, held until the stream ends.
    pub fn open_stream(&self, user: UserId) -> Result<StreamPlace, ApiError> {
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        let open = streams.entry(user).or_default();
        if *open >= self.config.streams {
            return Err(ApiError::RateLimited { what: "open live-progress streams", retry_after: 5 });
        }
        *open += 1;
        Ok(StreamPlace { streams: self.streams.clone(), user })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_the_hourly_pace_and_each_user_has_their_own() {
        let limits = UserLimits::new(UserLimitConfig {
            streams: 2,
            questions_per_hour: 60,
            runs_per_hour: 6,
            exports_per_hour: 6,
        });
        let (anna, bob) = (UserId::new(), UserId::new());
        for _ in 0..10 {
            limits.take(anna, Costly::Question).unwrap();
        }
        match limits.take(anna, Costly::Question) {
            Err(ApiError::RateLimited { retry_after, .. }) => assert!((1..=60).contains(&retry_after), "{retry_after}"),
            other => panic!("{other:?}"),
        }
        limits.take(bob, Costly::Question).unwrap();
        limits.take(anna, Costly::Run).unwrap();
        assert!(limits.take(anna, Costly::Run).is_err(), "6 runs an hour allow one at once");

        let first = limits.open_stream(anna).unwrap();
        let _second = limits.open_stream(anna).unwrap();
        assert!(limits.open_stream(anna).is_err());
        drop(first);
        assert!(limits.open_stream(anna).is_ok(), "a closed stream frees its place");
    }
}

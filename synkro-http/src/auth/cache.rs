//! Signed-in callers remembered for a moment, so a busy client does not cost three database
//! reads (session or token, user, roles) on every request. Anything that changes a user's
//! access through this process forgets that user at once; other processes (several API nodes)
//! notice within the cache's lifetime, two seconds by default. A lifetime of zero turns it off.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use synkro_core::ids::UserId;

use super::Caller;

/// Most callers remembered; past it, the oldest half is forgotten.
const CAPACITY: usize = 10_000;

/// Callers by the hash of their cookie or token.
#[derive(Debug)]
pub struct CallerCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Caller)>>,
}

impl CallerCache {
    /// A cache whose entries live `ttl` (zero: nothing is remembered).
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Caller)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The caller remembered under `key`, if still fresh.
    pub fn get(&self, key: &str) -> Option<Caller> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.lock();
        let (at, caller) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| caller.clone())
    }

    /// Remembers `caller` under `key`.
    pub fn put(&self, key: String, caller: &Caller) {
        if self.ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| now.duration_since(*at) < ttl);
            if entries.len() >= CAPACITY {
                let mut ages: Vec<Instant> = entries.values().map(|(at, _)| *at).collect();
                ages.sort_unstable();
                let cutoff = ages[ages.len() / 2];
                entries.retain(|_, (at, _)| *at > cutoff);
            }
        }
        entries.insert(key, (now, caller.clone()));
    }

    /// Forgets every entry of `user` (signed out, password, roles, deactivation changed).
    pub fn forget_user(&self, user: UserId) {
        self.lock().retain(|_, (_, caller)| caller.user.id != user);
    }

    /// Forgets everything (a tenant and its roles were deleted).
    pub fn clear(&self) {
        self.lock().clear();
    }
}

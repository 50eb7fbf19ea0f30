//! Things remembered for a moment, so a busy client does not cost the same database reads on
//! every request: signed-in callers (session or token, user, roles), and for the dashboard's
//! pages the caller's profile and the tenants they open. Anything that changes them through
//! this process forgets them at once; other processes (several API nodes) notice within the
//! lifetime, two seconds by default. A lifetime of zero turns it off.

use std::{
    borrow::Borrow,
    collections::HashMap,
    hash::Hash,
    sync::Mutex,
    time::{Duration, Instant},
};

use synkro_core::ids::UserId;

use super::Caller;

/// Most entries remembered; past it, the stale ones and then the oldest half are forgotten.
const CAPACITY: usize = 10_000;

/// Values remembered by key for a fixed lifetime.
#[derive(Debug)]
pub struct Recent<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> Recent<K, V> {
    /// A cache whose entries live `ttl` (zero: nothing is remembered).
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, V)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value remembered under `key`, if still fresh.
    pub fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.lock();
        let (at, value) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    /// Remembers `value` under `key`.
    pub fn put(&self, key: K, value: &V) {
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
        entries.insert(key, (now, value.clone()));
    }

    /// Forgets `key`.
    pub fn forget(&self, key: &K) {
        self.lock().remove(key);
    }

    /// Forgets the entries whose value matches.
    pub fn forget_where(&self, matches: impl Fn(&V) -> bool) {
        self.lock().retain(|_, (_, value)| !matches(value));
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// Callers by the hash of their cookie or token.
#[derive(Debug)]
pub struct CallerCache(Recent<String, Caller>);

impl CallerCache {
    /// A cache whose entries live `ttl` (zero: nothing is remembered).
    pub fn new(ttl: Duration) -> Self {
        Self(Recent::new(ttl))
    }

    /// The caller remembered under `key`, if still fresh.
    pub fn get(&self, key: &str) -> Option<Caller> {
        self.0.get(key)
    }

    /// Remembers `caller` under `key`.
    pub fn put(&self, key: String, caller: &Caller) {
        self.0.put(key, caller);
    }

    /// Forgets every entry of `user` (signed out, password, roles, deactivation changed).
    pub fn forget_user(&self, user: UserId) {
        self.0.forget_where(|caller| caller.user.id == user);
    }

    /// Forgets everything (a tenant and its roles were deleted).
    pub fn clear(&self) {
        self.0.clear();
    }
}

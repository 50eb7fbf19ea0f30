//! Login throttling shared by every API node: attempts are counted in the database per
//! (username, address) and per address, before the password is checked. A key's first few
//! attempts in its window are free; after that each one must wait a delay that doubles with
//! every further failure (up to a cap), so guessing slows to a crawl while the account itself
//! stays usable from every other address. Refused attempts are not audited one by one: they are
//! counted per key and written as one audit entry per key and minute.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use synkro_core::{Store, store::StoreError, time::Timestamp};

use crate::config::ThrottleLimits;

/// Which of a login's two keys refused it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RefusedKey {
    /// The username from this address.
    UserAddress {
        /// Lowercased username.
        username: String,
        /// Client address.
        address: String,
    },
    /// Every username from this address.
    Address(String),
}

/// The login throttle: limits, and the refusals not yet written to the audit log.
#[derive(Debug, Default)]
pub struct Throttle {
    limits: ThrottleLimits,
    refusals: Mutex<HashMap<RefusedKey, u64>>,
}

/// A login the throttle holds back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// How long until the next attempt is looked at.
    pub wait: Duration,
    /// The key that holds it.
    pub key: RefusedKey,
}

impl Throttle {
    /// A throttle with these limits.
    pub fn new(limits: ThrottleLimits) -> Self {
        Self { limits, refusals: Mutex::default() }
    }

    /// A login's two keys: the stored name, what a refusal is noted under, and its free
    /// attempts.
    fn keys(&self, username: &str, address: Option<&str>) -> [(String, RefusedKey, u32); 2] {
        let username = username.to_lowercase();
        let address = address.unwrap_or("unknown").to_owned();
        [
            (
                format!("ua:{username}|{address}"),
                RefusedKey::UserAddress { username, address: address.clone() },
                self.limits.per_user_address,
            ),
            (format!("a:{address}"), RefusedKey::Address(address), self.limits.per_address),
        ]
    }

    /// The delay a key with `failures` attempts must keep after its latest one (`free` attempts
    /// have none).
    fn delay(&self, failures: i64, free: u32) -> Option<Duration> {
        let over = u32::try_from(failures).unwrap_or(u32::MAX).checked_sub(free)?;
        let doubled = self.limits.first_delay.saturating_mul(1_u32.checked_shl(over.min(31)).unwrap_or(u32::MAX));
        Some(doubled.min(self.limits.max_delay))
    }

    /// `Some` when this login must wait: the longer of its two keys' remaining delays.
    pub async fn held(&self, store: &Store, username: &str, address: Option<&str>) -> Result<Option<Held>, StoreError> {
        let now = Timestamp::now();
        let window_from = self.window_start(now);
        let mut held: Option<Held> = None;
        for (key, refused, free) in self.keys(username, address) {
            let Some(counter) = store.login_counter(&key, window_from).await? else { continue };
            let Some(delay) = self.delay(counter.failures, free) else { continue };
            let until =
                counter.last_at.unix_micros().saturating_add(i64::try_from(delay.as_micros()).unwrap_or(i64::MAX));
            let left = until - now.unix_micros();
            if left > 0 {
                let wait = Duration::from_micros(left.unsigned_abs());
                if held.as_ref().is_none_or(|h| wait > h.wait) {
                    held = Some(Held { wait, key: refused });
                }
            }
        }
        Ok(held)
    }

    /// Counts an attempt against both keys, before its password is checked.
    pub async fn count(&self, store: &Store, username: &str, address: Option<&str>) -> Result<(), StoreError> {
        let now = Timestamp::now();
        let window_from = self.window_start(now);
        for (key, _, _) in self.keys(username, address) {
            store.count_login_attempt(&key, now, window_from).await?;
        }
        Ok(())
    }

    /// After a sign-in: forgets the username's attempts from this address, and takes this
    /// attempt back from the address (which counts failures: an office behind one address
    /// signs in all day).
    pub async fn succeed(&self, store: &Store, username: &str, address: Option<&str>) -> Result<(), StoreError> {
        let [(user_key, _, _), (address_key, _, _)] = self.keys(username, address);
        store.clear_login_counter(&user_key).await?;
        store.discount_login_attempt(&address_key).await
    }

    /// Notes a refused attempt, for the next audit summary.
    pub fn refused(&self, key: RefusedKey) {
        *self.refusals.lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_default() += 1;
    }

    /// The refusals noted since the last call, each with its count.
    pub fn take_refusals(&self) -> Vec<(RefusedKey, u64)> {
        let mut refusals = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
        refusals.drain().collect()
    }

    /// Deletes the counters whose latest attempt is older than the window.
    pub async fn forget_stale(&self, store: &Store) -> Result<u64, StoreError> {
        store.delete_stale_login_counters(self.window_start(Timestamp::now())).await
    }

    /// When a window that ends `now` began (the Unix epoch when that is before it).
    fn window_start(&self, now: Timestamp) -> Timestamp {
        let span = i64::try_from(self.limits.window.as_micros()).unwrap_or(i64::MAX);
        Timestamp::from_unix_micros(now.unix_micros().saturating_sub(span).max(0)).unwrap_or(now)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn delays_start_after_the_free_attempts_and_double_up_to_the_cap() {
        let limits = ThrottleLimits {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            ..ThrottleLimits::default()
        };
        let t = Throttle::new(limits);
        assert_eq!(t.delay(4, 5), None);
        assert_eq!(t.delay(5, 5), Some(Duration::from_secs(1)));
        assert_eq!(t.delay(6, 5), Some(Duration::from_secs(2)));
        assert_eq!(t.delay(9, 5), Some(Duration::from_secs(16)));
        assert_eq!(t.delay(12, 5), Some(Duration::from_secs(60)), "capped");
        assert_eq!(t.delay(500, 5), Some(Duration::from_secs(60)), "no overflow");
    }
}

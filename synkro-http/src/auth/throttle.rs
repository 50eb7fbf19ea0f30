//! Login throttling in memory: failures per username and per client address in a sliding
//! window; over the limit, logins answer 429 until the oldest failure ages out.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::config::ThrottleLimits;

/// Failed-login counters.
#[derive(Debug, Default)]
pub struct Throttle {
    limits: ThrottleLimits,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    /// Counters with these limits.
    pub fn new(limits: ThrottleLimits) -> Self {
        Self { limits, failures: Mutex::default() }
    }

    fn keys(username: &str, ip: Option<&str>) -> (String, Option<String>) {
        (format!("u:{}", username.to_lowercase()), ip.map(|ip| format!("ip:{ip}")))
    }

    /// `Some(wait)` when this username or address has used up its failures.
    pub fn blocked(&self, username: &str, ip: Option<&str>, now: Instant) -> Option<Duration> {
        let (user_key, ip_key) = Self::keys(username, ip);
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let window = self.limits.window;
        let mut check = |key: &str, limit: usize| -> Option<Duration> {
            let list = map.get_mut(key)?;
            while list.front().is_some_and(|t| now.duration_since(*t) >= window) {
                list.pop_front();
            }
            (list.len() >= limit).then(|| list.front().map_or(window, |t| window.saturating_sub(now - *t)))
        };
        let by_user = check(&user_key, self.limits.per_username);
        let by_ip = ip_key.and_then(|k| check(&k, self.limits.per_ip));
        by_user.into_iter().chain(by_ip).max()
    }

    /// Counts a failed login.
    pub fn fail(&self, username: &str, ip: Option<&str>, now: Instant) {
        let (user_key, ip_key) = Self::keys(username, ip);
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            let window = self.limits.window;
            map.retain(|_, list| list.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        map.entry(user_key).or_default().push_back(now);
        if let Some(ip_key) = ip_key {
            map.entry(ip_key).or_default().push_back(now);
        }
    }

    /// Forgets a username's failures after a successful login.
    pub fn succeed(&self, username: &str) {
        let (user_key, _) = Self::keys(username, None);
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(&user_key);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_releases_after_the_window() {
        let limits = ThrottleLimits { per_username: 3, per_ip: 5, window: Duration::from_secs(60) };
        let t = Throttle::new(limits);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(t.blocked("anna", Some("192.0.2.1"), start), None);
            t.fail("anna", Some("192.0.2.1"), start);
        }
        let wait = t.blocked("Anna", Some("192.0.2.9"), start + Duration::from_secs(10)).unwrap();
        assert_eq!(wait, Duration::from_secs(50), "usernames match case-insensitively");
        assert_eq!(t.blocked("anna", None, start + Duration::from_secs(60)), None, "failures age out");
        t.fail("bob", Some("192.0.2.1"), start);
        t.fail("carl", Some("192.0.2.1"), start);
        assert!(t.blocked("dora", Some("192.0.2.1"), start).is_some(), "five failures from one address");
        assert!(t.blocked("dora", Some("192.0.2.2"), start).is_none());
        t.succeed("anna");
        assert!(t.blocked("anna", Some("192.0.2.3"), start).is_none(), "success clears the username");
    }
}

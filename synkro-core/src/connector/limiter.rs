//! The in-process rate limiter: evenly spaced requests per key, with a safety margin.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use async_trait::async_trait;
use tokio::time::Instant;

use super::{Rate, RateLimiter};

/// How far below each rate limiters pace by default: 3 %, so 8 requests at 7/s span at least
/// 1.03 s. The spare 30 ms of a one-second window absorb the jitter between claiming a slot
/// and the request reaching the server (task scheduling, the HTTP client, the server's own
/// scheduling) on a busy machine; 1.5 % was measured to be too little (docs/benchmarks.md,
/// scenario f).
pub const DEFAULT_MARGIN: f64 = 0.03;

/// Spaces requests under each key evenly at slightly below the allowed rate (by `margin`,
/// [`DEFAULT_MARGIN`] by default), so that arrival jitter never pushes the server's count over
/// its limit while the achieved rate stays within a few percent of it. A slot is confirmed when its caller
/// actually wakes: a caller that wakes late pushes the next slot back instead of letting the
/// next request follow it closer than the spacing (the burst that would otherwise reach the
/// server). Keys are independent: one slow account never delays another. For several
/// processes use a shared (Redis) limiter instead.
#[derive(Debug)]
pub struct InProcessRateLimiter {
    next_slot: Mutex<HashMap<String, Instant>>,
    margin: f64,
}

impl Default for InProcessRateLimiter {
    fn default() -> Self {
        Self::new(DEFAULT_MARGIN)
    }
}

impl InProcessRateLimiter {
    /// A limiter that paces at `(1 - margin)` of each requested rate.
    pub fn new(margin: f64) -> Self {
        Self { next_slot: Mutex::new(HashMap::new()), margin: margin.clamp(0.0, 0.5) }
    }

    /// Takes the key's next slot if it has come; otherwise says when it comes.
    fn try_claim(&self, key: &str, interval: Duration) -> Result<(), Instant> {
        let now = Instant::now();
        let mut slots = self.next_slot.lock().unwrap_or_else(|e| e.into_inner());
        let next = slots.entry(key.to_owned()).or_insert(now);
        if *next <= now {
            *next = now + interval;
            Ok(())
        } else {
            Err(*next)
        }
    }
}

#[async_trait]
impl RateLimiter for InProcessRateLimiter {
    async fn acquire(&self, key: &str, rate: Rate) {
        let interval = rate.interval().div_f64(1.0 - self.margin);
        while let Err(slot) = self.try_claim(key, interval) {
            tokio::time::sleep_until(slot).await;
        }
    }

    async fn penalize(&self, key: &str, pause: Duration) {
        let until = Instant::now() + pause;
        let mut slots = self.next_slot.lock().unwrap_or_else(|e| e.into_inner());
        let next = slots.entry(key.to_owned()).or_insert(until);
        *next = (*next).max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_per_key_and_keys_do_not_wait_for_each_other() {
        let limiter = InProcessRateLimiter::new(0.0);
        let rate = Rate::per_second(10.0);
        let start = Instant::now();
        for _ in 0..5 {
            limiter.acquire("amocrm:a", rate).await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(400), "five requests at 10/s take 0.4 s");
        let other = Instant::now();
        limiter.acquire("amocrm:b", rate).await;
        assert_eq!(other.elapsed(), Duration::ZERO, "another account is not held up");
    }

    #[tokio::test(start_paused = true)]
    async fn a_penalty_holds_every_caller_of_the_key() {
        let limiter = InProcessRateLimiter::new(0.0);
        limiter.penalize("k", Duration::from_secs(2)).await;
        let start = Instant::now();
        limiter.acquire("k", Rate::per_second(100.0)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn the_margin_keeps_the_pace_just_under_the_limit() {
        let limiter = InProcessRateLimiter::default();
        let start = Instant::now();
        for _ in 0..8 {
            limiter.acquire("k", Rate::per_second(7.0)).await;
        }
        let span = start.elapsed();
        assert!(span > Duration::from_secs(1), "8 requests at 7/s never fit in one second: {span:?}");
        // The paused clock wakes sleepers on whole milliseconds: up to 1 ms late per request.
        let paced = Duration::from_secs_f64(1.0 / (1.0 - DEFAULT_MARGIN) + 0.008);
        assert!(span < paced, "but stay within the margin: {span:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_are_spaced_by_at_least_the_interval() {
        let limiter = std::sync::Arc::new(InProcessRateLimiter::new(0.0));
        let rate = Rate::per_second(20.0);
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move {
                    limiter.acquire("k", rate).await;
                    Instant::now()
                })
            })
            .collect();
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap_or_else(|_| Instant::now()));
        }
        times.sort();
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_millis(50), "{:?}", pair[1] - pair[0]);
        }
    }
}

//! The rate limiter shared by every worker process: GCRA in one Lua script on Redis's clock.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use redis::{Script, aio::ConnectionManager};
use synkro_connector_kit::InProcessRateLimiter;
use synkro_core::connector::{Rate, RateLimiter};

/// Reserves the next slot of a key. GCRA with no burst allowance: the key holds the theoretical
/// arrival time of the next request (microseconds on Redis's own clock), so every process
/// agrees on it whatever its own clock says. Returns how long the caller waits, in microseconds.
/// The key expires a second after its slot passes (a missing key means "free now").
const ACQUIRE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = math.max(tonumber(redis.call('GET', KEYS[1])) or now, now)
local after = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', after),
  'PX', string.format('%.0f', math.ceil((after - now) / 1000) + 1000))
return slot - now
";

/// Holds a key: its next slot becomes at least now + pause (microseconds).
const PENALIZE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = math.max(tonumber(redis.call('GET', KEYS[1])) or now, now + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%.0f', slot),
  'PX', string.format('%.0f', math.ceil((slot - now) / 1000) + 1000))
return 0
";

/// Longest wait for Redis before a call paces in-process instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(300);
/// After a failure, calls pace in-process this long before one of them tries Redis again.
const RETRY_REDIS_AFTER: Duration = Duration::from_secs(1);
/// At most one warning per this period while Redis keeps failing.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// A rate limiter shared by every process that uses the same Redis and prefix: GCRA in one Lua
/// script (the script reads Redis's own TIME, so clocks of different machines do not matter; it
/// reserves the next slot atomically and returns how long the caller must wait). Keys:
/// `"{prefix}:rate:{key}"`, expiring shortly after their slot passes. N workers together keep
/// every key at or under its rate.
///
/// Pacing matches the in-process limiter: requests under a key are evenly spaced at
/// `(1 - margin)` of the rate (margin 1.5 % by default), and keys never wait for each other.
///
/// When Redis fails or is slower than 300 ms, the call logs a warning (at most once a minute)
/// and paces with an in-process limiter instead; for the next second calls go straight to it,
/// then one call tries Redis again. An outage thus slows nothing down beyond one process's
/// pace and loses no work.
///
/// ```no_run
/// # async fn demo() -> Result<(), synkro_pipeline::redis::RedisError> {
/// use synkro_core::connector::{Rate, RateLimiter};
/// use synkro_pipeline::redis::{RedisRateLimiter, connect};
///
/// let limiter = RedisRateLimiter::new(connect("redis://127.0.0.1:6379").await?, "synkro");
/// limiter.acquire("amocrm:acme", Rate::per_second(7.0)).await;
/// # Ok(()) }
/// ```
pub struct RedisRateLimiter {
    conn: ConnectionManager,
    prefix: String,
    margin: f64,
    fallback: InProcessRateLimiter,
    acquire: Script,
    penalize: Script,
    health: Mutex<Health>,
}

/// Whether Redis is currently being avoided, and when we last complained about it.
#[derive(Debug, Default)]
struct Health {
    /// Set while Redis is failing: calls before this instant pace in-process.
    retry_redis_at: Option<Instant>,
    last_warning: Option<Instant>,
}

impl RedisRateLimiter {
    /// A limiter on `conn` whose keys start with `prefix` (e.g. `synkro`).
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> Self {
        Self {
            conn,
            prefix: prefix.into(),
            margin: 0.015,
            fallback: InProcessRateLimiter::new(0.015),
            acquire: Script::new(ACQUIRE),
            penalize: Script::new(PENALIZE),
            health: Mutex::new(Health::default()),
        }
    }

    /// Paces at `(1 - margin)` of each requested rate (default 0.015; clamped to 0..=0.5).
    pub fn with_margin(mut self, margin: f64) -> Self {
        self.margin = margin.clamp(0.0, 0.5);
        self.fallback = InProcessRateLimiter::new(self.margin);
        self
    }

    fn redis_key(&self, key: &str) -> String {
        format!("{}:rate:{key}", self.prefix)
    }

    /// Runs `script` on `key` with one argument in microseconds; `None` when Redis is being
    /// avoided or failed (the failure is recorded).
    async fn run(&self, script: &Script, key: &str, micros: u64) -> Option<i64> {
        if !self.redis_usable() {
            return None;
        }
        let mut invocation = script.prepare_invoke();
        invocation.key(self.redis_key(key)).arg(micros);
        let mut conn = self.conn.clone();
        match tokio::time::timeout(REDIS_TIMEOUT, invocation.invoke_async::<i64>(&mut conn)).await {
            Ok(Ok(value)) => {
                self.recovered();
                Some(value)
            }
            Ok(Err(e)) => {
                self.failed(&e.to_string());
                None
            }
            Err(_) => {
                self.failed("no reply within 300 ms");
                None
            }
        }
    }

    /// Whether this call should use Redis. While Redis is failing, the first call after the
    /// retry instant gets to try it (and pushes the instant on for everyone else).
    fn redis_usable(&self) -> bool {
        let mut health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        match health.retry_redis_at {
            None => true,
            Some(at) if Instant::now() >= at => {
                health.retry_redis_at = Some(Instant::now() + RETRY_REDIS_AFTER);
                true
            }
            Some(_) => false,
        }
    }

    fn failed(&self, reason: &str) {
        let now = Instant::now();
        let warn = {
            let mut health = self.health.lock().unwrap_or_else(|e| e.into_inner());
            health.retry_redis_at = Some(now + RETRY_REDIS_AFTER);
            let warn = health.last_warning.is_none_or(|at| now.duration_since(at) >= WARN_EVERY);
            if warn {
                health.last_warning = Some(now);
            }
            warn
        };
        if warn {
            tracing::warn!(prefix = %self.prefix, error = reason, "redis rate limiter unavailable, pacing in-process");
        }
    }

    fn recovered(&self) {
        let was_down = self.health.lock().unwrap_or_else(|e| e.into_inner()).retry_redis_at.take().is_some();
        if was_down {
            tracing::info!(prefix = %self.prefix, "redis rate limiter available again");
        }
    }
}

impl std::fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimiter").field("prefix", &self.prefix).field("margin", &self.margin).finish()
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn acquire(&self, key: &str, rate: Rate) {
        let interval = rate.interval().div_f64(1.0 - self.margin);
        match self.run(&self.acquire, key, micros(interval).max(1)).await {
            Some(wait) => tokio::time::sleep(Duration::from_micros(wait.max(0).unsigned_abs())).await,
            None => self.fallback.acquire(key, rate).await,
        }
    }

    async fn penalize(&self, key: &str, pause: Duration) {
        // The local limiter learns every penalty too, so it holds even if Redis fails next.
        self.fallback.penalize(key, pause).await;
        self.run(&self.penalize, key, micros(pause)).await;
    }
}

//! The rate limiter shared by every worker process: one Lua script on Redis's clock.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use redis::{FromRedisValue, Script, ScriptInvocation, aio::ConnectionManager};
use synkro_core::connector::{DEFAULT_MARGIN, InProcessRateLimiter};
use synkro_core::connector::{Rate, RateLimiter};

/// Claims the key's slot if it has come. `KEYS[1]` holds when the key is next free
/// (microseconds on Redis's own clock, so every process agrees whatever its own clock says);
/// `KEYS[2]` holds when this prefix's limiter state began (it has no expiry, so if it is
/// missing Redis lost its data). `ARGV[1]` is the interval, `ARGV[2]` the caller's floor: the
/// latest "next free" it was told, which a flush cannot make it forget.
///
/// A missing slot after the state began is an idle key: free now. A missing slot while the
/// state is younger than one interval may be one Redis forgot, claimed at the latest when the
/// loss was noticed: free one interval after that. So a flush or a restart never lets two
/// claims come closer than the interval.
///
/// Returns `{0, claimed_at}` when the caller claimed the slot, else `{wait, next_free}`; the
/// caller sleeps `wait` and asks again, so a caller that wakes late claims late, and the
/// requests behind it keep their spacing. The slot key expires a second after it frees.
const ACQUIRE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local stored = tonumber(redis.call('GET', KEYS[1]))
local next = stored
if not next then
  local began = tonumber(redis.call('GET', KEYS[2]))
  if not began then
    began = now
    redis.call('SET', KEYS[2], string.format('%.0f', now))
  end
  next = math.max(now, began + interval)
end
next = math.max(next, tonumber(ARGV[2]))
if next <= now then
  local after = now + interval
  redis.call('SET', KEYS[1], string.format('%.0f', after),
    'PX', string.format('%.0f', math.ceil(interval / 1000) + 1000))
  return {0, now}
end
if stored ~= next then
  redis.call('SET', KEYS[1], string.format('%.0f', next),
    'PX', string.format('%.0f', math.ceil((next - now) / 1000) + 1000))
end
return {next - now, next}
";

/// Holds a key: its next slot becomes at least now + `ARGV[1]` (microseconds). Returns when
/// the key is next free.
const PENALIZE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local next = math.max(tonumber(redis.call('GET', KEYS[1])) or now, now + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%.0f', next),
  'PX', string.format('%.0f', math.ceil((next - now) / 1000) + 1000))
return next
";

/// Longest wait for Redis before a call paces in-process instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(300);
/// After a failure, calls pace in-process this long before one of them tries Redis again.
const RETRY_REDIS_AFTER: Duration = Duration::from_secs(1);
/// At most one warning per this period while Redis keeps failing.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// A rate limiter shared by every process that uses the same Redis and prefix: one Lua script
/// (it reads Redis's own TIME, so clocks of different machines do not matter) claims a key's
/// slot when it has come and otherwise says how long to wait. Keys: `"{prefix}:rate:{key}"`,
/// expiring a second after they free, and `"{prefix}:rate-began"`, which tells an idle key
/// from one Redis forgot. N workers together keep every key at or under its rate.
///
/// Pacing matches the in-process limiter: requests under a key are spaced at `(1 - margin)` of
/// the rate (margin [`DEFAULT_MARGIN`] unless set), a slot is claimed only when its caller
/// wakes (so a caller that wakes late never brings the next request closer), and keys never
/// wait for each other.
///
/// Redis losing its data (`FLUSHDB`, a restart without persistence) never raises the rate:
/// the first claims of a key after the loss wait one interval, and each process passes the
/// latest "next free" it was told (including holds after a 429) as a floor that the script
/// honours and writes back.
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
    /// Per key, the latest time (µs on Redis's clock) this process was told the key is next
    /// free: passed to the script as a floor, so a flush cannot make the key free sooner.
    floors: Mutex<HashMap<String, i64>>,
    health: Mutex<Health>,
}

/// Whether Redis is currently being avoided, and when we last complained about it.
#[derive(Debug, Default)]
struct Health {
    /// Set while Redis is failing: calls before this instant pace in-process.
    retry_redis_at: Option<Instant>,
    last_warning: Option<Instant>,
}

/// Floors kept before the ones already past are dropped.
const FLOORS_KEPT: usize = 1024;

impl RedisRateLimiter {
    /// A limiter on `conn` whose keys start with `prefix` (e.g. `synkro`).
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> Self {
        Self {
            conn,
            prefix: prefix.into(),
            margin: DEFAULT_MARGIN,
            fallback: InProcessRateLimiter::new(DEFAULT_MARGIN),
            acquire: Script::new(ACQUIRE),
            penalize: Script::new(PENALIZE),
            floors: Mutex::new(HashMap::new()),
            health: Mutex::new(Health::default()),
        }
    }

    /// Paces at `(1 - margin)` of each requested rate (default [`DEFAULT_MARGIN`]; clamped to
    /// 0..=0.5).
    pub fn with_margin(mut self, margin: f64) -> Self {
        self.margin = margin.clamp(0.0, 0.5);
        self.fallback = InProcessRateLimiter::new(self.margin);
        self
    }

    /// Like [`RateLimiter::acquire`], and says when the slot was claimed: microseconds since
    /// the Unix epoch on Redis's clock, the one clock every process shares; `None` when Redis
    /// was unavailable and the call paced in-process instead.
    pub async fn acquire_slot(&self, key: &str, rate: Rate) -> Option<i64> {
        let interval = micros(rate.interval().div_f64(1.0 - self.margin)).max(1);
        let (slot_key, began_key) = (self.redis_key(key), format!("{}:rate-began", self.prefix));
        loop {
            let mut invocation = self.acquire.prepare_invoke();
            invocation.key(&slot_key).key(&began_key).arg(interval).arg(self.floor(key));
            let Some((wait, at)) = self.run::<(i64, i64)>(&invocation).await else {
                self.fallback.acquire(key, rate).await;
                return None;
            };
            if wait <= 0 {
                self.raise_floor(key, at.saturating_add_unsigned(interval), at);
                return Some(at);
            }
            self.raise_floor(key, at, at - wait);
            tokio::time::sleep(Duration::from_micros(wait.unsigned_abs())).await;
        }
    }

    fn redis_key(&self, key: &str) -> String {
        format!("{}:rate:{key}", self.prefix)
    }

    fn floor(&self, key: &str) -> i64 {
        self.floors.lock().unwrap_or_else(|e| e.into_inner()).get(key).copied().unwrap_or(0)
    }

    /// Remembers that `key` is not free before `next` (`now` is Redis's time of that answer).
    fn raise_floor(&self, key: &str, next: i64, now: i64) {
        let mut floors = self.floors.lock().unwrap_or_else(|e| e.into_inner());
        if floors.len() >= FLOORS_KEPT && !floors.contains_key(key) {
            floors.retain(|_, floor| *floor > now);
        }
        let floor = floors.entry(key.to_owned()).or_insert(next);
        *floor = (*floor).max(next);
    }

    /// Runs a prepared script; `None` when Redis is being avoided or failed (the failure is
    /// recorded).
    async fn run<T: FromRedisValue>(&self, invocation: &ScriptInvocation<'_>) -> Option<T> {
        if !self.redis_usable() {
            return None;
        }
        let mut conn = self.conn.clone();
        match tokio::time::timeout(REDIS_TIMEOUT, invocation.invoke_async::<T>(&mut conn)).await {
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
        self.acquire_slot(key, rate).await;
    }

    async fn penalize(&self, key: &str, pause: Duration) {
        // The local limiter learns every penalty too, so it holds even if Redis fails next.
        self.fallback.penalize(key, pause).await;
        let mut invocation = self.penalize.prepare_invoke();
        invocation.key(self.redis_key(key)).arg(micros(pause));
        if let Some(next) = self.run::<i64>(&invocation).await {
            self.raise_floor(key, next, next.saturating_sub_unsigned(micros(pause)));
        }
    }
}

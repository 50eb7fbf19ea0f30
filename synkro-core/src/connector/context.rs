//! What a connector gets from its host: the rate limiter shared by every worker, request
//! counters, a place to persist rotated tokens, HTTP settings and endpoint overrides.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use serde::Serialize;

use super::{ConnectorError, OutboundPolicy};
use crate::secrets::SecretMap;

/// A request rate: at most `per_second` requests per second, evenly spaced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests per second.
    pub per_second: f64,
}

impl Rate {
    /// `n` requests per second.
    pub const fn per_second(n: f64) -> Self {
        Self { per_second: n }
    }

    /// The spacing between two requests at this rate.
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.per_second.max(f64::MIN_POSITIVE))
    }
}

/// Paces requests per upstream account. Keys name the account, not the tenant (`amocrm:acme`),
/// so tenants that share an account share its budget. Implementations: in-process (one
/// process) and Redis (every worker of a deployment).
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Waits until one more request under `key` fits in `rate`, then claims it.
    async fn acquire(&self, key: &str, rate: Rate);

    /// Tells the limiter the service answered 429 for `key`: hold every request under that
    /// key for `pause` (all callers, not only the one that was refused).
    async fn penalize(&self, key: &str, pause: Duration);
}

/// Receives rotated OAuth tokens for one integration. The connector hands the new secret
/// fields over before it uses them, so a crash never loses the only valid refresh token.
#[async_trait]
pub trait TokenSink: Send + Sync {
    /// Persists the integration's new secret fields (the whole map).
    async fn store(&self, secrets: &SecretMap) -> Result<(), ConnectorError>;

    /// The integration's newest secret fields, when they may be newer than the ones the
    /// connector was built with (another instance refreshed meanwhile). Refresh tokens are
    /// single-use, so a connector reads this under the refresh lock before refreshing.
    async fn latest(&self) -> Result<Option<SecretMap>, ConnectorError> {
        Ok(None)
    }
}

/// Named async locks shared by every connector a host builds (e.g. one OAuth refresh at a
/// time per integration).
#[derive(Debug, Default)]
pub struct KeyedLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl KeyedLocks {
    /// Waits for the lock named `key` and holds it until the guard is dropped.
    pub async fn lock(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            locks.entry(key.to_owned()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

/// Small values shared by every connector a host builds, each kept for a while (e.g. an
/// account's stage and manager names, which change rarely and cost requests on every report).
#[derive(Default)]
pub struct SharedCache {
    entries: Mutex<HashMap<String, CacheEntry>>,
}

/// When a cached value was stored, and the value.
type CacheEntry = (std::time::Instant, Arc<dyn std::any::Any + Send + Sync>);

impl SharedCache {
    /// The value under `key` if it is younger than `ttl` and of type `T`.
    pub fn get<T: Send + Sync + 'static>(&self, key: &str, ttl: Duration) -> Option<Arc<T>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (at, value) = entries.get(key)?;
        (at.elapsed() < ttl).then(|| value.clone().downcast::<T>().ok()).flatten()
    }

    /// Stores `value` under `key`.
    pub fn put<T: Send + Sync + 'static>(&self, key: &str, value: Arc<T>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(key.to_owned(), (std::time::Instant::now(), value));
    }
}

impl std::fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.lock().map(|e| e.len()).unwrap_or_default();
        write!(f, "SharedCache({n} entries)")
    }
}

/// A sink that keeps nothing (checks, tests, tokens that never rotate).
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardTokens;

#[async_trait]
impl TokenSink for DiscardTokens {
    async fn store(&self, _secrets: &SecretMap) -> Result<(), ConnectorError> {
        Ok(())
    }
}

/// Counters per connector kind, for metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KindCounters {
    /// HTTP requests sent (retries included).
    pub requests: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// Retries made.
    pub retries: u64,
    /// Requests that failed for good.
    pub failures: u64,
}

/// Request counters per connector kind, shared by every connector a host builds.
#[derive(Debug, Default)]
pub struct ConnectorMetrics {
    by_kind: Mutex<HashMap<&'static str, KindCounters>>,
}

impl ConnectorMetrics {
    /// Applies `f` to `kind`'s counters.
    pub fn record(&self, kind: &'static str, f: impl FnOnce(&mut KindCounters)) {
        if let Ok(mut map) = self.by_kind.lock() {
            f(map.entry(kind).or_default());
        }
    }

    /// A copy of every kind's counters, sorted by kind.
    pub fn snapshot(&self) -> BTreeMap<&'static str, KindCounters> {
        self.by_kind.lock().map(|map| map.iter().map(|(k, v)| (*k, *v)).collect()).unwrap_or_default()
    }

    /// One kind's counters.
    pub fn get(&self, kind: &str) -> KindCounters {
        self.by_kind.lock().ok().and_then(|map| map.get(kind).copied()).unwrap_or_default()
    }
}

/// Timeouts and retry limits for outgoing requests.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for a whole request, body included.
    pub request_timeout: Duration,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff delay; doubles per attempt.
    pub backoff_base: Duration,
    /// Longest backoff delay, and longest server-requested delay honoured.
    pub backoff_cap: Duration,
    /// Hard limit for a credential check.
    pub check_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_attempts: 5,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(30),
            check_timeout: Duration::from_secs(15),
        }
    }
}

/// Everything a connector gets from its host when it checks or builds.
#[derive(Clone)]
pub struct ConnectorContext {
    /// Paces requests per upstream account.
    pub rate_limiter: Arc<dyn RateLimiter>,
    /// Request counters.
    pub metrics: Arc<ConnectorMetrics>,
    /// Where rotated tokens go.
    pub tokens: Arc<dyn TokenSink>,
    /// Named locks shared by every connector built from this context.
    pub locks: Arc<KeyedLocks>,
    /// Values shared by every connector built from this context.
    pub cache: Arc<SharedCache>,
    /// Timeouts and retries.
    pub http: HttpSettings,
    /// Base URLs that replace a connector's real endpoint, by kind (the sandbox and tests use
    /// this; production leaves it empty).
    pub endpoints: HashMap<String, String>,
    /// Which hosts outbound requests may reach (public addresses over https only by default).
    pub outbound: Arc<OutboundPolicy>,
}

/// A context for one process: requests paced in-process ([`InProcessRateLimiter`](super::InProcessRateLimiter)
/// at the default margin), rotated tokens discarded, the default timeouts and retries, only
/// public https addresses reachable. What a connector's own tests start from.
impl Default for ConnectorContext {
    fn default() -> Self {
        Self::new(Arc::new(super::InProcessRateLimiter::default()))
    }
}

impl ConnectorContext {
    /// A context around `rate_limiter`, with fresh metrics, discarded tokens, default HTTP
    /// settings and no endpoint overrides.
    pub fn new(rate_limiter: Arc<dyn RateLimiter>) -> Self {
        Self {
            rate_limiter,
            metrics: Arc::new(ConnectorMetrics::default()),
            tokens: Arc::new(DiscardTokens),
            locks: Arc::new(KeyedLocks::default()),
            cache: Arc::new(SharedCache::default()),
            http: HttpSettings::default(),
            endpoints: HashMap::new(),
            outbound: Arc::new(OutboundPolicy::strict()),
        }
    }

    /// Lets outbound requests reach what `policy` allows beyond public https addresses (the
    /// operator's setting; the sandbox and tests allow loopback).
    pub fn with_outbound(mut self, policy: OutboundPolicy) -> Self {
        self.outbound = Arc::new(policy);
        self
    }

    /// Routes `kind`'s requests to `base_url` instead of the real service.
    pub fn with_endpoint(mut self, kind: &str, base_url: impl Into<String>) -> Self {
        self.endpoints.insert(kind.to_owned(), base_url.into());
        self
    }

    /// The override for `kind`, if any.
    pub fn endpoint(&self, kind: &str) -> Option<&str> {
        self.endpoints.get(kind).map(String::as_str)
    }

    /// Sends rotated tokens to `tokens`.
    pub fn with_tokens(mut self, tokens: Arc<dyn TokenSink>) -> Self {
        self.tokens = tokens;
        self
    }
}

impl std::fmt::Debug for ConnectorContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorContext")
            .field("http", &self.http)
            .field("endpoints", &self.endpoints)
            .field("outbound", &self.outbound)
            .finish()
    }
}

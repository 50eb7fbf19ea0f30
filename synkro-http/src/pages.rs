//! Report list pages recently encoded, by tenant and page, for a moment. A dashboard reloads
//! the same list again and again while reports change once a day; one SQLite or PostgreSQL
//! round trip costs more than everything else the request does (docs/benchmarks.md, HTTP).
//! When a job of the tenant finishes (in this process, or on any node through Redis) its pages
//! are forgotten at once; otherwise a page lives the configured time (one second by default,
//! zero turns this off). Access is checked before the cache is asked.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use synkro_core::ids::TenantId;

/// Most bytes kept; past it, everything is forgotten (a page is some tens of KiB).
const MAX_BYTES: usize = 8 * 1024 * 1024;

/// Which page of which tenant's list.
type PageKey = (TenantId, u32, Option<String>);

/// Encoded pages with the time they were made.
#[derive(Debug)]
pub struct PageCache {
    ttl: Duration,
    inner: Mutex<Pages>,
}

#[derive(Debug, Default)]
struct Pages {
    bytes: usize,
    pages: HashMap<PageKey, (Instant, Arc<[u8]>)>,
}

impl PageCache {
    /// A cache whose pages live `ttl` (zero: nothing is kept).
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, inner: Mutex::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pages> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The page, if encoded less than the lifetime ago.
    pub fn get(&self, tenant: TenantId, limit: u32, cursor: Option<&str>) -> Option<Arc<[u8]>> {
        if self.ttl.is_zero() {
            return None;
        }
        let key = (tenant, limit, cursor.map(str::to_owned));
        let inner = self.lock();
        let (at, bytes) = inner.pages.get(&key)?;
        (at.elapsed() < self.ttl).then(|| bytes.clone())
    }

    /// Keeps a freshly encoded page.
    pub fn put(&self, tenant: TenantId, limit: u32, cursor: Option<&str>, bytes: Arc<[u8]>) {
        if self.ttl.is_zero() || bytes.len() > MAX_BYTES / 4 {
            return;
        }
        let mut inner = self.lock();
        if inner.bytes + bytes.len() > MAX_BYTES {
            inner.pages.clear();
            inner.bytes = 0;
        }
        inner.bytes += bytes.len();
        let old = inner.pages.insert((tenant, limit, cursor.map(str::to_owned)), (Instant::now(), bytes));
        if let Some((_, old)) = old {
            inner.bytes -= old.len();
        }
    }

    /// Forgets every page (updates were missed).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.pages.clear();
        inner.bytes = 0;
    }

    /// Forgets every page of `tenant` (one of its jobs finished: a report may be new or changed).
    pub fn forget_tenant(&self, tenant: TenantId) {
        let mut inner = self.lock();
        let before: usize = inner.pages.iter().filter(|(k, _)| k.0 == tenant).map(|(_, (_, b))| b.len()).sum();
        inner.pages.retain(|k, _| k.0 != tenant);
        inner.bytes -= before;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pages_live_their_lifetime_and_go_with_their_tenant() {
        let cache = PageCache::new(Duration::from_millis(200));
        let (a, b) = (TenantId::new(), TenantId::new());
        cache.put(a, 50, None, Arc::from(&b"[a]"[..]));
        cache.put(a, 50, Some("c"), Arc::from(&b"[a2]"[..]));
        cache.put(b, 50, None, Arc::from(&b"[b]"[..]));
        assert_eq!(cache.get(a, 50, None).as_deref(), Some(&b"[a]"[..]));
        assert_eq!(cache.get(a, 10, None), None, "another page size is another page");
        cache.forget_tenant(a);
        assert_eq!((cache.get(a, 50, None), cache.get(a, 50, Some("c"))), (None, None));
        assert!(cache.get(b, 50, None).is_some(), "other tenants keep theirs");
        assert_eq!(cache.lock().bytes, 3);
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(cache.get(b, 50, None), None, "expired");
        let off = PageCache::new(Duration::ZERO);
        off.put(a, 50, None, Arc::from(&b"[a]"[..]));
        assert_eq!(off.get(a, 50, None), None);
    }
}

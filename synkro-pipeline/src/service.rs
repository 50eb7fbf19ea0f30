//! The service handle: what an embedder, the JSON API and the scheduler hold. Cheap to clone;
//! every clone shares one store, keyring, connector registry, connector context and event hub.
//! Its methods are the library's verbs: enqueue, stop, wait for and follow reports; save and
//! check integrations and list their models ([`settings`](crate::settings)); ask follow-up
//! questions ([`followup`](crate::followup)); read and change a tenant's runtime settings.
//! Jobs run on a [`Workers`](crate::Workers) pool started from it.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use synkro_core::connector::InProcessRateLimiter;
use synkro_core::{
    Keyring, Store,
    connector::{ConnectorContext, HttpSettings, OutboundPolicy, RateLimiter, Registry},
    domain::{
        JobRun, JobStatus, NewJobEvent, NewJobRun, ReportMode, RuntimeConfigChange, TenantRuntimeConfig, TenantStatus,
        TriggerType, Window,
    },
    ids::{JobId, TenantId, UserId},
    store::JobCreated,
    time::Timestamp,
};
use tokio::sync::{Notify, broadcast};

#[cfg(feature = "redis")]
use crate::redis::{RedisBus, RedisRateLimiter, RedisWaker};

use crate::{
    error::EngineError,
    events::{EventHub, JobUpdate},
    window::{last_closed_business_day, validate_manual_window},
};

/// Live counters of this process's workers, for readiness and metrics.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub workers_started: AtomicUsize,
    pub workers_alive: AtomicUsize,
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    pub cancelled: AtomicU64,
    pub retried: AtomicU64,
}

/// What this process's workers have done so far (see [`Service::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Workers started in this process.
    pub workers_started: usize,
    /// Of those, still running (a worker only ends on shutdown, or if it panicked).
    pub workers_alive: usize,
    /// Jobs this process finished successfully.
    pub succeeded: u64,
    /// Jobs this process finished as failed.
    pub failed: u64,
    /// Jobs this process stopped on request.
    pub cancelled: u64,
    /// Attempts this process sent back to the queue for a later retry.
    pub retried: u64,
}

pub(crate) struct Shared {
    pub store: Store,
    pub registry: Registry,
    pub keyring: Keyring,
    pub ctx: ConnectorContext,
    pub hub: EventHub,
    pub public_url: Option<String>,
    pub wake: Notify,
    #[cfg(feature = "redis")]
    pub waker: Option<RedisWaker>,
    pub counters: Counters,
}

impl Shared {
    /// Resolves when another node asks idle workers to look for work (never without Redis).
    pub async fn woken_remotely(&self) {
        #[cfg(feature = "redis")]
        if let Some(waker) = &self.waker {
            return waker.notified().await;
        }
        std::future::pending().await
    }
}

/// Builds a [`Service`].
pub struct ServiceBuilder {
    store: Store,
    registry: Registry,
    keyring: Keyring,
    node: Option<String>,
    endpoints: HashMap<String, String>,
    #[cfg(feature = "redis")]
    redis_url: Option<String>,
    limiter: Option<Arc<dyn RateLimiter>>,
    http: Option<HttpSettings>,
    outbound: OutboundPolicy,
    public_url: Option<String>,
}

impl ServiceBuilder {
    /// This process's name in job leases, worker names and progress events (default
    /// `node-` and 8 random hex digits).
    pub fn node(mut self, name: impl Into<String>) -> Self {
        self.node = Some(name.into());
        self
    }

    /// Routes connector `kind` to `base_url` (the sandbox, tests).
    pub fn endpoint(mut self, kind: &str, base_url: impl Into<String>) -> Self {
        self.endpoints.insert(kind.to_owned(), base_url.into());
        self
    }

    /// Shares wake-ups, rate limits and progress events through Redis at `url`.
    #[cfg(feature = "redis")]
    pub fn redis(mut self, url: impl Into<String>) -> Self {
        self.redis_url = Some(url.into());
        self
    }

    /// Uses `limiter` instead of the default (in-process, or Redis when configured).
    pub fn rate_limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Connector timeouts and retry limits.
    pub fn http(mut self, http: HttpSettings) -> Self {
        self.http = Some(http);
        self
    }

    /// What outbound requests may reach beyond public https addresses: the operator's
    /// `SYNKRO_OUTBOUND_ALLOW`; the sandbox and tests allow loopback. Default: nothing more.
    pub fn outbound(mut self, policy: OutboundPolicy) -> Self {
        self.outbound = policy;
        self
    }

    /// The dashboard's address (`SYNKRO_PUBLIC_URL`): alerts link to it.
    pub fn public_url(mut self, url: Option<String>) -> Self {
        self.public_url = url.map(|u| u.trim_end_matches('/').to_owned());
        self
    }

    /// Builds the service (connecting to Redis if configured). Runs nothing: start a
    /// [`Workers`](crate::Workers) pool from it to run jobs here.
    pub async fn build(self) -> Result<Service, EngineError> {
        let node = self.node.unwrap_or_else(|| format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
        #[cfg(feature = "redis")]
        let (limiter, hub, waker): (Arc<dyn RateLimiter>, EventHub, Option<RedisWaker>) = match &self.redis_url {
            Some(url) => {
                let prefix = crate::redis::KEY_PREFIX;
                let conn = crate::redis::connect(url).await?;
                let bus = RedisBus::start(url, prefix).await?;
                let waker = RedisWaker::start(url, prefix).await?;
                (Arc::new(RedisRateLimiter::new(conn, prefix)), EventHub::with_redis(node, bus), Some(waker))
            }
            None => (Arc::new(InProcessRateLimiter::default()), EventHub::local(node), None),
        };
        #[cfg(not(feature = "redis"))]
        let (limiter, hub): (Arc<dyn RateLimiter>, EventHub) =
            (Arc::new(InProcessRateLimiter::default()), EventHub::local(node));
        let mut ctx = ConnectorContext::new(self.limiter.unwrap_or(limiter));
        if let Some(http) = self.http {
            ctx.http = http;
        }
        ctx.endpoints = self.endpoints;
        ctx.outbound = Arc::new(self.outbound);
        Ok(Service {
            inner: Arc::new(Shared {
                store: self.store,
                registry: self.registry,
                keyring: self.keyring,
                ctx,
                hub,
                public_url: self.public_url,
                wake: Notify::new(),
                #[cfg(feature = "redis")]
                waker,
                counters: Counters::default(),
            }),
        })
    }
}

/// A report to run.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    /// The tenant.
    pub tenant: TenantId,
    /// The window; `None` means the tenant's last closed business day.
    pub window: Option<(Timestamp, Timestamp)>,
    /// Who asked (manual runs).
    pub requested_by: Option<UserId>,
    /// Scheduled, manual or system.
    pub trigger: TriggerType,
    /// Overrides the tenant's report mode.
    pub mode: Option<ReportMode>,
}

impl ReportRequest {
    /// A manual report for `tenant`'s last closed business day.
    pub fn manual(tenant: TenantId) -> Self {
        Self { tenant, window: None, requested_by: None, trigger: TriggerType::Manual, mode: None }
    }

    /// The same request for an explicit window.
    pub fn window(mut self, start: Timestamp, end: Timestamp) -> Self {
        self.window = Some((start, end));
        self
    }
}

/// The service handle: enqueue reports and follow them, manage integrations and settings, ask
/// follow-up questions. Clones share everything.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Shared>,
}

impl Service {
    /// Starts building a service over `store`, with the connectors of `registry` and the secret
    /// keys of `keyring`.
    pub fn builder(store: Store, registry: Registry, keyring: Keyring) -> ServiceBuilder {
        ServiceBuilder {
            store,
            registry,
            keyring,
            node: None,
            endpoints: HashMap::new(),
            #[cfg(feature = "redis")]
            redis_url: None,
            limiter: None,
            http: None,
            outbound: OutboundPolicy::strict(),
            public_url: None,
        }
    }

    /// The dashboard's address, when configured.
    pub fn public_url(&self) -> Option<&str> {
        self.inner.public_url.as_deref()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The connector context every job uses (rate limiter, counters, outbound policy).
    pub fn connector_context(&self) -> &ConnectorContext {
        &self.inner.ctx
    }

    /// The connector registry.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The keyring.
    pub fn keyring(&self) -> &Keyring {
        &self.inner.keyring
    }

    /// This process's name.
    pub fn node(&self) -> &str {
        self.inner.hub.node()
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner
    }

    /// Every job update from now on (with Redis, from every node).
    pub fn subscribe(&self) -> broadcast::Receiver<JobUpdate> {
        self.inner.hub.subscribe()
    }

    /// What this process's workers have done so far (all zero in a process that runs none).
    pub fn stats(&self) -> WorkerStats {
        let c = &self.inner.counters;
        WorkerStats {
            workers_started: c.workers_started.load(Ordering::Relaxed),
            workers_alive: c.workers_alive.load(Ordering::Relaxed),
            succeeded: c.succeeded.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            cancelled: c.cancelled.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
        }
    }

    /// Enqueues a report. Manual windows are validated against the tenant's limits; the same
    /// request twice gives the same job; while the tenant has an active report job the answer
    /// is [`EngineError::ActiveJob`] naming it.
    ///
    /// A tenant that is not active (paused or disabled) gets no report jobs:
    /// [`EngineError::TenantInactive`].
    pub async fn enqueue_report(&self, request: ReportRequest) -> Result<JobRun, EngineError> {
        let tenant = self.store().get_tenant(request.tenant).await?;
        if tenant.status != TenantStatus::Active {
            return Err(EngineError::TenantInactive(tenant.status));
        }
        let config = self.runtime_config(request.tenant).await?;
        let now = Timestamp::now();
        let window = match request.window {
            Some((start, end)) if request.trigger == TriggerType::Manual => {
                validate_manual_window(start, end, now, config.max_force_window_hours, config.max_force_lookback_days)?
            }
            Some((start, end)) => Window::new(start, end)?,
            None => last_closed_business_day(now, &config.timezone, config.business_day_start),
        };
        let mut new = NewJobRun::report(request.tenant, request.mode.unwrap_or(config.mode), request.trigger, window);
        new.requested_by = request.requested_by;
        let job = match self.store().create_job(&new).await? {
            JobCreated::New(job) => {
                self.wake().await;
                job
            }
            JobCreated::Existing(job) if job.status.is_active() || request.trigger != TriggerType::Manual => job,
            // A finished manual job for the same window: run it again under a fresh key.
            JobCreated::Existing(_) => {
                new.idempotency_key = new.idempotency_key.map(|k| format!("{k}:{}", now.unix_micros()));
                let job = self.store().create_job(&new).await?.into_job();
                self.wake().await;
                job
            }
        };
        Ok(job)
    }

    /// Asks a job to stop; a pending job stops at once, a running one at its next checkpoint.
    pub async fn stop(&self, job: JobId) -> Result<JobRun, EngineError> {
        let job = self.store().request_job_cancel(job).await?;
        if job.status == JobStatus::Cancelled {
            let event = NewJobEvent::info(job.id, "engine", "stopped on request before it started");
            self.log_event(&event).await;
        }
        self.publish_final(&job).await;
        Ok(job)
    }

    /// Waits until `job` has finished and returns it.
    pub async fn wait(&self, job: JobId) -> Result<JobRun, EngineError> {
        let mut updates = self.subscribe();
        loop {
            let current = self.store().get_job(job).await?;
            if current.status.is_finished() {
                return Ok(current);
            }
            let _ = tokio::time::timeout(Duration::from_millis(500), async {
                loop {
                    match updates.recv().await {
                        Ok(u) if u.job_id == job && u.status.is_finished() => break,
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => break,
                    }
                }
            })
            .await;
        }
    }

    /// Wakes idle workers here and, with Redis, on every node.
    pub async fn wake(&self) {
        self.inner.wake.notify_waiters();
        #[cfg(feature = "redis")]
        if let Some(waker) = &self.inner.waker
            && let Err(e) = waker.wake().await
        {
            tracing::debug!(error = %e, "wake-up not relayed through Redis");
        }
    }

    /// A tenant's runtime settings (every tenant has them, at the documented defaults until
    /// first changed).
    pub async fn runtime_config(&self, tenant: TenantId) -> Result<TenantRuntimeConfig, EngineError> {
        Ok(self.store().get_runtime_config(tenant).await?)
    }

    /// Changes a tenant's runtime settings (what `change` leaves out stays as it is) and returns
    /// them before and after. A schedule change takes effect from now: no report is posted at
    /// once for a window that closed before it.
    pub async fn update_runtime_config(
        &self,
        tenant: TenantId,
        change: RuntimeConfigChange,
    ) -> Result<(TenantRuntimeConfig, TenantRuntimeConfig), EngineError> {
        let before = self.runtime_config(tenant).await?;
        let saved = self.store().put_runtime_config(&change.apply(before.clone())).await?;
        Ok((before, saved))
    }

    /// Publishes a job's current state to subscribers.
    pub(crate) async fn publish_final(&self, job: &JobRun) {
        let update = JobUpdate::of(job, job.status, job.current_step.clone(), job.progress, None);
        self.inner.hub.publish(update).await;
    }

    /// Appends a step-log line; a failure to write it is logged (the job's own outcome does not
    /// depend on it), never silently dropped.
    pub(crate) async fn log_event(&self, event: &NewJobEvent) {
        if let Err(e) = self.store().append_job_event(event).await {
            tracing::warn!(job = %event.job_id, error = %e, message = %event.message, "job event not written");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use synkro_core::{
        domain::{NewTenant, TenantUpdate},
        testing,
    };
    use time::macros::time;

    use super::*;

    async fn service(store: &Store) -> Service {
        Service::builder(store.clone(), Registry::default(), Keyring::generate()).build().await.unwrap()
    }

    #[tokio::test]
    async fn a_runtime_change_keeps_what_it_leaves_out_and_reports_before_and_after() {
        let test = testing::sqlite().await;
        let service = service(&test.store).await;
        let tenant = test.store.create_tenant(&NewTenant::new("Acme", "acme", "Europe/Berlin").unwrap()).await.unwrap();
        let change = RuntimeConfigChange {
            scheduled_run_time: Some(time!(23:30)),
            min_dialogs_for_report: Some(3),
            ..Default::default()
        };
        let (before, after) = service.update_runtime_config(tenant.id, change).await.unwrap();
        assert_eq!((before.scheduled_run_time, before.min_dialogs_for_report), (time!(22:10), 1));
        assert_eq!((after.scheduled_run_time, after.min_dialogs_for_report), (time!(23:30), 3));
        assert_eq!((after.mode, after.business_day_start), (before.mode, before.business_day_start));
        assert_eq!(service.runtime_config(tenant.id).await.unwrap(), after);

        let out_of_range = RuntimeConfigChange { max_force_window_hours: Some(0), ..Default::default() };
        let refused = service.update_runtime_config(tenant.id, out_of_range).await.unwrap_err();
        assert!(refused.to_string().contains("max_force_window_hours"), "{refused}");
        assert_eq!(service.runtime_config(tenant.id).await.unwrap(), after, "nothing saved");
        test.finish().await;
    }

    #[tokio::test]
    async fn a_paused_tenant_gets_no_report_job_and_stopping_a_pending_job_tells_subscribers() {
        let test = testing::sqlite().await;
        let service = service(&test.store).await;
        let tenant = test.store.create_tenant(&NewTenant::new("Acme", "acme", "UTC").unwrap()).await.unwrap();
        let mut updates = service.subscribe();
        let job = service
            .enqueue_report(ReportRequest { trigger: TriggerType::System, ..ReportRequest::manual(tenant.id) })
            .await
            .unwrap();
        assert_eq!(job.status, JobStatus::Pending);
        let stopped = service.stop(job.id).await.unwrap();
        assert_eq!(stopped.status, JobStatus::Cancelled);
        let update = updates.recv().await.unwrap();
        assert_eq!((update.job_id, update.status), (job.id, JobStatus::Cancelled));
        assert_eq!(service.wait(job.id).await.unwrap().status, JobStatus::Cancelled);

        let paused = TenantUpdate { status: Some(TenantStatus::Paused), ..Default::default() };
        test.store.update_tenant(tenant.id, &paused).await.unwrap();
        let refused = service.enqueue_report(ReportRequest::manual(tenant.id)).await.unwrap_err();
        assert!(matches!(refused, EngineError::TenantInactive(TenantStatus::Paused)), "{refused:?}");
        test.finish().await;
    }
}

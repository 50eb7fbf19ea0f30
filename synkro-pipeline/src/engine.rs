//! The durable job engine. The database is the source of truth for every job: a worker claims a
//! job with a lease and extends it while it runs; a job whose worker died is claimed again when
//! the lease runs out; attempts are counted; retries follow the failure class with backoff;
//! a stop request reaches a running job at its next checkpoint. Workers run in this process;
//! with Redis, idle workers on every node are woken at once and the rate limits and progress
//! events are shared.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use serde_json::json;
use synkro_connector_kit::{InProcessRateLimiter, backoff_delay};
use synkro_core::{
    Keyring, Store,
    connector::{ConnectorContext, OutboundPolicy, RateLimiter, Registry},
    domain::{
        EventLevel, JobRun, JobStatus, JobType, NewJobEvent, NewJobRun, ReportMode, TenantStatus, TriggerType, Window,
    },
    ids::{JobId, TenantId, UserId},
    store::JobCreated,
    time::Timestamp,
};
use tokio::{
    sync::{Mutex, Notify, broadcast},
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;

use crate::{
    delivery::{RetryPolicy, run_delivery},
    error::{EngineError, JobFailure},
    events::{EventHub, JobUpdate},
    redis::{RedisBus, RedisRateLimiter, RedisWaker},
    report::run_report,
    window::{last_closed_business_day, validate_manual_window},
};

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Jobs run at once in this process (I/O-bound: many is fine).
    pub workers: usize,
    /// How long a claim lasts unless extended (a dead worker's job waits this long).
    pub lease: Duration,
    /// How often idle workers look for work without a wake-up.
    pub poll_interval: Duration,
    /// First retry delay; doubles per attempt.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_cap: Duration,
    /// How often the scheduler looks for due reports.
    pub scheduler_interval: Duration,
    /// How far back a missed scheduled run is caught up.
    pub catch_up: Duration,
    /// This node's name (workers are `{node}-{n}`).
    pub node: String,
    /// How long a delivery that failed in a way a retry can fix (the messenger was down or rate
    /// limiting) keeps being retried, with backoff from `retry_base` to `retry_cap`, before it
    /// fails for good (default 4 h).
    pub delivery_retry_for: Duration,
    /// How long shutting down waits for a report that is being sent to finish before the job is
    /// handed back (default 30 s), so a restart does not leave a delivery half done.
    pub delivery_grace: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            workers: 8,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(2),
            retry_base: Duration::from_secs(30),
            retry_cap: Duration::from_secs(15 * 60),
            scheduler_interval: Duration::from_secs(30),
            catch_up: Duration::from_secs(36 * 3600),
            node: format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
            delivery_retry_for: Duration::from_secs(4 * 3600),
            delivery_grace: Duration::from_secs(30),
        }
    }
}

/// What a job run needs; shared by every worker.
pub(crate) struct RunEnv {
    pub store: Store,
    pub registry: Registry,
    pub keyring: Keyring,
    pub ctx: ConnectorContext,
    pub hub: EventHub,
    pub retry: RetryPolicy,
}

/// Live counters of this process's engine, for readiness and metrics.
#[derive(Debug, Default)]
struct Counters {
    workers_started: AtomicUsize,
    workers_alive: AtomicUsize,
    succeeded: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
    retried: AtomicU64,
}

/// What this process's engine has done so far (see [`Engine::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
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

/// Counts a live worker until it is dropped (also when its task panics).
struct AliveGuard(Arc<Inner>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.counters.workers_alive.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Inner {
    env: RunEnv,
    config: EngineConfig,
    counters: Counters,
    wake: Notify,
    waker: Option<RedisWaker>,
    shutdown: CancellationToken,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// Builds an [`Engine`].
pub struct EngineBuilder {
    store: Store,
    registry: Registry,
    keyring: Keyring,
    config: EngineConfig,
    endpoints: HashMap<String, String>,
    redis_url: Option<String>,
    limiter: Option<Arc<dyn RateLimiter>>,
    http: Option<synkro_core::connector::HttpSettings>,
    outbound: OutboundPolicy,
}

impl EngineBuilder {
    /// Settings.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Routes connector `kind` to `base_url` (the sandbox, tests).
    pub fn endpoint(mut self, kind: &str, base_url: impl Into<String>) -> Self {
        self.endpoints.insert(kind.to_owned(), base_url.into());
        self
    }

    /// Shares wake-ups, rate limits and progress events through Redis at `url`.
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
    pub fn http(mut self, http: synkro_core::connector::HttpSettings) -> Self {
        self.http = Some(http);
        self
    }

    /// What outbound requests may reach beyond public https addresses: the operator's
    /// `SYNKRO_OUTBOUND_ALLOW`; the sandbox and tests allow loopback. Default: nothing more.
    pub fn outbound(mut self, policy: OutboundPolicy) -> Self {
        self.outbound = policy;
        self
    }

    /// Builds the engine (connecting to Redis if configured). Starts nothing: call
    /// [`Engine::start_workers`] and [`Engine::start_scheduler`].
    pub async fn build(self) -> Result<Engine, EngineError> {
        let node = self.config.node.clone();
        let (limiter, hub, waker): (Arc<dyn RateLimiter>, EventHub, Option<RedisWaker>) = match &self.redis_url {
            Some(url) => {
                let conn = crate::redis::connect(url).await.map_err(|e| EngineError::Other(e.to_string()))?;
                let prefix = crate::redis::KEY_PREFIX;
                let bus = RedisBus::start(url, prefix).await.map_err(|e| EngineError::Other(e.to_string()))?;
                let waker = RedisWaker::start(url, prefix).await.map_err(|e| EngineError::Other(e.to_string()))?;
                (Arc::new(RedisRateLimiter::new(conn, prefix)), EventHub::with_redis(node, bus), Some(waker))
            }
            None => (Arc::new(InProcessRateLimiter::default()), EventHub::local(node), None),
        };
        let mut ctx = ConnectorContext::new(self.limiter.unwrap_or(limiter));
        if let Some(http) = self.http {
            ctx.http = http;
        }
        ctx.endpoints = self.endpoints;
        ctx.outbound = Arc::new(self.outbound);
        let retry = RetryPolicy {
            retry_for: self.config.delivery_retry_for,
            base: self.config.retry_base,
            cap: self.config.retry_cap,
        };
        let env = RunEnv { store: self.store, registry: self.registry, keyring: self.keyring, ctx, hub, retry };
        Ok(Engine {
            inner: Arc::new(Inner {
                env,
                config: self.config,
                wake: Notify::new(),
                waker,
                shutdown: CancellationToken::new(),
                tasks: Mutex::new(Vec::new()),
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

/// The job engine: enqueue reports, run them on workers, follow their progress.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Engine {
    /// Starts building an engine over `store`, with the connectors of `registry` and the secret
    /// keys of `keyring`.
    pub fn builder(store: Store, registry: Registry, keyring: Keyring) -> EngineBuilder {
        EngineBuilder {
            store,
            registry,
            keyring,
            config: EngineConfig::default(),
            endpoints: HashMap::new(),
            redis_url: None,
            limiter: None,
            http: None,
            outbound: OutboundPolicy::strict(),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.env.store
    }

    /// The connector context every job uses (rate limiter, counters).
    pub fn connector_context(&self) -> &ConnectorContext {
        &self.inner.env.ctx
    }

    /// The connector registry.
    pub fn registry(&self) -> &Registry {
        &self.inner.env.registry
    }

    /// The keyring.
    pub fn keyring(&self) -> &Keyring {
        &self.inner.env.keyring
    }

    pub(crate) fn env(&self) -> &RunEnv {
        &self.inner.env
    }

    /// Every job update from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<JobUpdate> {
        self.inner.env.hub.subscribe()
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
        let config = self.store().get_runtime_config(request.tenant).await?;
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
            log_event(self.store(), &event).await;
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
        if let Some(waker) = &self.inner.waker
            && let Err(e) = waker.wake().await
        {
            tracing::debug!(error = %e, "wake-up not relayed through Redis");
        }
    }

    /// Starts `config.workers` workers in this process.
    pub async fn start_workers(&self) {
        let mut tasks = self.inner.tasks.lock().await;
        let counters = &self.inner.counters;
        for n in 0..self.inner.config.workers {
            let engine = self.clone();
            let worker = format!("{}-{n}", self.inner.config.node);
            counters.workers_started.fetch_add(1, Ordering::Relaxed);
            counters.workers_alive.fetch_add(1, Ordering::Relaxed);
            let alive = AliveGuard(self.inner.clone());
            tasks.push(tokio::spawn(async move {
                let _alive = alive;
                engine.worker_loop(worker).await
            }));
        }
    }

    /// Workers started and alive in this process, and the jobs they finished.
    pub fn stats(&self) -> EngineStats {
        let c = &self.inner.counters;
        EngineStats {
            workers_started: c.workers_started.load(Ordering::Relaxed),
            workers_alive: c.workers_alive.load(Ordering::Relaxed),
            succeeded: c.succeeded.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            cancelled: c.cancelled.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
        }
    }

    /// Starts the scheduler in this process (safe on several nodes at once).
    pub async fn start_scheduler(&self) {
        let engine = self.clone();
        self.inner.tasks.lock().await.push(tokio::spawn(async move { crate::scheduler::run(engine).await }));
    }

    /// Starts answering follow-up questions in every active tenant's Telegram chat (safe on
    /// several nodes at once: each bot is read by one node at a time).
    pub async fn start_followups(&self, settings: crate::followup::TelegramFollowups) {
        let engine = self.clone();
        self.inner.tasks.lock().await.push(tokio::spawn(crate::followup::run_telegram(engine, settings)));
    }

    pub(crate) fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    pub(crate) fn shutdown_token(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    /// Stops workers and the scheduler; running jobs are handed back to the queue at once (the
    /// event log says so) and another worker takes them over.
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        let tasks: Vec<_> = self.inner.tasks.lock().await.drain(..).collect();
        for task in tasks {
            let _ = task.await;
        }
    }

    async fn worker_loop(&self, worker: String) {
        let shutdown = self.inner.shutdown.clone();
        while !shutdown.is_cancelled() {
            match self.run_next(&worker).await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => tracing::warn!(worker, error = %e, "claiming a job failed"),
            }
            let redis_wake = async {
                match &self.inner.waker {
                    Some(w) => w.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.inner.wake.notified() => {}
                _ = redis_wake => {}
                _ = tokio::time::sleep(self.inner.config.poll_interval) => {}
                _ = shutdown.cancelled() => {}
            }
        }
    }

    /// Claims and runs one job as `worker`, if one is due. Returns the finished (or re-queued)
    /// job.
    pub async fn run_next(&self, worker: &str) -> Result<Option<JobRun>, EngineError> {
        let config = &self.inner.config;
        let Some(job) = self.store().claim_job(worker, config.lease, Timestamp::now()).await? else {
            return Ok(None);
        };
        tracing::info!(job = %job.id, tenant = %job.tenant_id, attempt = job.attempt, worker, "job claimed");
        let cancel = CancellationToken::new();
        let heartbeat = self.spawn_heartbeat(job.id, worker.to_owned(), cancel.clone());
        let sending = AtomicBool::new(false);
        let run = async {
            match job.job_type {
                JobType::ReportDelivery => run_delivery(self.env(), &job, &sending).await.map(|_| ()),
                _ => run_report(self.env(), &job, &cancel, &sending).await.map(|_| ()),
            }
        };
        tokio::pin!(run);
        let outcome = tokio::select! {
            result = &mut run => result,
            _ = self.inner.shutdown.cancelled() => {
                // Messages may be going out: let them finish (bounded) rather than leave the
                // delivery half done and unknown.
                let finished = if sending.load(Ordering::SeqCst) {
                    tracing::info!(job = %job.id, worker, "shutting down: letting the delivery finish");
                    tokio::time::timeout(self.inner.config.delivery_grace, &mut run).await.ok()
                } else {
                    None
                };
                match finished {
                    Some(result) => result,
                    None => {
                        heartbeat.abort();
                        self.hand_back(&job, worker).await;
                        return Ok(Some(self.store().get_job(job.id).await?));
                    }
                }
            }
        };
        heartbeat.abort();
        let outcome = match outcome {
            Err(JobFailure::Cancelled) if self.lease_lost(job.id, worker).await => Err(JobFailure::LeaseLost),
            other => other,
        };
        let finished = self.settle(&job, worker, outcome).await?;
        Ok(Some(finished.unwrap_or_else(|| job.clone())))
    }

    /// Shutting down mid-job: the job goes back to pending at once, for another worker (its
    /// steps are idempotent: rows are upserted, the report and the delivery happen once).
    async fn hand_back(&self, job: &JobRun, worker: &str) {
        let message = "handed back: the worker shut down";
        match self.store().retry_job_later(job.id, worker, Timestamp::now(), message).await {
            Ok(true) => {
                let event = NewJobEvent { level: EventLevel::Warn, ..NewJobEvent::info(job.id, "engine", message) };
                log_event(self.store(), &event).await;
                tracing::info!(job = %job.id, worker, "{message}");
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(job = %job.id, error = %e, "job not handed back; its lease will run out"),
        }
    }

    async fn lease_lost(&self, job: JobId, worker: &str) -> bool {
        match self.store().get_job(job).await {
            Ok(j) => j.lease_owner.as_deref() != Some(worker) || j.status != JobStatus::Running,
            Err(_) => true,
        }
    }

    /// Extends the lease every third of its length (at least every 2 s, so a stop request is
    /// noticed promptly); cancels the run when a stop was requested or the lease was taken over.
    fn spawn_heartbeat(&self, job: JobId, worker: String, cancel: CancellationToken) -> JoinHandle<()> {
        let store = self.store().clone();
        let lease = self.inner.config.lease;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep((lease / 3).min(Duration::from_secs(2))).await;
                match store.extend_lease(job, &worker, lease, Timestamp::now()).await {
                    Ok(state) if !state.held || state.cancel_requested => {
                        cancel.cancel();
                        return;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(job = %job, error = %e, "lease not extended"),
                }
            }
        })
    }

    /// Records how a run ended: success, a retry later, or a final failure.
    async fn settle(
        &self,
        job: &JobRun,
        worker: &str,
        outcome: Result<(), JobFailure>,
    ) -> Result<Option<JobRun>, EngineError> {
        let store = self.store();
        let event = |level, message: String| NewJobEvent {
            job_id: job.id,
            level,
            step: Some("engine".into()),
            message,
            data: json!({"attempt": job.attempt}),
        };
        let finished = match outcome {
            Ok(()) => store.finish_owned_job(job.id, worker, JobStatus::Success, None).await?,
            Err(JobFailure::Cancelled) => {
                log_event(store, &event(EventLevel::Warn, "stopped on request".into())).await;
                store.finish_owned_job(job.id, worker, JobStatus::Cancelled, Some("stopped on request")).await?
            }
            Err(JobFailure::LeaseLost) => {
                let text = format!(
                    "worker {worker} lost the job during attempt {} (its lease ran out and another worker took \
                     it over); it stops here without writing anything more",
                    job.attempt
                );
                tracing::warn!(job = %job.id, worker, "lease lost; the job goes on elsewhere");
                log_event(store, &event(EventLevel::Warn, text)).await;
                return Ok(None);
            }
            Err(JobFailure::Retry { message, after }) if job.attempt < job.max_attempts => {
                let backoff =
                    backoff_delay(job.attempt as u32, self.inner.config.retry_base, self.inner.config.retry_cap);
                let delay = after.map_or(backoff, |a| a.max(Duration::from_secs(1)));
                let run_after = Timestamp::now() + time::Duration::try_from(delay).unwrap_or(time::Duration::ZERO);
                let text = format!("attempt {} failed, retrying in {}s: {message}", job.attempt, delay.as_secs());
                log_event(store, &event(EventLevel::Warn, text)).await;
                store.retry_job_later(job.id, worker, run_after, &message).await?;
                self.inner.counters.retried.fetch_add(1, Ordering::Relaxed);
                let job = store.get_job(job.id).await?;
                self.publish_final(&job).await;
                return Ok(Some(job));
            }
            Err(JobFailure::Retry { message, .. }) => {
                let text = format!("gave up after {} attempts: {message}", job.attempt);
                log_event(store, &event(EventLevel::Error, text.clone())).await;
                store.finish_owned_job(job.id, worker, JobStatus::Failed, Some(&text)).await?
            }
            Err(JobFailure::Fatal { message }) => {
                log_event(store, &event(EventLevel::Error, message.clone())).await;
                store.finish_owned_job(job.id, worker, JobStatus::Failed, Some(&message)).await?
            }
        };
        if let Some(job) = &finished {
            let c = &self.inner.counters;
            let counter = match job.status {
                JobStatus::Success => Some(&c.succeeded),
                JobStatus::Failed => Some(&c.failed),
                JobStatus::Cancelled => Some(&c.cancelled),
                _ => None,
            };
            if let Some(counter) = counter {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            self.publish_final(job).await;
        }
        Ok(finished)
    }

    async fn publish_final(&self, job: &JobRun) {
        self.inner
            .env
            .hub
            .publish(JobUpdate {
                job_id: job.id,
                tenant_id: job.tenant_id,
                status: job.status,
                step: job.current_step.clone(),
                progress: job.progress,
                event: None,
                origin: String::new(),
            })
            .await;
    }
}

/// Appends a step-log line; a failure to write it is logged (the job's own outcome does not
/// depend on it), never silently dropped.
async fn log_event(store: &Store, event: &NewJobEvent) {
    if let Err(e) = store.append_job_event(event).await {
        tracing::warn!(job = %event.job_id, error = %e, message = %event.message, "job event not written");
    }
}

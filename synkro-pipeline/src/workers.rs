//! The worker pool: jobs run here. The database is the source of truth for every job: a
//! worker claims a job with a lease and extends it while it runs; a job whose worker died is
//! claimed again when the lease runs out; attempts are counted; retries follow the failure class
//! with backoff; a stop request reaches a running job at its next checkpoint. With Redis, idle
//! workers on every node are woken at once and the rate limits and progress events are shared.
//! A pool is started from a [`Service`], which it shares with everything else in the process.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use serde_json::json;
use synkro_connector_kit::backoff_delay;
use synkro_core::{
    Store,
    domain::{EventLevel, JobRun, JobStatus, JobType, NewJobEvent, TriggerType, Window},
    ids::JobId,
    store::AlertKind,
    time::Timestamp,
};
use tokio::{sync::Mutex, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{
    delivery::{RetryPolicy, run_delivery},
    error::{EngineError, JobFailure},
    report::run_report,
    service::Service,
};

/// Worker pool settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
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
    /// How long after its due time a scheduled report that is not there is alerted to the
    /// tenant's admins (default 2 h).
    pub missed_report_grace: Duration,
    /// How long a delivery that failed in a way a retry can fix (the messenger was down or rate
    /// limiting) keeps being retried, with backoff from `retry_base` to `retry_cap`, before it
    /// fails for good (default 4 h).
    pub delivery_retry_for: Duration,
    /// How long shutting down waits for a report that is being sent to finish before the job is
    /// handed back (default 30 s), so a restart does not leave a delivery half done.
    pub delivery_grace: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            workers: 8,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(2),
            retry_base: Duration::from_secs(30),
            retry_cap: Duration::from_secs(15 * 60),
            scheduler_interval: Duration::from_secs(30),
            catch_up: crate::scheduler::DEFAULT_CATCH_UP,
            missed_report_grace: crate::alerts::DEFAULT_GRACE,
            delivery_retry_for: Duration::from_secs(4 * 3600),
            delivery_grace: Duration::from_secs(30),
        }
    }
}

/// What a job run needs; shared by every worker.
pub(crate) struct RunEnv {
    pub service: Service,
    pub retry: RetryPolicy,
}

impl RunEnv {
    pub fn store(&self) -> &Store {
        self.service.store()
    }
}

/// Counts a live worker until it is dropped (also when its task panics).
struct AliveGuard(Service);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.shared().counters.workers_alive.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Inner {
    env: RunEnv,
    config: WorkerConfig,
    shutdown: CancellationToken,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// A pool of workers in this process, started from a [`Service`]: run jobs, the scheduler and
/// Telegram follow-ups until [`Workers::shutdown`].
///
/// ```no_run
/// # async fn demo(service: synkro_pipeline::Service) {
/// use synkro_pipeline::{WorkerConfig, Workers};
///
/// let workers = Workers::new(&service, WorkerConfig { workers: 4, ..Default::default() });
/// workers.start().await;
/// workers.start_scheduler().await;
/// // ... until the process stops:
/// workers.shutdown().await;
/// # }
/// ```
#[derive(Clone)]
pub struct Workers {
    inner: Arc<Inner>,
}

impl Workers {
    /// A pool running jobs of `service`; nothing runs until [`Workers::start`].
    pub fn new(service: &Service, config: WorkerConfig) -> Self {
        let retry =
            RetryPolicy { retry_for: config.delivery_retry_for, base: config.retry_base, cap: config.retry_cap };
        Self {
            inner: Arc::new(Inner {
                env: RunEnv { service: service.clone(), retry },
                config,
                shutdown: CancellationToken::new(),
                tasks: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The service the pool runs jobs of.
    pub fn service(&self) -> &Service {
        &self.inner.env.service
    }

    fn store(&self) -> &Store {
        self.service().store()
    }

    /// The pool's settings.
    pub fn config(&self) -> &WorkerConfig {
        &self.inner.config
    }

    /// Starts `config.workers` workers (named `{node}-{n}`).
    pub async fn start(&self) {
        let mut tasks = self.inner.tasks.lock().await;
        let counters = &self.service().shared().counters;
        for n in 0..self.inner.config.workers {
            let pool = self.clone();
            let worker = format!("{}-{n}", self.service().node());
            counters.workers_started.fetch_add(1, Ordering::Relaxed);
            counters.workers_alive.fetch_add(1, Ordering::Relaxed);
            let alive = AliveGuard(self.service().clone());
            tasks.push(tokio::spawn(async move {
                let _alive = alive;
                pool.worker_loop(worker).await
            }));
        }
    }

    /// Starts the scheduler in this process (safe on several nodes at once).
    pub async fn start_scheduler(&self) {
        let service = self.service().clone();
        let c = &self.inner.config;
        let (interval, catch_up, grace) = (c.scheduler_interval, c.catch_up, c.missed_report_grace);
        let shutdown = self.inner.shutdown.clone();
        let run = crate::scheduler::run(service, interval, catch_up, grace, shutdown);
        self.inner.tasks.lock().await.push(tokio::spawn(run));
    }

    /// Starts answering follow-up questions in every active tenant's Telegram chat (safe on
    /// several nodes at once: each bot is read by one node at a time).
    pub async fn start_followups(&self, settings: crate::followup::TelegramFollowups) {
        let service = self.service().clone();
        let shutdown = self.inner.shutdown.clone();
        self.inner.tasks.lock().await.push(tokio::spawn(crate::followup::run_telegram(service, settings, shutdown)));
    }

    /// Stops workers, the scheduler and follow-ups; running jobs are handed back to the queue at
    /// once (the event log says so) and another worker takes them over.
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
            let shared = self.service().shared();
            tokio::select! {
                _ = shared.wake.notified() => {}
                _ = shared.woken_remotely() => {}
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
        // Every line logged while the job runs (a connector's failed request included) names it.
        let span = tracing::info_span!("job", job = %job.id, tenant = %job.tenant_id, kind = %job.job_type, attempt = job.attempt);
        self.run_claimed(job, worker).instrument(span).await
    }

    /// Runs a claimed job to its outcome and records it.
    async fn run_claimed(&self, job: JobRun, worker: &str) -> Result<Option<JobRun>, EngineError> {
        tracing::info!(worker, "job claimed");
        let cancel = CancellationToken::new();
        let heartbeat = self.spawn_heartbeat(job.id, worker.to_owned(), cancel.clone());
        let sending = AtomicBool::new(false);
        let run = async {
            match job.job_type {
                JobType::ReportDelivery => run_delivery(&self.inner.env, &job, &sending).await.map(|_| ()),
                _ => run_report(&self.inner.env, &job, &cancel, &sending).await.map(|_| ()),
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

    /// A scheduled report job that failed for good alerts the tenant's admins.
    async fn alert_failure(&self, job: &JobRun) {
        let scheduled = job.job_type == JobType::ReportBuild && job.trigger_type == TriggerType::Scheduled;
        let (Some(start), Some(end)) = (job.window_start, job.window_end) else { return };
        if job.status != JobStatus::Failed || !scheduled {
            return;
        }
        let (Ok(window), Ok(tenant)) = (Window::new(start, end), self.store().get_tenant(job.tenant_id).await) else {
            return;
        };
        let attempts = job.attempt;
        let why = |language| (crate::words::words(language).job_failed)(attempts);
        crate::alerts::raise(self.service(), &tenant, window, AlertKind::Failed, why).await;
    }

    /// Shutting down mid-job: the job goes back to pending at once, for another worker (its
    /// steps are idempotent: rows are upserted, the report and the delivery happen once).
    async fn hand_back(&self, job: &JobRun, worker: &str) {
        let message = "handed back: the worker shut down";
        match self.store().retry_job_later(job.id, worker, Timestamp::now(), message).await {
            Ok(true) => {
                let event = NewJobEvent { level: EventLevel::Warn, ..NewJobEvent::info(job.id, "engine", message) };
                self.service().log_event(&event).await;
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
                self.service().log_event(&event(EventLevel::Warn, "stopped on request".into())).await;
                store.finish_owned_job(job.id, worker, JobStatus::Cancelled, Some("stopped on request")).await?
            }
            Err(JobFailure::LeaseLost) => {
                let text = format!(
                    "worker {worker} lost the job during attempt {} (its lease ran out and another worker took \
                     it over); it stops here without writing anything more",
                    job.attempt
                );
                tracing::warn!(job = %job.id, worker, "lease lost; the job goes on elsewhere");
                self.service().log_event(&event(EventLevel::Warn, text)).await;
                return Ok(None);
            }
            Err(JobFailure::Retry { message, after }) if job.attempt < job.max_attempts => {
                let backoff =
                    backoff_delay(job.attempt as u32, self.inner.config.retry_base, self.inner.config.retry_cap);
                let delay = after.map_or(backoff, |a| a.max(Duration::from_secs(1)));
                let run_after = Timestamp::now() + time::Duration::try_from(delay).unwrap_or(time::Duration::ZERO);
                let text = format!("attempt {} failed, retrying in {}s: {message}", job.attempt, delay.as_secs());
                self.service().log_event(&event(EventLevel::Warn, text)).await;
                store.retry_job_later(job.id, worker, run_after, &message).await?;
                self.service().shared().counters.retried.fetch_add(1, Ordering::Relaxed);
                let job = store.get_job(job.id).await?;
                self.service().publish_final(&job).await;
                return Ok(Some(job));
            }
            Err(JobFailure::Retry { message, .. }) => {
                let text = format!("gave up after {} attempts: {message}", job.attempt);
                self.service().log_event(&event(EventLevel::Error, text.clone())).await;
                store.finish_owned_job(job.id, worker, JobStatus::Failed, Some(&text)).await?
            }
            Err(JobFailure::Fatal { message }) => {
                self.service().log_event(&event(EventLevel::Error, message.clone())).await;
                store.finish_owned_job(job.id, worker, JobStatus::Failed, Some(&message)).await?
            }
        };
        if let Some(job) = &finished {
            let c = &self.service().shared().counters;
            let counter = match job.status {
                JobStatus::Success => Some(&c.succeeded),
                JobStatus::Failed => Some(&c.failed),
                JobStatus::Cancelled => Some(&c.cancelled),
                _ => None,
            };
            if let Some(counter) = counter {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            self.service().publish_final(job).await;
            self.alert_failure(job).await;
        }
        Ok(finished)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use synkro_core::{
        Keyring,
        connector::Registry,
        domain::{NewTenant, TriggerType},
        testing,
    };

    use super::*;
    use crate::ReportRequest;

    /// A job whose tenant's integrations cannot run fails for good at once (a configuration
    /// error is not retried), and the pool counts it; a shut-down pool leaves new jobs pending.
    #[tokio::test]
    async fn a_job_that_cannot_run_fails_once_and_is_counted() {
        let test = testing::sqlite().await;
        let service =
            Service::builder(test.store.clone(), Registry::default(), Keyring::generate()).build().await.unwrap();
        let workers = Workers::new(&service, WorkerConfig { workers: 1, ..Default::default() });
        assert!(workers.run_next("w").await.unwrap().is_none(), "an empty queue");
        let tenant = test.store.create_tenant(&NewTenant::new("Acme", "acme", "UTC").unwrap()).await.unwrap();
        let request = ReportRequest { trigger: TriggerType::System, ..ReportRequest::manual(tenant.id) };
        let job = service.enqueue_report(request).await.unwrap();
        let done = workers.run_next("w").await.unwrap().unwrap();
        assert_eq!((done.id, done.status, done.attempt), (job.id, JobStatus::Failed, 1));
        assert!(done.error.as_deref().unwrap_or_default().contains("needs a CRM"), "{:?}", done.error);
        assert_eq!(service.stats().failed, 1);

        workers.start().await;
        assert_eq!((service.stats().workers_started, service.stats().workers_alive), (1, 1));
        workers.shutdown().await;
        assert_eq!(service.stats().workers_alive, 0, "a worker ends on shutdown");
        test.finish().await;
    }
}

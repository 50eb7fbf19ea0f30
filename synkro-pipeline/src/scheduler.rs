//! The scheduler: for each active tenant with the schedule on, once the local time passes its
//! `scheduled_run_time`, enqueue the report for the last closed business day. Exactly one job
//! per window, with any number of schedulers on any number of nodes: the job's idempotency key
//! (`scheduled:tenant:mode:start:end`) is unique in the database. A run missed while the
//! service was down is caught up on the next tick, within `catch_up`; a run that was due before
//! the tenant's schedule took effect (the tenant was created, resumed, or its schedule, mode or
//! time zone changed) is not: catching up is for runs missed while no scheduler ran, and a
//! settings change never posts a report at once for a window that closed before it.

use std::time::Duration;

use synkro_core::{
    domain::{NewJobRun, TriggerType},
    store::{Constraint, JobCreated, StoreError},
    time::Timestamp,
};
use tokio_util::sync::CancellationToken;

use crate::{error::EngineError, service::Service, window::latest_due};

/// How far back a missed scheduled run is caught up unless configured otherwise (36 h: a
/// day's run missed over a night's outage still goes out).
pub const DEFAULT_CATCH_UP: Duration = Duration::from_secs(36 * 3600);

/// What one scheduler pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// Jobs created.
    pub created: usize,
    /// Windows whose job already existed (another node, or an earlier tick).
    pub existing: usize,
    /// Tenants skipped because they have an active report job (retried next tick).
    pub busy: usize,
}

/// One pass at `now`: runs missed up to `catch_up` ago are caught up.
pub async fn tick(service: &Service, now: Timestamp, catch_up: Duration) -> Result<Tick, EngineError> {
    let mut result = Tick::default();
    let horizon = time::Duration::try_from(catch_up).unwrap_or(time::Duration::days(1));
    for (tenant, config) in service.store().tenants_due().await? {
        let (due_at, window) = latest_due(now, &config.timezone, config.scheduled_run_time, config.business_day_start);
        if due_at > now || due_at + horizon < now || due_at < config.schedule_from {
            continue;
        }
        let job = NewJobRun::report(tenant.id, config.mode, TriggerType::Scheduled, window);
        match service.store().create_job(&job).await {
            Ok(JobCreated::New(job)) => {
                tracing::info!(tenant = %tenant.slug, job = %job.id, window_end = %window.end(), "scheduled report enqueued");
                result.created += 1;
            }
            Ok(JobCreated::Existing(_)) => result.existing += 1,
            Err(StoreError::Conflict(Constraint::ActiveReportJob { .. })) => result.busy += 1,
            Err(e) => tracing::warn!(tenant = %tenant.slug, error = %e, "scheduled report not enqueued"),
        }
    }
    if result.created > 0 {
        service.wake().await;
    }
    Ok(result)
}

/// Runs passes every `interval` until `shutdown`; the first pass runs at once, which catches up
/// runs missed while the service was down. Each pass also alerts tenants whose report is `grace`
/// overdue ([`crate::alerts::missed_reports`]).
pub(crate) async fn run(
    service: Service,
    interval: Duration,
    catch_up: Duration,
    grace: Duration,
    shutdown: CancellationToken,
) {
    loop {
        let now = Timestamp::now();
        if let Err(e) = tick(&service, now, catch_up).await {
            tracing::warn!(error = %e, "scheduler pass failed");
        }
        if let Err(e) = crate::alerts::missed_reports(&service, now, grace, catch_up).await {
            tracing::warn!(error = %e, "missed-report check failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

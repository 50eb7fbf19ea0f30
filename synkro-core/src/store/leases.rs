//! Job leases, what the durable job engine needs from the store: claim, extend, retry and
//! finish as the owner, and the queue's depth.
//!
//! Every operation takes the time it acts at (`now`) from the caller, so the engine and its
//! tests control time. A lease is a `(lease_owner, lease_expires_at)` pair on the job: only
//! the owner may extend it, retry the job or finish it, and once it has run out another worker
//! may take the job over, so a worker whose lease was taken learns it lost the job.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Backend, Store, StoreError, deliveries::ABANDONED_DELIVERY, error::map, on_pool};
use crate::{
    ValidationError,
    domain::{AuditAction, EventLevel, JobRun, JobStatus},
    error::check_len,
    ids::{JobEventId, JobId, ReportId},
    time::Timestamp,
};

/// Whether a worker still holds a job's lease, and whether a stop was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseState {
    /// The worker still owns the running job (its lease was extended). When false, another
    /// worker took the job over or it ended: stop working on it without writing anything.
    pub held: bool,
    /// A stop was requested: end the job as cancelled at the next step.
    pub cancel_requested: bool,
}

/// How many jobs wait and run, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueDepth {
    /// Pending jobs that may start now.
    pub pending_due: u64,
    /// Pending jobs waiting for a later `run_after` (retry backoff).
    pub pending_later: u64,
    /// Running jobs (including those whose lease ran out and await a take-over).
    pub running: u64,
}

/// The step of the events the engine writes when it ends an abandoned job.
const ABANDONED_STEP: &str = "engine";

/// The error a job gets when its workers kept stopping (`n` times, `max` allowed).
fn gave_up_message(n: i32, max: i32) -> String {
    format!("the job's worker stopped {n} times before it finished; giving up (max_attempts = {max})")
}

/// The claim statement; `$lock` is the row-locking clause of the backend (PostgreSQL skips
/// rows other workers are claiming; SQLite has a single writer, so one statement is atomic).
///
/// A candidate is a due pending job that was not asked to stop, or a running job whose lease
/// ran out. A running candidate that may not run again (its stop was requested, or it used
/// its last attempt) is ended in the same statement (cancelled or failed) instead of being
/// claimed; the caller sees that status and goes on to the next candidate.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE job_runs SET ",
            "status = CASE WHEN status = 'pending' THEN 'running' WHEN cancel_requested THEN 'cancelled' ",
            "WHEN attempt >= max_attempts THEN 'failed' ELSE 'running' END, ",
            "attempt = CASE WHEN status = 'running' AND (cancel_requested OR attempt >= max_attempts) ",
            "THEN attempt ELSE attempt + 1 END, ",
            "lease_owner = CASE WHEN status = 'running' AND (cancel_requested OR attempt >= max_attempts) ",
            "THEN NULL ELSE $1 END, ",
            "lease_expires_at = CASE WHEN status = 'running' AND (cancel_requested OR attempt >= max_attempts) ",
            "THEN NULL ELSE $3 END, ",
            "finished_at = CASE WHEN status = 'running' AND (cancel_requested OR attempt >= max_attempts) ",
            "THEN $2 ELSE finished_at END, ",
            "taken_over_from = CASE WHEN status = 'running' THEN lease_owner ELSE NULL END, ",
            "started_at = COALESCE(started_at, $2), updated_at = $2 ",
            "WHERE id = (SELECT id FROM job_runs WHERE ",
            "(status = 'pending' AND run_after <= $2 AND NOT cancel_requested) ",
            "OR (status = 'running' AND lease_expires_at < $2) ",
            "ORDER BY run_after, created_at, id LIMIT 1",
            $lock,
            ") RETURNING *"
        )
    };
}

#[cfg(feature = "postgres")]
const CLAIM_POSTGRES: &str = claim_sql!(" FOR UPDATE SKIP LOCKED");
const CLAIM_SQLITE: &str = claim_sql!("");

use super::jobs::INSERT_EVENT;

const INSERT_AUDIT: &str = "INSERT INTO audit_logs (id, tenant_id, actor_id, action, message, metadata, ip_address, \
                            created_at) VALUES ($1, $2, NULL, $3, $4, $5, NULL, $6)";

/// Settles the deliveries an ended job left `sending` (its worker stopped mid-send) as
/// `unknown`; the statement returns each one's report id.
const ABANDON_DELIVERIES: &str = "UPDATE report_deliveries SET state = 'unknown', error = $2, finished_at = $3 \
                                  WHERE job_id = $1 AND state = 'sending' RETURNING report_id";

/// A claimed job and the worker it was taken over from.
#[derive(sqlx::FromRow)]
struct Claimed {
    #[sqlx(flatten)]
    job: JobRun,
    taken_over_from: Option<String>,
}

/// What the running job's owner may use as its name.
fn check_worker(worker: &str) -> Result<(), ValidationError> {
    check_len("worker", worker, 200)
}

/// When a lease of `lease` taken at `now` runs out.
pub(super) fn lease_expiry(now: Timestamp, lease: Duration) -> Result<Timestamp, ValidationError> {
    let bad = |why: &str| ValidationError::new("lease", format!("{why}, got {lease:?}"));
    if lease.is_zero() {
        return Err(bad("must be longer than zero"));
    }
    let lease = time::Duration::try_from(lease).map_err(|_| bad("is too long"))?;
    now.as_offset().checked_add(lease).map(Timestamp::from_offset).ok_or_else(|| bad("is too long"))
}

impl Store {
    /// Atomically takes one job for `worker` with a lease of `lease` from `now`: the due
    /// pending job (not asked to stop) or the running job whose lease ran out (its worker
    /// died) with the oldest `run_after`, then the oldest `created_at`. The job becomes
    /// running, owned by `worker`, with `attempt + 1`. Two workers never get the same job.
    ///
    /// A job taken over after its lease ran out that has used all its attempts is not run
    /// again: it ends as failed ("the job's worker stopped n times ...") with an error event at
    /// step `engine`; one whose stop was requested ends as cancelled. Either way the next job
    /// is claimed instead. `None` when nothing is claimable.
    pub async fn claim_job(&self, worker: &str, lease: Duration, now: Timestamp) -> Result<Option<JobRun>, StoreError> {
        check_worker(worker)?;
        let expires = lease_expiry(now, lease)?;
        let sql = match self.backend {
            Backend::Sqlite(_) => CLAIM_SQLITE,
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => CLAIM_POSTGRES,
        };
        loop {
            let claimed = on_pool!(self, |pool| async {
                let mut tx = pool.begin().await?;
                let claimed = sqlx::query_as::<_, Claimed>(sql)
                    .bind(worker)
                    .bind(now)
                    .bind(expires)
                    .fetch_optional(&mut *tx)
                    .await?;
                let mut notes = Vec::new();
                if let Some(Claimed { job, taken_over_from }) = &claimed {
                    let data = json!({
                        "attempt": job.attempt,
                        "max_attempts": job.max_attempts,
                        "status": job.status,
                        "lost_by": taken_over_from,
                    });
                    if job.status != JobStatus::Running {
                        let (level, message) = if job.status == JobStatus::Cancelled {
                            let message = "stopped on request; its worker stopped before it could end the job";
                            (EventLevel::Warn, message.to_owned())
                        } else {
                            let message = gave_up_message(job.attempt, job.max_attempts);
                            sqlx::query("UPDATE job_runs SET error = $2 WHERE id = $1")
                                .bind(job.id)
                                .bind(&message)
                                .execute(&mut *tx)
                                .await?;
                            (EventLevel::Error, message)
                        };
                        notes.push((level, ABANDONED_STEP, message, data));
                        // A delivery its worker left mid-send: the outcome is unknown, and says so.
                        let reports: Vec<ReportId> = sqlx::query_scalar(ABANDON_DELIVERIES)
                            .bind(job.id)
                            .bind(ABANDONED_DELIVERY)
                            .bind(now)
                            .fetch_all(&mut *tx)
                            .await?;
                        for report in reports {
                            let message = format!("outcome unknown: {ABANDONED_DELIVERY} (check the chat; re-send it explicitly if it did not arrive)");
                            let metadata = json!({"job_id": job.id, "report_id": report});
                            sqlx::query(INSERT_AUDIT)
                                .bind(crate::ids::AuditId::new())
                                .bind(job.tenant_id)
                                .bind(AuditAction::ReportDeliveryUnknown)
                                .bind(&message)
                                .bind(sqlx::types::Json(&metadata))
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                            notes.push((EventLevel::Warn, "deliver", message, metadata));
                        }
                    } else if let Some(lost_by) = taken_over_from {
                        let message = format!(
                            "worker {lost_by} lost the job during attempt {} (it stopped or lost contact and its \
                             lease ran out); worker {worker} takes over with attempt {}",
                            job.attempt - 1,
                            job.attempt
                        );
                        notes.push((EventLevel::Warn, ABANDONED_STEP, message, data));
                    }
                    for (level, step, message, data) in notes {
                        sqlx::query(INSERT_EVENT)
                            .bind(JobEventId::new())
                            .bind(job.id)
                            .bind(level)
                            .bind(step)
                            .bind(message)
                            .bind(sqlx::types::Json(data))
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                Ok::<_, sqlx::Error>(claimed.map(|c| c.job))
            }
            .await)
            .map_err(map)?;
            match claimed {
                Some(job) if job.status != JobStatus::Running => continue,
                other => return Ok(other),
            }
        }
    }

    /// Extends `worker`'s lease on a running job to `now + lease`. Only the owner can: when
    /// another worker took the job over (or it ended) `held` is false and nothing changes.
    /// `cancel_requested` tells the owner to stop.
    pub async fn extend_lease(
        &self,
        job: JobId,
        worker: &str,
        lease: Duration,
        now: Timestamp,
    ) -> Result<LeaseState, StoreError> {
        let expires = lease_expiry(now, lease)?;
        const SQL: &str = "UPDATE job_runs SET lease_expires_at = $3 \
                           WHERE id = $1 AND status = 'running' AND lease_owner = $2 RETURNING cancel_requested";
        const CANCEL: &str = "SELECT cancel_requested FROM job_runs WHERE id = $1";
        let held: Option<bool> = on_pool!(self, |pool| {
            sqlx::query_scalar(SQL).bind(job).bind(worker).bind(expires).fetch_optional(pool).await
        })
        .map_err(map)?;
        if let Some(cancel_requested) = held {
            return Ok(LeaseState { held: true, cancel_requested });
        }
        let cancel_requested: Option<bool> =
            on_pool!(self, |pool| sqlx::query_scalar(CANCEL).bind(job).fetch_optional(pool).await).map_err(map)?;
        Ok(LeaseState { held: false, cancel_requested: cancel_requested.unwrap_or(false) })
    }

    /// Puts `worker`'s running job back to pending, to be claimed again from `run_after`, with
    /// `error` recorded and the lease released. If a stop was requested meanwhile the job ends
    /// as cancelled instead. False (and nothing changes) when `worker` no longer owns the job.
    pub async fn retry_job_later(
        &self,
        job: JobId,
        worker: &str,
        run_after: Timestamp,
        error: &str,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE job_runs SET \
            status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'pending' END, \
            finished_at = CASE WHEN cancel_requested THEN $5 ELSE finished_at END, \
            error = $4, run_after = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = $5 \
            WHERE id = $1 AND status = 'running' AND lease_owner = $2";
        let done = on_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(job)
                .bind(worker)
                .bind(run_after)
                .bind(error)
                .bind(Timestamp::now())
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(map)?;
        Ok(done > 0)
    }

    /// Ends `worker`'s running job as success (progress 100), failed or cancelled, releasing
    /// the lease, like [`Store::finish_job`]. `None` (and nothing changes) when `worker` no
    /// longer owns the job: another worker took it over, or it ended.
    pub async fn finish_owned_job(
        &self,
        job: JobId,
        worker: &str,
        status: JobStatus,
        error: Option<&str>,
    ) -> Result<Option<JobRun>, StoreError> {
        if status.is_active() {
            return Err(ValidationError::new("status", "a job can only finish as success, failed or cancelled").into());
        }
        const SQL: &str = "UPDATE job_runs SET status = $3, error = $4, finished_at = $5, updated_at = $5, \
                           progress = CASE WHEN $3 = 'success' THEN 100 ELSE progress END, \
                           lease_owner = NULL, lease_expires_at = NULL \
                           WHERE id = $1 AND status = 'running' AND lease_owner = $2 RETURNING *";
        on_pool!(self, |pool| {
            sqlx::query_as::<_, JobRun>(SQL)
                .bind(job)
                .bind(worker)
                .bind(status)
                .bind(error)
                .bind(Timestamp::now())
                .fetch_optional(pool)
                .await
        })
        .map_err(map)
    }

    /// How many jobs are pending (due at `now`, or later) and running.
    pub async fn queue_depth(&self, now: Timestamp) -> Result<QueueDepth, StoreError> {
        const SQL: &str = "SELECT \
            COUNT(*) FILTER (WHERE status = 'pending' AND run_after <= $1), \
            COUNT(*) FILTER (WHERE status = 'pending' AND run_after > $1), \
            COUNT(*) FILTER (WHERE status = 'running') \
            FROM job_runs WHERE status IN ('pending', 'running')";
        let (due, later, running): (i64, i64, i64) =
            on_pool!(self, |pool| sqlx::query_as(SQL).bind(now).fetch_one(pool).await).map_err(map)?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(QueueDepth { pending_due: count(due), pending_later: count(later), running: count(running) })
    }
}

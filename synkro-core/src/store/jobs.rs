//! Job runs and their events.

use super::{
    Constraint, Page, PageRequest, Store, StoreError,
    error::{found, map},
    on_pool,
};
use crate::{
    ValidationError,
    domain::{JobRun, JobRunEvent, JobStatus, NewJobEvent, NewJobRun, check_progress},
    ids::{JobEventId, JobId, TenantId},
    time::Timestamp,
};

/// The outcome of [`Store::create_job`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobCreated {
    /// A new job was created.
    New(JobRun),
    /// A job with the same idempotency key already existed; it is returned unchanged.
    Existing(JobRun),
}

impl JobCreated {
    /// The job, new or existing.
    pub fn job(&self) -> &JobRun {
        match self {
            Self::New(job) | Self::Existing(job) => job,
        }
    }

    /// The job, new or existing.
    pub fn into_job(self) -> JobRun {
        match self {
            Self::New(job) | Self::Existing(job) => job,
        }
    }
}

/// The statement that appends a step-log line, followed by `tail`.
macro_rules! insert_event_sql {
    ($tail:literal) => {
        concat!(
            "INSERT INTO job_run_events (id, job_id, level, step, message, data, created_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            $tail
        )
    };
}

/// Appends a step-log line (the engine's transactions use it too).
pub(super) const INSERT_EVENT: &str = insert_event_sql!("");

impl Store {
    /// Creates a pending job. Idempotent: when a job with the same idempotency key exists (even
    /// one created concurrently) that job is returned as [`JobCreated::Existing`]. A second
    /// active report job for a tenant is `Conflict(ActiveReportJob)` naming the active job.
    pub async fn create_job(&self, new: &NewJobRun) -> Result<JobCreated, StoreError> {
        new.validate()?;
        const SQL: &str = "INSERT INTO job_runs (id, tenant_id, job_type, mode, trigger_type, status, progress, \
            window_start, window_end, requested_by, idempotency_key, attempt, max_attempts, metadata, run_after, \
            cancel_requested, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, $8, $9, 0, $10, $11, $13, FALSE, $12, $12) \
            ON CONFLICT (idempotency_key) DO NOTHING RETURNING *";
        let now = Timestamp::now();
        let inserted = on_pool!(self, |pool| {
            sqlx::query_as::<_, JobRun>(SQL)
                .bind(JobId::new())
                .bind(new.tenant_id)
                .bind(new.job_type)
                .bind(new.mode)
                .bind(new.trigger_type)
                .bind(new.window.map(|w| w.start()))
                .bind(new.window.map(|w| w.end()))
                .bind(new.requested_by)
                .bind(&new.idempotency_key)
                .bind(new.max_attempts)
                .bind(sqlx::types::Json(&new.metadata))
                .bind(now)
                .bind(new.run_after.unwrap_or(now))
                .fetch_optional(pool)
                .await
        });
        match inserted.map_err(map) {
            Ok(Some(job)) => Ok(JobCreated::New(job)),
            Ok(None) => {
                let key = new.idempotency_key.as_deref().unwrap_or_default();
                Ok(JobCreated::Existing(self.get_job_by_key(key).await?))
            }
            Err(e) if e.is_conflict(&Constraint::ActiveReportJob { active: None }) => {
                let active = self.active_report_job(new.tenant_id).await?.map(|j| j.id);
                Err(StoreError::Conflict(Constraint::ActiveReportJob { active }))
            }
            Err(e) => Err(e),
        }
    }

    /// A job by id.
    pub async fn get_job(&self, id: JobId) -> Result<JobRun, StoreError> {
        const SQL: &str = "SELECT * FROM job_runs WHERE id = $1";
        let row = on_pool!(self, |pool| sqlx::query_as::<_, JobRun>(SQL).bind(id).fetch_optional(pool).await);
        found(row.map_err(map)?, "job")
    }

    /// A job by idempotency key.
    pub async fn get_job_by_key(&self, key: &str) -> Result<JobRun, StoreError> {
        const SQL: &str = "SELECT * FROM job_runs WHERE idempotency_key = $1";
        let row = on_pool!(self, |pool| sqlx::query_as::<_, JobRun>(SQL).bind(key).fetch_optional(pool).await);
        found(row.map_err(map)?, "job")
    }

    /// The tenant's pending or running report job, if any.
    pub async fn active_report_job(&self, tenant: TenantId) -> Result<Option<JobRun>, StoreError> {
        const SQL: &str = "SELECT * FROM job_runs WHERE tenant_id = $1 AND job_type = 'report_build' \
                           AND status IN ('pending', 'running')";
        on_pool!(self, |pool| sqlx::query_as::<_, JobRun>(SQL).bind(tenant).fetch_optional(pool).await).map_err(map)
    }

    /// Jobs, newest first; only one tenant's when `tenant` is given.
    pub async fn list_jobs(&self, tenant: Option<TenantId>, page: &PageRequest) -> Result<Page<JobRun>, StoreError> {
        const SQL: &str = "SELECT * FROM job_runs WHERE ($1 IS NULL OR tenant_id = $1) \
                           AND ($2 IS NULL OR (created_at, id) < ($2, $3)) \
                           ORDER BY created_at DESC, id DESC LIMIT $4";
        let (at, id, limit) = page.binds();
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, JobRun>(SQL).bind(tenant).bind(at).bind(id).bind(limit).fetch_all(pool).await
        })
        .map_err(map)?;
        Ok(Page::from_rows(rows, page, |j| (j.created_at, j.id.as_uuid())))
    }

    /// Sets the step a job is on and its progress (0-100).
    pub async fn update_job_progress(&self, id: JobId, step: &str, progress: u8) -> Result<JobRun, StoreError> {
        check_progress(progress)?;
        const SQL: &str =
            "UPDATE job_runs SET current_step = $2, progress = $3, updated_at = $4 WHERE id = $1 RETURNING *";
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, JobRun>(SQL)
                .bind(id)
                .bind(step)
                .bind(i16::from(progress))
                .bind(Timestamp::now())
                .fetch_optional(pool)
                .await
        });
        found(row.map_err(map)?, "job")
    }

    /// Ends a job as success, failed or cancelled, releasing its lease. Ending a job that has
    /// already ended is `Conflict`: a finished job's outcome never changes.
    pub async fn finish_job(&self, id: JobId, status: JobStatus, error: Option<&str>) -> Result<JobRun, StoreError> {
        if status.is_active() {
            return Err(ValidationError::new("status", "a job can only finish as success, failed or cancelled").into());
        }
        const SQL: &str = "UPDATE job_runs SET status = $2, error = $3, finished_at = $4, updated_at = $4, \
                           progress = CASE WHEN $2 = 'success' THEN 100 ELSE progress END, \
                           lease_owner = NULL, lease_expires_at = NULL \
                           WHERE id = $1 AND status IN ('pending', 'running') RETURNING *";
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, JobRun>(SQL)
                .bind(id)
                .bind(status)
                .bind(error)
                .bind(Timestamp::now())
                .fetch_optional(pool)
                .await
        })
        .map_err(map)?;
        match row {
            Some(job) => Ok(job),
            None => {
                let job = self.get_job(id).await?;
                Err(StoreError::Conflict(Constraint::Other(format!("job already ended as {}", job.status))))
            }
        }
    }

    /// Asks a job to stop: a pending job is cancelled at once; a running job is flagged and its
    /// worker stops at the next step. Returns the job as it now stands.
    pub async fn request_job_cancel(&self, id: JobId) -> Result<JobRun, StoreError> {
        const SQL: &str = "UPDATE job_runs SET cancel_requested = TRUE, updated_at = $2, \
            status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END, \
            finished_at = CASE WHEN status = 'pending' THEN $2 ELSE finished_at END \
            WHERE id = $1 AND status IN ('pending', 'running') RETURNING *";
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, JobRun>(SQL).bind(id).bind(Timestamp::now()).fetch_optional(pool).await
        })
        .map_err(map)?;
        match row {
            Some(job) => Ok(job),
            None => self.get_job(id).await,
        }
    }

    /// Appends a line to a job's step log.
    pub async fn append_job_event(&self, new: &NewJobEvent) -> Result<JobRunEvent, StoreError> {
        new.validate()?;
        const SQL: &str = insert_event_sql!(" RETURNING *");
        on_pool!(self, |pool| {
            sqlx::query_as::<_, JobRunEvent>(SQL)
                .bind(JobEventId::new())
                .bind(new.job_id)
                .bind(new.level)
                .bind(&new.step)
                .bind(&new.message)
                .bind(sqlx::types::Json(&new.data))
                .bind(Timestamp::now())
                .fetch_one(pool)
                .await
        })
        .map_err(map)
    }

    /// A job's events in the order they happened; with `after`, only those that came after that
    /// event (for following a live log). At most `limit` (1-1000).
    pub async fn list_job_events(
        &self,
        job: JobId,
        after: Option<JobEventId>,
        limit: u32,
    ) -> Result<Vec<JobRunEvent>, StoreError> {
        if !(1..=1000).contains(&limit) {
            return Err(ValidationError::new("limit", "must be between 1 and 1000").into());
        }
        const SQL: &str = "SELECT * FROM job_run_events WHERE job_id = $1 AND ($2 IS NULL OR (created_at, id) > \
                           (SELECT created_at, id FROM job_run_events WHERE id = $2)) \
                           ORDER BY created_at, id LIMIT $3";
        on_pool!(self, |pool| {
            sqlx::query_as::<_, JobRunEvent>(SQL).bind(job).bind(after).bind(i64::from(limit)).fetch_all(pool).await
        })
        .map_err(map)
    }
}

//! Job runs (the tracker of every background job) and their step-by-step events.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ReportMode, string_enum};
use crate::{
    ValidationError,
    error::check_len,
    ids::{JobEventId, JobId, ReportId, TenantId, UserId},
    time::Timestamp,
};

string_enum! {
    /// What a job does.
    pub enum JobType("job_type") {
        /// Builds (and delivers) a report.
        ReportBuild = "report_build",
        /// Delivers a saved report again: a retry after the messenger failed in a way a retry
        /// can fix, or a re-send a person asked for. Its metadata names the report.
        ReportDelivery = "report_delivery",
    }
}

string_enum! {
    /// What started a job.
    pub enum TriggerType("trigger_type") {
        /// The scheduler, for a tenant's last closed business day.
        Scheduled = "scheduled",
        /// A person, for a window they chose.
        Manual = "manual",
        /// Synkro itself (catch-up, maintenance).
        System = "system",
    }
}

string_enum! {
    /// Where a job is in its life.
    pub enum JobStatus("status") {
        /// Waiting for a worker (new, or waiting to retry after `run_after`).
        Pending = "pending",
        /// Claimed by a worker that holds a lease.
        Running = "running",
        /// Finished successfully.
        Success = "success",
        /// Finished with an error (see `error`), or gave up after too many attempts.
        Failed = "failed",
        /// Stopped on request.
        Cancelled = "cancelled",
    }
}

impl JobStatus {
    /// Pending or running: the job still holds its tenant's report slot.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Pending | Self::Running)
    }

    /// Success, failed or cancelled.
    pub fn is_finished(self) -> bool {
        !self.is_active()
    }
}

string_enum! {
    /// Severity of a job event.
    pub enum EventLevel("level") {
        /// Normal progress.
        Info = "info",
        /// Something was degraded or cut, but the job goes on.
        Warn = "warn",
        /// A failure.
        Error = "error",
    }
}

/// A time window `[start, end)`; `end` is always after `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    start: Timestamp,
    end: Timestamp,
}

impl Window {
    /// Validates that the window ends after it starts.
    pub fn new(start: Timestamp, end: Timestamp) -> Result<Self, ValidationError> {
        if end <= start {
            return Err(ValidationError::new(
                "window_end",
                format!("the window must end after it starts (start {start}, end {end})"),
            ));
        }
        Ok(Self { start, end })
    }

    /// Inclusive start.
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// Exclusive end.
    pub fn end(&self) -> Timestamp {
        self.end
    }
}

/// A background job and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct JobRun {
    /// Id.
    pub id: JobId,
    /// Owner.
    pub tenant_id: TenantId,
    /// What it does.
    pub job_type: JobType,
    /// Report mode, for report jobs.
    pub mode: Option<ReportMode>,
    /// What started it.
    pub trigger_type: TriggerType,
    /// Where it is.
    pub status: JobStatus,
    /// The step it is on (or ended on).
    pub current_step: Option<String>,
    /// 0 to 100.
    #[cfg_attr(feature = "store", sqlx(try_from = "i16"))]
    pub progress: u8,
    /// Why it failed.
    pub error: Option<String>,
    /// Start of the data window.
    pub window_start: Option<Timestamp>,
    /// End of the data window.
    pub window_end: Option<Timestamp>,
    /// Who asked for it.
    pub requested_by: Option<UserId>,
    /// Unique key that makes creating the job idempotent.
    pub idempotency_key: Option<String>,
    /// How many times a worker has started it.
    pub attempt: i32,
    /// After this many attempts it fails for good.
    pub max_attempts: i32,
    /// Free-form details (a JSON object).
    #[cfg_attr(feature = "store", sqlx(json))]
    pub metadata: Value,
    /// The worker holding the lease.
    pub lease_owner: Option<String>,
    /// When the lease runs out unless extended.
    pub lease_expires_at: Option<Timestamp>,
    /// Not to be claimed before this time (retry backoff).
    pub run_after: Timestamp,
    /// A stop was requested.
    pub cancel_requested: bool,
    /// When a worker first started it.
    pub started_at: Option<Timestamp>,
    /// When it finished.
    pub finished_at: Option<Timestamp>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// A job to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJobRun {
    /// Owner.
    pub tenant_id: TenantId,
    /// What it does.
    pub job_type: JobType,
    /// Report mode, for report jobs.
    pub mode: Option<ReportMode>,
    /// What started it.
    pub trigger_type: TriggerType,
    /// Data window.
    pub window: Option<Window>,
    /// Who asked for it.
    pub requested_by: Option<UserId>,
    /// Unique key; creating a job with a key that exists returns the existing job.
    pub idempotency_key: Option<String>,
    /// Attempts before giving up (default 3).
    pub max_attempts: i32,
    /// Free-form details (a JSON object).
    pub metadata: Value,
    /// Not before this time (`None`: now).
    pub run_after: Option<Timestamp>,
}

/// How many times a delivery job may start (its retries are bounded by time, see
/// `report_deliveries.give_up_at`; this bounds workers that keep dying).
pub const DELIVERY_MAX_ATTEMPTS: i32 = 100;

impl NewJobRun {
    /// A job that delivers `report` (of `tenant_id`) at `run_after`: attempt `attempt` of its
    /// delivery, a retry or (`resend`) a re-send a person asked for. The key
    /// `delivery:report:attempt` makes it once per attempt.
    pub fn delivery(tenant_id: TenantId, report: ReportId, attempt: u32, resend: bool, run_after: Timestamp) -> Self {
        Self {
            tenant_id,
            job_type: JobType::ReportDelivery,
            mode: None,
            trigger_type: TriggerType::System,
            window: None,
            requested_by: None,
            idempotency_key: Some(format!("delivery:{report}:{attempt}")),
            max_attempts: DELIVERY_MAX_ATTEMPTS,
            metadata: serde_json::json!({"report_id": report, "resend": resend}),
            run_after: Some(run_after),
        }
    }

    /// The report a delivery job delivers, and whether it is a re-send.
    pub fn delivery_target(job: &JobRun) -> Option<(ReportId, bool)> {
        let report = job.metadata.get("report_id")?.as_str()?.parse().ok()?;
        Some((report, job.metadata.get("resend").and_then(Value::as_bool).unwrap_or(false)))
    }

    /// A report job for `window`, with the idempotency key
    /// `trigger:tenant:mode:start:end` (unix seconds) that DESIGN.md section 7 describes.
    pub fn report(tenant_id: TenantId, mode: ReportMode, trigger_type: TriggerType, window: Window) -> Self {
        let key = format!(
            "{}:{}:{}:{}:{}",
            trigger_type,
            tenant_id,
            mode,
            window.start().unix_seconds(),
            window.end().unix_seconds()
        );
        Self {
            tenant_id,
            job_type: JobType::ReportBuild,
            mode: Some(mode),
            trigger_type,
            window: Some(window),
            requested_by: None,
            idempotency_key: Some(key),
            max_attempts: 3,
            metadata: Value::Object(Default::default()),
            run_after: None,
        }
    }

    /// Checks the key, attempts and metadata.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(key) = &self.idempotency_key {
            check_len("idempotency_key", key, 200)?;
        }
        if !(1..=100).contains(&self.max_attempts) {
            return Err(ValidationError::new("max_attempts", "must be between 1 and 100"));
        }
        if !self.metadata.is_object() {
            return Err(ValidationError::new("metadata", "must be a JSON object"));
        }
        Ok(())
    }
}

/// One line of a job's step-by-step log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct JobRunEvent {
    /// Id.
    pub id: JobEventId,
    /// The job.
    pub job_id: JobId,
    /// Severity.
    pub level: EventLevel,
    /// The step it belongs to.
    pub step: Option<String>,
    /// What happened, for people.
    pub message: String,
    /// Details (a JSON object).
    #[cfg_attr(feature = "store", sqlx(json))]
    pub data: Value,
    /// When it happened.
    pub created_at: Timestamp,
}

/// An event to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJobEvent {
    /// The job.
    pub job_id: JobId,
    /// Severity.
    pub level: EventLevel,
    /// The step it belongs to.
    pub step: Option<String>,
    /// What happened.
    pub message: String,
    /// Details (a JSON object).
    pub data: Value,
}

impl NewJobEvent {
    /// An info event with no data.
    pub fn info(job_id: JobId, step: &str, message: impl Into<String>) -> Self {
        Self {
            job_id,
            level: EventLevel::Info,
            step: Some(step.to_owned()),
            message: message.into(),
            data: Value::Object(Default::default()),
        }
    }

    /// Checks the message and data.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_len("message", &self.message, 4_000)?;
        if !self.data.is_object() {
            return Err(ValidationError::new("data", "must be a JSON object"));
        }
        Ok(())
    }
}

/// Checks a progress value.
#[cfg(feature = "store")]
pub(crate) fn check_progress(progress: u8) -> Result<(), ValidationError> {
    if progress > 100 {
        return Err(ValidationError::new("progress", format!("must be between 0 and 100, got {progress}")));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_unix_seconds(s).unwrap()
    }

    #[test]
    fn windows_must_end_after_they_start() {
        assert!(Window::new(ts(10), ts(20)).is_ok());
        let err = Window::new(ts(20), ts(20)).unwrap_err();
        assert_eq!(err.field, "window_end");
        assert!(Window::new(ts(30), ts(20)).is_err());
    }

    #[test]
    fn report_jobs_get_the_documented_idempotency_key() {
        let tenant = TenantId::new();
        let job = NewJobRun::report(
            tenant,
            ReportMode::ChatsOnly,
            TriggerType::Scheduled,
            Window::new(ts(100), ts(200)).unwrap(),
        );
        assert_eq!(job.idempotency_key.as_deref(), Some(format!("scheduled:{tenant}:chats_only:100:200").as_str()));
        assert!(job.validate().is_ok());
    }

    #[test]
    fn progress_is_capped_at_100() {
        assert!(check_progress(100).is_ok());
        assert_eq!(check_progress(101).unwrap_err().field, "progress");
    }

    #[test]
    fn only_pending_and_running_are_active() {
        let active: Vec<_> = JobStatus::ALL.iter().filter(|s| s.is_active()).collect();
        assert_eq!(active, [&JobStatus::Pending, &JobStatus::Running]);
    }
}

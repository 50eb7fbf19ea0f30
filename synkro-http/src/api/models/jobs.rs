//! Report jobs, their step logs and live progress.

use poem_openapi::{Enum, Object};
use serde::Deserialize;
use serde_json::Value;
use synkro_core::domain::{JobRun, JobRunEvent, ReportMode};
use time::OffsetDateTime;
use uuid::Uuid;

use super::at;

/// Which sources a report combines, named by capability. The vendor names of the first
/// release (`amocrm_radist`, `radist_only`, `amocrm_only`) are still accepted and answered with
/// the new names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ModeName {
    /// CRM deals joined with chat dialogs by phone.
    CrmChats,
    /// Chat dialogs only.
    ChatsOnly,
    /// CRM deals only.
    CrmOnly,
    /// Old name of `crm_chats` (accepted, never answered).
    AmocrmRadist,
    /// Old name of `chats_only` (accepted, never answered).
    RadistOnly,
    /// Old name of `crm_only` (accepted, never answered).
    AmocrmOnly,
}

impl From<ModeName> for ReportMode {
    fn from(m: ModeName) -> Self {
        match m {
            ModeName::CrmChats | ModeName::AmocrmRadist => ReportMode::CrmChats,
            ModeName::ChatsOnly | ModeName::RadistOnly => ReportMode::ChatsOnly,
            ModeName::CrmOnly | ModeName::AmocrmOnly => ReportMode::CrmOnly,
        }
    }
}

impl From<ReportMode> for ModeName {
    fn from(m: ReportMode) -> Self {
        match m {
            ReportMode::CrmChats => ModeName::CrmChats,
            ReportMode::ChatsOnly => ModeName::ChatsOnly,
            ReportMode::CrmOnly => ModeName::CrmOnly,
        }
    }
}

/// A manual report request; without a window, the tenant's last closed business day.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartJob {
    /// Window start (RFC 3339); give both ends or neither.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub window_start: Option<OffsetDateTime>,
    /// Window end (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub window_end: Option<OffsetDateTime>,
    /// Overrides the tenant's report mode.
    #[serde(default)]
    pub mode: Option<ModeName>,
}

/// A job run.
#[derive(Debug, Clone, Object)]
pub struct JobOut {
    /// Id.
    pub id: Uuid,
    /// Tenant.
    pub tenant_id: Uuid,
    /// Job type.
    pub job_type: String,
    /// Report mode.
    pub mode: Option<String>,
    /// `scheduled`, `manual` or `system`.
    pub trigger_type: String,
    /// `pending`, `running`, `success`, `failed` or `cancelled`.
    pub status: String,
    /// The step it is on.
    pub current_step: Option<String>,
    /// 0-100.
    pub progress: u8,
    /// Why it failed.
    pub error: Option<String>,
    /// Window start.
    pub window_start: Option<OffsetDateTime>,
    /// Window end.
    pub window_end: Option<OffsetDateTime>,
    /// Who started it.
    pub requested_by: Option<Uuid>,
    /// Attempts made.
    pub attempt: i32,
    /// Whether a stop was requested.
    pub cancel_requested: bool,
    /// When it started running.
    pub started_at: Option<OffsetDateTime>,
    /// When it ended.
    pub finished_at: Option<OffsetDateTime>,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

impl From<JobRun> for JobOut {
    fn from(j: JobRun) -> Self {
        Self {
            id: j.id.as_uuid(),
            tenant_id: j.tenant_id.as_uuid(),
            job_type: j.job_type.to_string(),
            mode: j.mode.map(|m| m.to_string()),
            trigger_type: j.trigger_type.to_string(),
            status: j.status.to_string(),
            current_step: j.current_step,
            progress: j.progress,
            error: j.error,
            window_start: j.window_start.map(at),
            window_end: j.window_end.map(at),
            requested_by: j.requested_by.map(|u| u.as_uuid()),
            attempt: j.attempt,
            cancel_requested: j.cancel_requested,
            started_at: j.started_at.map(at),
            finished_at: j.finished_at.map(at),
            created_at: at(j.created_at),
        }
    }
}

/// A page of jobs.
#[derive(Debug, Object)]
pub struct JobPage {
    /// Jobs, newest first.
    pub items: Vec<JobOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A line of a job's step log.
#[derive(Debug, Clone, Object)]
pub struct EventOut {
    /// Id (pass as `after` to get later events).
    pub id: Uuid,
    /// `info`, `warn` or `error`.
    pub level: String,
    /// The step.
    pub step: Option<String>,
    /// What happened.
    pub message: String,
    /// Details.
    pub data: Value,
    /// When.
    pub created_at: OffsetDateTime,
}

impl From<JobRunEvent> for EventOut {
    fn from(e: JobRunEvent) -> Self {
        Self {
            id: e.id.as_uuid(),
            level: e.level.to_string(),
            step: e.step,
            message: e.message,
            data: e.data,
            created_at: at(e.created_at),
        }
    }
}

/// What a live progress event carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum StreamKind {
    /// The job's state changed (`job` is set).
    Job,
    /// A step-log line was written (`event` is set).
    Log,
    /// The job finished (`job` is set); the stream ends.
    Done,
}

/// One Server-Sent Event of `GET /jobs/{id}/stream`; its SSE event type is `kind`.
#[derive(Debug, Clone, Object)]
pub struct StreamEvent {
    /// What it carries.
    pub kind: StreamKind,
    /// The job (for `job` and `done`).
    pub job: Option<JobOut>,
    /// The step-log line (for `log`).
    pub event: Option<EventOut>,
}

//! The API's request and response bodies (wire types, kept apart from the domain types).

use poem_openapi::{Enum, Object};
use serde::Deserialize;
use serde_json::Value;
use synkro_core::{
    domain::{JobRun, JobRunEvent, Report, ReportMessage, ReportMode, Tenant, User, UserRole},
    time::Timestamp,
};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

fn at(t: Timestamp) -> OffsetDateTime {
    t.as_offset()
}

/// Credentials for `POST /auth/login`.
#[derive(Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login name.
    pub username: String,
    /// Password.
    #[oai(write_only)]
    pub password: String,
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Object)]
pub struct UserOut {
    /// Id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Contact e-mail.
    pub email: Option<String>,
    /// May do everything.
    pub is_superuser: bool,
}

impl From<&User> for UserOut {
    fn from(u: &User) -> Self {
        Self { id: u.id.as_uuid(), username: u.username.clone(), email: u.email.clone(), is_superuser: u.is_superuser }
    }
}

/// One of the caller's roles.
#[derive(Debug, Object)]
pub struct RoleOut {
    /// The tenant; absent for a global role.
    pub tenant_id: Option<Uuid>,
    /// `super_admin`, `admin_lite` or `user`.
    pub role: String,
}

impl From<&UserRole> for RoleOut {
    fn from(r: &UserRole) -> Self {
        Self { tenant_id: r.tenant_id.map(|t| t.as_uuid()), role: r.role.to_string() }
    }
}

/// The signed-in user, their roles and the CSRF token to send in `X-CSRF-Token`.
#[derive(Debug, Object)]
pub struct Me {
    /// The user.
    pub user: UserOut,
    /// Their active roles.
    pub roles: Vec<RoleOut>,
    /// Send this in `X-CSRF-Token` on every request other than GET.
    pub csrf_token: String,
}

/// A tenant.
#[derive(Debug, Object)]
pub struct TenantOut {
    /// Id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Unique slug.
    pub slug: String,
    /// `active`, `paused` or `disabled`.
    pub status: String,
    /// IANA time zone.
    pub timezone: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

impl From<Tenant> for TenantOut {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id.as_uuid(),
            name: t.name,
            slug: t.slug.to_string(),
            status: t.status.to_string(),
            timezone: t.timezone.as_str().to_owned(),
            created_at: at(t.created_at),
        }
    }
}

/// A page of tenants.
#[derive(Debug, Object)]
pub struct TenantPage {
    /// The tenants, newest first.
    pub items: Vec<TenantOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A report in a list: its summary fields only.
#[derive(Debug, Object)]
pub struct ReportSummary {
    /// Id.
    pub id: Uuid,
    /// Tenant.
    pub tenant_id: Uuid,
    /// The job that built it.
    pub job_id: Option<Uuid>,
    /// First business day covered.
    pub period_start: Date,
    /// Last business day covered.
    pub period_end: Date,
    /// Start of the window.
    pub window_start: OffsetDateTime,
    /// End of the window.
    pub window_end: OffsetDateTime,
    /// Report type.
    pub report_type: String,
    /// Report status.
    pub status: String,
    /// The summary numbers (the `summary` part of the report's metadata).
    pub summary: Option<Value>,
    /// When it was built.
    pub created_at: OffsetDateTime,
}

impl From<&Report> for ReportSummary {
    fn from(r: &Report) -> Self {
        Self {
            id: r.id.as_uuid(),
            tenant_id: r.tenant_id.as_uuid(),
            job_id: r.job_id.map(|j| j.as_uuid()),
            period_start: r.period_start,
            period_end: r.period_end,
            window_start: at(r.window_start),
            window_end: at(r.window_end),
            report_type: r.report_type.to_string(),
            status: r.status.to_string(),
            summary: r.metadata.get("summary").cloned(),
            created_at: at(r.created_at),
        }
    }
}

/// A page of reports.
#[derive(Debug, Object)]
pub struct ReportPage {
    /// Reports, newest first.
    pub items: Vec<ReportSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A whole report.
#[derive(Debug, Object)]
pub struct ReportOut {
    /// The summary fields.
    #[oai(flatten)]
    pub summary: ReportSummary,
    /// The report text.
    pub summary_text: String,
    /// Details: summary numbers, per-manager figures, warnings.
    pub metadata: Value,
    /// Until when follow-up questions are answered in Telegram.
    pub followup_deadline_at: Option<OffsetDateTime>,
}

impl From<Report> for ReportOut {
    fn from(r: Report) -> Self {
        Self {
            summary: ReportSummary::from(&r),
            summary_text: r.summary_text,
            metadata: r.metadata,
            followup_deadline_at: r.followup_deadline_at.map(at),
        }
    }
}

/// Report mode override for a manual job.
#[derive(Debug, Clone, Copy, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ModeIn {
    /// amoCRM deals joined with Radist dialogs.
    AmocrmRadist,
    /// Radist dialogs only.
    RadistOnly,
    /// amoCRM deals only.
    AmocrmOnly,
}

impl From<ModeIn> for ReportMode {
    fn from(m: ModeIn) -> Self {
        match m {
            ModeIn::AmocrmRadist => ReportMode::AmocrmRadist,
            ModeIn::RadistOnly => ReportMode::RadistOnly,
            ModeIn::AmocrmOnly => ReportMode::AmocrmOnly,
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
    pub mode: Option<ModeIn>,
}

/// A job run.
#[derive(Debug, Object)]
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
#[derive(Debug, Object)]
pub struct EventOut {
    /// Id (pass as `after` to get later events).
    pub id: Uuid,
    /// `info`, `warning` or `error`.
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

/// A follow-up question.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AskQuestion {
    /// The question, 1-2000 characters.
    pub question: String,
}

/// A follow-up question and its answer.
#[derive(Debug, Object)]
pub struct MessageOut {
    /// Id.
    pub id: Uuid,
    /// Who asked.
    pub actor_id: Option<Uuid>,
    /// The question.
    pub question: String,
    /// The AI's answer.
    pub answer: String,
    /// `web` or `telegram`.
    pub source: String,
    /// When.
    pub created_at: OffsetDateTime,
}

impl From<ReportMessage> for MessageOut {
    fn from(m: ReportMessage) -> Self {
        Self {
            id: m.id.as_uuid(),
            actor_id: m.actor_id.map(|a| a.as_uuid()),
            question: m.question,
            answer: m.answer,
            source: m.source.to_string(),
            created_at: at(m.created_at),
        }
    }
}

//! Reports and follow-up questions.

use poem_openapi::Object;
use serde::Deserialize;
use serde_json::Value;
use synkro_core::domain::{Report, ReportListItem, ReportMessage};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::at;

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
    /// `daily` or `forced`.
    pub report_type: String,
    /// `draft`, `ready`, `sent` or `failed`.
    pub status: String,
    /// The summary numbers (the `summary` part of the report's metadata).
    pub summary: Option<Value>,
    /// When it was built.
    pub created_at: OffsetDateTime,
}

impl From<ReportListItem> for ReportSummary {
    fn from(r: ReportListItem) -> Self {
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
            summary: r.summary,
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
        let item = ReportListItem {
            id: r.id,
            tenant_id: r.tenant_id,
            job_id: r.job_id,
            period_start: r.period_start,
            period_end: r.period_end,
            window_start: r.window_start,
            window_end: r.window_end,
            report_type: r.report_type,
            status: r.status,
            summary: r.metadata.get("summary").cloned(),
            created_at: r.created_at,
        };
        Self {
            summary: item.into(),
            summary_text: r.summary_text,
            metadata: r.metadata,
            followup_deadline_at: r.followup_deadline_at.map(at),
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

//! Reports and the follow-up questions asked about them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Date;

use super::{Analytics, Window, string_enum};
use crate::{
    ValidationError,
    connector::FailureClass,
    error::check_len,
    ids::{JobId, ReportId, ReportMessageId, TenantId, UserId},
    time::Timestamp,
};

string_enum! {
    /// Why a report was made.
    pub enum ReportType("report_type") {
        /// The scheduled report for a business day.
        Daily = "daily",
        /// A manual report for a chosen window.
        Forced = "forced",
    }
}

string_enum! {
    /// Where a report is in its life.
    pub enum ReportStatus("status") {
        /// Being written.
        Draft = "draft",
        /// Saved; not (yet) delivered.
        Ready = "ready",
        /// Delivered to Telegram.
        Sent = "sent",
        /// Could not be produced.
        Failed = "failed",
    }
}

string_enum! {
    /// Where a follow-up question came from.
    pub enum MessageSource("source") {
        /// The web dashboard.
        Web = "web",
        /// The tenant's Telegram chat.
        Telegram = "telegram",
    }
}

/// The numbers of a report: deals, dialogs, messages, and counts per stage and per manager.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Rows in the report.
    pub total_deals: u64,
    /// Rows with at least one message.
    pub deals_with_dialogs: u64,
    /// Messages across all rows.
    pub total_messages: u64,
    /// Rows per stage name (`(no stage)` when unknown).
    pub by_status: BTreeMap<String, u64>,
    /// Rows per responsible manager (`(unassigned)` when unknown).
    pub by_manager: BTreeMap<String, u64>,
}

/// How a report's text was written: by the AI, or as the plain fallback and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiOutcome {
    /// Whether the plain fallback text was used (no AI integration, or the AI failed).
    pub fallback: bool,
    /// The model that wrote the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Whether the output-token limit cut the text.
    #[serde(default)]
    pub truncated: bool,
    /// Why the AI was not used, in Synkro's words (never an upstream body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The failure class when the AI failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<FailureClass>,
    /// The kind of the integration that provided the AI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration: Option<String>,
}

/// A management report for one window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct Report {
    /// Id.
    pub id: ReportId,
    /// Owner.
    pub tenant_id: TenantId,
    /// The job that made it (one report per job at most).
    pub job_id: Option<JobId>,
    /// First day covered, in the tenant's time zone.
    pub period_start: Date,
    /// Last day covered, in the tenant's time zone.
    pub period_end: Date,
    /// Start of the data window.
    pub window_start: Timestamp,
    /// End of the data window.
    pub window_end: Timestamp,
    /// Daily or forced.
    pub report_type: ReportType,
    /// Where it is.
    pub status: ReportStatus,
    /// The report text.
    pub summary_text: String,
    /// The numbers (`None` only for reports that never had them).
    #[cfg_attr(feature = "store", sqlx(json(nullable)))]
    pub summary: Option<Summary>,
    /// How the text was written (`None` only for reports that never said).
    #[cfg_attr(feature = "store", sqlx(json(nullable)))]
    pub ai: Option<AiOutcome>,
    /// The conversation analytics (`None` for reports made before Synkro measured them).
    #[cfg_attr(feature = "store", sqlx(json(nullable)))]
    pub analytics: Option<Analytics>,
    /// Everything else: mode, trigger, warehouse, sources cut by a cap.
    #[cfg_attr(feature = "store", sqlx(json))]
    pub metadata: Value,
    /// Where the report's data rows live.
    pub data_ref: Option<String>,
    /// Follow-up questions are answered until then.
    pub followup_deadline_at: Option<Timestamp>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// Which reports a list shows: all by default; a status, and a period that the report's days
/// must overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportFilter {
    /// Only reports in this state.
    pub status: Option<ReportStatus>,
    /// Only reports whose period ends on or after this day.
    pub from: Option<Date>,
    /// Only reports whose period starts on or before this day.
    pub to: Option<Date>,
}

impl ReportFilter {
    /// Whether it lets every report through.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A report's three totals, for trends: what a chart of recent reports needs and no more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct ReportTotals {
    /// Id.
    pub id: ReportId,
    /// First day covered.
    pub period_start: Date,
    /// Last day covered.
    pub period_end: Date,
    /// Its state.
    pub status: ReportStatus,
    /// When it was made.
    pub created_at: Timestamp,
    /// Deals in the report (`None` for a report without summary numbers).
    pub total_deals: Option<i64>,
    /// Deals with a dialog.
    pub deals_with_dialogs: Option<i64>,
    /// Messages both ways.
    pub total_messages: Option<i64>,
}

/// A report as a list shows it: everything but its text and details, plus the summary
/// numbers (the `summary` object of its metadata) as JSON text, passed through unparsed.
#[derive(Debug, Clone, Serialize)]
pub struct ReportListItem {
    /// Id.
    pub id: ReportId,
    /// Owner.
    pub tenant_id: TenantId,
    /// The job that made it.
    pub job_id: Option<JobId>,
    /// First day covered, in the tenant's time zone.
    pub period_start: Date,
    /// Last day covered, in the tenant's time zone.
    pub period_end: Date,
    /// Start of the data window.
    pub window_start: Timestamp,
    /// End of the data window.
    pub window_end: Timestamp,
    /// Daily or forced.
    pub report_type: ReportType,
    /// Where it is.
    pub status: ReportStatus,
    /// The summary numbers, if the report has them (`serde_json::from_str(s.get())` to read).
    pub summary: Option<Box<serde_json::value::RawValue>>,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A report to save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    /// Owner.
    pub tenant_id: TenantId,
    /// The job that made it.
    pub job_id: Option<JobId>,
    /// First day covered (tenant time).
    pub period_start: Date,
    /// Last day covered (tenant time).
    pub period_end: Date,
    /// The data window.
    pub window: Window,
    /// Daily or forced.
    pub report_type: ReportType,
    /// Initial status.
    pub status: ReportStatus,
    /// The report text.
    pub summary_text: String,
    /// The numbers.
    pub summary: Summary,
    /// How the text was written.
    pub ai: AiOutcome,
    /// The conversation analytics.
    pub analytics: Analytics,
    /// Everything else (a JSON object): mode, trigger, warehouse, sources cut by a cap.
    pub metadata: Value,
    /// Where the data rows live.
    pub data_ref: Option<String>,
    /// Follow-ups are answered until then.
    pub followup_deadline_at: Option<Timestamp>,
}

impl NewReport {
    /// Checks periods, text length and metadata.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.period_end < self.period_start {
            return Err(ValidationError::new("period_end", "must not be before period_start"));
        }
        if self.summary_text.chars().count() > 200_000 {
            return Err(ValidationError::new("summary_text", "must be at most 200000 characters"));
        }
        if !self.metadata.is_object() {
            return Err(ValidationError::new("metadata", "must be a JSON object"));
        }
        Ok(())
    }
}

/// A follow-up question about a report and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct ReportMessage {
    /// Id.
    pub id: ReportMessageId,
    /// The report.
    pub report_id: ReportId,
    /// Who asked (`None` for Telegram).
    pub actor_id: Option<UserId>,
    /// The question.
    pub question: String,
    /// The answer.
    pub answer: String,
    /// Web or Telegram.
    pub source: MessageSource,
    /// When it was asked.
    pub created_at: Timestamp,
}

/// A question and answer to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReportMessage {
    /// The report.
    pub report_id: ReportId,
    /// Who asked.
    pub actor_id: Option<UserId>,
    /// The question, 1-4000 characters.
    pub question: String,
    /// The answer.
    pub answer: String,
    /// Web or Telegram.
    pub source: MessageSource,
}

impl NewReportMessage {
    /// Checks the question's length.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_len("question", &self.question, 4_000)
    }
}

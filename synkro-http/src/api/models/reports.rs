//! Reports and follow-up questions.

use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};
use serde_json::{Value, value::RawValue};
use synkro_core::{
    domain::{Report, ReportListItem, ReportMessage},
    store::{Delivery, DeliveryState},
    time::Timestamp,
};
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
        let summary = r.summary.as_deref().and_then(|raw| serde_json::from_str(raw.get()).ok());
        Self::with_summary(r, summary)
    }
}

impl ReportSummary {
    /// The list fields of `r` with `summary` (already parsed) as its summary numbers.
    fn with_summary(r: ReportListItem, summary: Option<Value>) -> Self {
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
            summary,
            created_at: at(r.created_at),
        }
    }
}

/// [`ReportPage`] as serde writes it for `GET /tenants/{id}/reports`: the same JSON, with each
/// summary passed through as stored instead of parsed and rebuilt.
#[derive(Serialize)]
pub struct ReportPageWire<'a> {
    /// Reports, newest first.
    pub items: Vec<ReportSummaryWire<'a>>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// [`ReportSummary`] as serde writes it.
#[derive(Serialize)]
pub struct ReportSummaryWire<'a> {
    id: Uuid,
    tenant_id: Uuid,
    job_id: Option<Uuid>,
    #[serde(serialize_with = "wire::date")]
    period_start: Date,
    #[serde(serialize_with = "wire::date")]
    period_end: Date,
    #[serde(serialize_with = "wire::instant")]
    window_start: Timestamp,
    #[serde(serialize_with = "wire::instant")]
    window_end: Timestamp,
    report_type: &'static str,
    status: &'static str,
    summary: Option<&'a RawValue>,
    #[serde(serialize_with = "wire::instant")]
    created_at: Timestamp,
}

impl<'a> From<&'a ReportListItem> for ReportSummaryWire<'a> {
    fn from(r: &'a ReportListItem) -> Self {
        Self {
            id: r.id.as_uuid(),
            tenant_id: r.tenant_id.as_uuid(),
            job_id: r.job_id.map(|j| j.as_uuid()),
            period_start: r.period_start,
            period_end: r.period_end,
            window_start: r.window_start,
            window_end: r.window_end,
            report_type: r.report_type.as_str(),
            status: r.status.as_str(),
            summary: r.summary.as_deref(),
            created_at: r.created_at,
        }
    }
}

/// Dates and times written exactly as poem-openapi writes them.
mod wire {
    use serde::Serializer;
    use synkro_core::time::Timestamp;
    use time::{Date, format_description::well_known::Rfc3339, macros::format_description};

    pub fn date<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        let text = d.format(format_description!("[year]-[month]-[day]")).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub fn instant<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.as_offset().format(&Rfc3339).map_err(serde::ser::Error::custom)?)
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
    /// How the text was written: `fallback` (the plain text was used), `model`, `truncated`,
    /// and when the AI was not used, `error` and its failure `class`.
    pub ai: Option<Value>,
    /// Conversation analytics Synkro measured: `day` (deals, messages each way, clients left
    /// waiting, first-response median and 90th percentile), `managers`, `stages` (not for
    /// `chats_only`), and the longest `waiting` clients and `slowest` first responses by name.
    /// Absent on reports made before they were measured.
    pub analytics: Option<Value>,
    /// Other details: mode, trigger, warehouse, sources cut by a cap.
    pub metadata: Value,
    /// Until when follow-up questions are answered in Telegram.
    pub followup_deadline_at: Option<OffsetDateTime>,
    /// How its delivery to the messenger stands; absent when sending never started (no
    /// messenger, or not yet).
    pub delivery: Option<DeliveryOut>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DeliveryStateName {
    /// Being sent.
    Sending,
    /// Delivered.
    Sent,
    /// Failed in a way a retry can fix; tried again at `next_attempt_at`.
    Retrying,
    /// Failed for good; only an explicit re-send sends it again.
    Failed,
    /// A worker stopped mid-send: it may or may not have arrived; only an explicit re-send
    /// sends it again.
    Unknown,
}

impl From<DeliveryState> for DeliveryStateName {
    fn from(s: DeliveryState) -> Self {
        match s {
            DeliveryState::Sending => Self::Sending,
            DeliveryState::Sent => Self::Sent,
            DeliveryState::Retrying => Self::Retrying,
            DeliveryState::Failed => Self::Failed,
            DeliveryState::Unknown => Self::Unknown,
        }
    }
}

/// A report's delivery.
#[derive(Debug, Object)]
pub struct DeliveryOut {
    /// Where it stands.
    pub state: DeliveryStateName,
    /// True for `unknown` and `failed`: a person should look, and may re-send it
    /// (`POST /reports/{id}/resend`).
    pub needs_attention: bool,
    /// Where it went (`telegram`).
    pub channel: String,
    /// How many times sending started.
    pub attempts: u32,
    /// Messages delivered.
    pub messages: u32,
    /// Why it failed or is unknown (Synkro's words).
    pub error: Option<String>,
    /// When sending last started.
    pub started_at: OffsetDateTime,
    /// When it last ended.
    pub finished_at: Option<OffsetDateTime>,
    /// While retrying: the next try.
    pub next_attempt_at: Option<OffsetDateTime>,
    /// While retrying: when retrying stops.
    pub give_up_at: Option<OffsetDateTime>,
}

impl From<Delivery> for DeliveryOut {
    fn from(d: Delivery) -> Self {
        Self {
            state: d.state.into(),
            needs_attention: d.needs_attention(),
            channel: d.channel,
            attempts: d.attempts,
            messages: d.messages,
            error: d.error,
            started_at: at(d.started_at),
            finished_at: d.finished_at.map(at),
            next_attempt_at: d.next_attempt_at.map(at),
            give_up_at: d.give_up_at.map(at),
        }
    }
}

impl ReportOut {
    /// The API view of a report and its delivery.
    pub fn new(r: Report, delivery: Option<Delivery>) -> Self {
        Self { delivery: delivery.map(Into::into), ..r.into() }
    }
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
            summary: None,
            created_at: r.created_at,
        };
        Self {
            summary: ReportSummary::with_summary(item, r.summary.as_ref().and_then(|s| serde_json::to_value(s).ok())),
            summary_text: r.summary_text,
            ai: r.ai.as_ref().and_then(|a| serde_json::to_value(a).ok()),
            analytics: r.analytics.as_ref().and_then(|a| serde_json::to_value(a).ok()),
            metadata: r.metadata,
            followup_deadline_at: r.followup_deadline_at.map(at),
            delivery: None,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use poem_openapi::types::ToJSON;
    use synkro_core::{
        domain::{ReportStatus, ReportType},
        ids::{JobId, ReportId, TenantId},
    };

    use super::*;

    fn item(summary: Option<&str>, job: bool) -> ReportListItem {
        let at = Timestamp::from_unix_micros(1_780_000_123_456_789).unwrap();
        ReportListItem {
            id: ReportId::new(),
            tenant_id: TenantId::new(),
            job_id: job.then(JobId::new),
            period_start: time::macros::date!(2026 - 06 - 01),
            period_end: time::macros::date!(2026 - 06 - 02),
            window_start: at,
            window_end: at + time::Duration::hours(24),
            report_type: ReportType::ALL[1],
            status: ReportStatus::ALL[2],
            summary: summary.map(|s| RawValue::from_string(s.to_owned()).unwrap()),
            created_at: at,
        }
    }

    #[test]
    fn the_encoded_list_has_exactly_the_documented_shape() {
        let summary = r#"{"total_deals": 40, "by_status": {"Этап \"1\"": 3}, "ratio": 0.25}"#;
        let items = [item(Some(summary), true), item(None, false)];
        for next_cursor in [Some("abc".to_owned()), None] {
            let wire = ReportPageWire {
                items: items.iter().map(ReportSummaryWire::from).collect(),
                next_cursor: next_cursor.clone(),
            };
            let encoded: Value = serde_json::to_value(&wire).unwrap();
            let documented =
                ReportPage { items: items.iter().cloned().map(ReportSummary::from).collect(), next_cursor };
            assert_eq!(encoded, documented.to_json().unwrap());
        }
    }
}

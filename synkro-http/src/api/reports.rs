//! Reports and follow-up questions.

use futures::StreamExt;
use poem::{Body, Request, web::Data};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
    payload::{Binary, Json, PlainText},
};
use synkro_core::{
    ValidationError,
    domain::{JobRun, MessageSource, Report, ReportFilter, ReportMessage, ReportStatus},
    ids::{ReportId, TenantId},
};
use synkro_pipeline::export::Phones;
use uuid::Uuid;

use super::{
    Tag,
    models::{AskQuestion, JobOut, MessageOut, ReportOut, ReportPage, ReportPageWire, ReportSummaryWire},
    page_request,
};
use crate::{
    AppState,
    access::{Action, allowed, authorize},
    auth::{Auth, Caller},
    body::JsonBody,
    encoded::Encoded,
    error::ApiResult,
};
use synkro_core::domain::AuditAction;

#[derive(Default)]
pub struct ReportsApi;

/// A report's rows as a CSV file.
#[derive(ApiResponse)]
pub enum CsvFile {
    /// One line per deal (per chat in `chats_only`), the header first: `deal_id`, `deal`,
    /// `stage`, `manager`, `phone` (its last 4 digits only, unless the caller administers the
    /// tenant), messages each way, files sent, responses, the median and longest first
    /// response, how long the client has waited at the window's end, and whether the dialog
    /// went quiet (seconds; empty when not measured).
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Ok(Binary<Body>, #[oai(header = "Content-Disposition")] String),
}

/// A report as a Markdown file.
#[derive(ApiResponse)]
pub enum MarkdownFile {
    /// The title (tenant and period), the report's text and its figures, in the tenant's
    /// language.
    #[oai(status = 200, content_type = "text/markdown; charset=utf-8")]
    Ok(PlainText<String>, #[oai(header = "Content-Disposition")] String),
}

/// `attachment; filename="report-2026-03-02.csv"`.
fn attachment(report: &synkro_core::domain::Report, extension: &str) -> String {
    let dates = if report.period_start == report.period_end {
        report.period_start.to_string()
    } else {
        format!("{}_{}", report.period_start, report.period_end)
    };
    format!("attachment; filename=\"report-{dates}.{extension}\"")
}

/// The report list's filter from its query (blank values are no filter): `status`, and the
/// days `from` / `to` (`YYYY-MM-DD`).
pub(crate) fn report_filter(status: Option<&str>, from: Option<&str>, to: Option<&str>) -> ApiResult<ReportFilter> {
    fn given(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|v| !v.is_empty())
    }
    let day = |field: &'static str, v: Option<&str>| -> ApiResult<Option<time::Date>> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        given(v)
            .map(|v| time::Date::parse(v, format))
            .transpose()
            .map_err(|_| ValidationError::new(field, "must be a day as YYYY-MM-DD, for example 2026-12-01").into())
    };
    let status = given(status)
        .map(|s| {
            s.parse::<ReportStatus>()
                .map_err(|_| ValidationError::new("status", "must be one of draft, ready, sent, failed"))
        })
        .transpose()?;
    let (from, to) = (day("from", from)?, day("to", to)?);
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(ValidationError::new("to", "must not be before from").into());
    }
    Ok(ReportFilter { status, from, to })
}

impl ReportsApi {
    async fn report(&self, state: &AppState, caller: &Auth, id: Uuid, action: Action) -> ApiResult<Report> {
        report(state, &caller.0, ReportId::from_uuid(id), action).await
    }
}

/// The report `id` if `caller` may do `action` on its tenant (404 when they may not see it).
pub(crate) async fn report(state: &AppState, caller: &Caller, id: ReportId, action: Action) -> ApiResult<Report> {
    let report = state.store().get_report(id).await?;
    authorize(caller, report.tenant_id, action, "report")?;
    Ok(report)
}

/// Whether `caller` sees `report`'s phone numbers in full (admins) or masked.
pub(crate) fn phones_for(caller: &Caller, report: &Report) -> Phones {
    if allowed(caller, report.tenant_id, Action::ManageSettings) { Phones::Full } else { Phones::Masked }
}

/// Sends a report's delivery again as `caller` (an admin) asks.
pub(crate) async fn resend_report(state: &AppState, caller: &Caller, id: ReportId) -> ApiResult<JobRun> {
    let report = report(state, caller, id, Action::ManageSettings).await?;
    Ok(state.service.resend_report(report.id, Some(caller.user.id)).await?)
}

/// Asks a follow-up question about report `id` as `caller` (the API's and the dashboard's one
/// path): 1-2000 characters, their hourly allowance, the answer stored, an audit entry. Also
/// gives the report's tenant.
pub(crate) async fn ask_question(
    state: &AppState,
    req: &Request,
    caller: &Caller,
    id: ReportId,
    question: &str,
) -> ApiResult<(TenantId, ReportMessage)> {
    let report = report(state, caller, id, Action::UseReports).await?;
    let question = question.trim();
    if question.is_empty() || question.chars().count() > 2000 {
        return Err(ValidationError::new("question", "must be 1-2000 characters").into());
    }
    let user = caller.user.id;
    state.limits().take(user, crate::limits::Costly::Question)?;
    let message = state.service.ask(report.id, Some(user), question, MessageSource::Web).await?;
    let metadata = serde_json::json!({ "report_id": report.id.as_uuid() });
    let tenant = Some(report.tenant_id);
    crate::audit::by(state, req, caller, AuditAction::ReportQuestion, "asked a follow-up question", tenant, metadata)
        .await;
    Ok((report.tenant_id, message))
}

#[OpenApi(tag = "Tag::Reports")]
impl ReportsApi {
    /// A tenant's reports, newest first, with their summary fields; `status`, `from` and `to`
    /// narrow the list.
    #[oai(path = "/tenants/:id/reports", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list_reports(
        &self,
        state: Data<&AppState>,
        caller: Auth,
        id: Path<Uuid>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Only reports in this state: `draft`, `ready`, `sent` or `failed`.
        status: Query<Option<String>>,
        /// Only reports whose period ends on or after this day (`2026-12-01`).
        from: Query<Option<String>>,
        /// Only reports whose period starts on or before this day (`2026-12-31`).
        to: Query<Option<String>>,
    ) -> ApiResult<Encoded<ReportPage>> {
        let tenant = TenantId::from_uuid(id.0);
        authorize(&caller.0, tenant, Action::Read, "tenant")?;
        let request = page_request(limit.0, cursor.0.clone())?;
        let filter = report_filter(status.0.as_deref(), from.0.as_deref(), to.0.as_deref())?;
        let cursor = cursor.0.filter(|c| !c.is_empty());
        let cacheable = filter.is_empty();
        if cacheable && let Some(bytes) = state.pages().get(tenant, request.limit(), cursor.as_deref()) {
            return Ok(Encoded::from_bytes(bytes));
        }
        let page = state.store().list_report_items(tenant, &filter, &request).await?;
        let items = page.items.iter().map(ReportSummaryWire::from).collect();
        let encoded = Encoded::new(&ReportPageWire { items, next_cursor: page.next_cursor.map(|c| c.to_string()) })?;
        if cacheable {
            state.pages().put(tenant, request.limit(), cursor.as_deref(), encoded.shared());
        }
        Ok(encoded)
    }

    /// A whole report.
    #[oai(path = "/reports/:id", method = "get")]
    async fn get_report(&self, state: Data<&AppState>, caller: Auth, id: Path<Uuid>) -> ApiResult<Json<ReportOut>> {
        let report = self.report(&state, &caller, id.0, Action::Read).await?;
        let delivery = state.store().get_delivery(report.id).await?;
        Ok(Json(ReportOut::new(report, delivery)))
    }

    /// A report's rows as CSV: the deals (or chats) of its window and mode as the warehouse it
    /// used holds them now, each with its measured waits and first responses. Phones show only
    /// their last 4 digits unless the caller administers the tenant (`admin_lite` and above).
    /// Each export reads the tenant's warehouse: 120 per user per hour (20 at once), then 429
    /// with `Retry-After`.
    #[oai(path = "/reports/:id/rows.csv", method = "get")]
    async fn export_rows(&self, state: Data<&AppState>, caller: Auth, id: Path<Uuid>) -> ApiResult<CsvFile> {
        let report = self.report(&state, &caller, id.0, Action::Read).await?;
        state.limits().take(caller.0.user.id, crate::limits::Costly::Export)?;
        let chunks = state.service.export_rows(&report, phones_for(&caller.0, &report)).await?;
        let body = Body::from_bytes_stream(chunks.map(|chunk| {
            chunk.map(bytes::Bytes::from).map_err(|e| {
                tracing::warn!(error = %e, "CSV export stopped");
                std::io::Error::other("the export stopped")
            })
        }));
        Ok(CsvFile::Ok(Binary(body), attachment(&report, "csv")))
    }

    /// A report as Markdown (plain text): a title with the tenant and period, the report's text
    /// and its figures, in the tenant's language.
    #[oai(path = "/reports/:id/text.md", method = "get")]
    async fn export_text(&self, state: Data<&AppState>, caller: Auth, id: Path<Uuid>) -> ApiResult<MarkdownFile> {
        let report = self.report(&state, &caller, id.0, Action::Read).await?;
        let text = state.service.export_markdown(&report).await?;
        Ok(MarkdownFile::Ok(PlainText(text), attachment(&report, "md")))
    }

    /// Send a report to the tenant's messenger again. Only a delivery that is `unknown` (a
    /// worker stopped mid-send) or `failed` for good can be re-sent, and this is the only way
    /// it is sent again; 409 while it is delivered, being sent or waiting for a retry. Starts a
    /// delivery job (follow it at `/jobs/{id}`); the audit log records who asked.
    #[oai(path = "/reports/:id/resend", method = "post")]
    async fn resend(&self, state: Data<&AppState>, caller: Auth, id: Path<Uuid>) -> ApiResult<Json<JobOut>> {
        let job = resend_report(&state, &caller.0, ReportId::from_uuid(id.0)).await?;
        Ok(Json(job.into()))
    }

    /// Ask the AI a follow-up question about a report; the answer is stored with it.
    #[oai(path = "/reports/:id/questions", method = "post")]
    async fn ask(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: Auth,
        id: Path<Uuid>,
        body: JsonBody<AskQuestion>,
    ) -> ApiResult<Json<MessageOut>> {
        let (_, message) = ask_question(&state, req, &caller.0, ReportId::from_uuid(id.0), &body.0.question).await?;
        Ok(Json(message.into()))
    }

    /// A report's follow-up questions and answers, oldest first (the last 200).
    #[oai(path = "/reports/:id/questions", method = "get")]
    async fn list_questions(
        &self,
        state: Data<&AppState>,
        caller: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<Vec<MessageOut>>> {
        let report = self.report(&state, &caller, id.0, Action::Read).await?;
        let messages = state.store().recent_report_messages(report.id, 200).await?;
        Ok(Json(messages.into_iter().map(MessageOut::from).collect()))
    }
}

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
    domain::MessageSource,
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
    auth::Auth,
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

impl ReportsApi {
    async fn report(
        &self,
        state: &AppState,
        caller: &Auth,
        id: Uuid,
        action: Action,
    ) -> ApiResult<synkro_core::domain::Report> {
        let report = state.store().get_report(ReportId::from_uuid(id)).await?;
        authorize(&caller.0, report.tenant_id, action, "report")?;
        Ok(report)
    }
}

#[OpenApi(tag = "Tag::Reports")]
impl ReportsApi {
    /// A tenant's reports, newest first, with their summary fields.
    #[oai(path = "/tenants/:id/reports", method = "get")]
    async fn list_reports(
        &self,
        state: Data<&AppState>,
        caller: Auth,
        id: Path<Uuid>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Encoded<ReportPage>> {
        let tenant = TenantId::from_uuid(id.0);
        authorize(&caller.0, tenant, Action::Read, "tenant")?;
        let request = page_request(limit.0, cursor.0.clone())?;
        let cursor = cursor.0.filter(|c| !c.is_empty());
        if let Some(bytes) = state.pages().get(tenant, request.limit(), cursor.as_deref()) {
            return Ok(Encoded::from_bytes(bytes));
        }
        let page = state.store().list_report_items(tenant, &request).await?;
        let items = page.items.iter().map(ReportSummaryWire::from).collect();
        let encoded = Encoded::new(&ReportPageWire { items, next_cursor: page.next_cursor.map(|c| c.to_string()) })?;
        state.pages().put(tenant, request.limit(), cursor.as_deref(), encoded.shared());
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
        let admin = allowed(&caller.0, report.tenant_id, Action::ManageSettings);
        let phones = if admin { Phones::Full } else { Phones::Masked };
        let chunks = state.service.export_rows(&report, phones).await?;
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
        let report = self.report(&state, &caller, id.0, Action::ManageSettings).await?;
        let job = state.service.resend_report(report.id, Some(caller.0.user.id)).await?;
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
        let report = self.report(&state, &caller, id.0, Action::UseReports).await?;
        let question = body.0.question.trim().to_owned();
        if question.is_empty() || question.chars().count() > 2000 {
            return Err(ValidationError::new("question", "must be 1-2000 characters").into());
        }
        let user = caller.0.user.id;
        state.limits().take(user, crate::limits::Costly::Question)?;
        let message = state.service.ask(report.id, Some(user), &question, MessageSource::Web).await?;
        let metadata = serde_json::json!({ "report_id": report.id.as_uuid() });
        let message_text = "asked a follow-up question";
        crate::audit::by(
            &state,
            req,
            &caller.0,
            AuditAction::ReportQuestion,
            message_text,
            Some(report.tenant_id),
            metadata,
        )
        .await;
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

//! Tenants, their reports and follow-up questions.

use std::collections::BTreeSet;

use poem::{Request, web::Data};
use poem_openapi::{
    OpenApi,
    param::{Path, Query},
    payload::Json,
};
use synkro_core::{
    ValidationError,
    domain::MessageSource,
    ids::{ReportId, TenantId},
};
use uuid::Uuid;

use super::{
    Tag, map_page,
    models::{AskQuestion, MessageOut, ReportOut, ReportPage, ReportSummary, TenantOut, TenantPage},
    page_request,
};
use crate::{
    AppState,
    access::{self, Action, authorize},
    auth::SessionAuth,
    body::JsonBody,
    error::ApiResult,
    net,
};

pub struct TenantsApi;

#[OpenApi(tag = "Tag::Tenants")]
impl TenantsApi {
    /// The tenants the caller can see, newest first.
    ///
    /// Superusers and holders of a global role see every tenant (paged); others see the tenants
    /// they hold a role on (one page).
    #[oai(path = "/tenants", method = "get")]
    async fn list_tenants(
        &self,
        state: Data<&AppState>,
        caller: SessionAuth,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<TenantPage>> {
        let page = page_request(limit.0, cursor.0)?;
        let store = &state.store;
        if access::sees_all_tenants(&caller.0) {
            let (items, next_cursor) = map_page(store.list_tenants(&page).await?, TenantOut::from);
            return Ok(Json(TenantPage { items, next_cursor }));
        }
        let ids: BTreeSet<TenantId> = caller.0.roles.iter().filter_map(|r| r.tenant_id).collect();
        let mut tenants = Vec::with_capacity(ids.len());
        for id in ids {
            tenants.push(store.get_tenant(id).await?);
        }
        tenants.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id.as_uuid())));
        Ok(Json(TenantPage { items: tenants.into_iter().map(TenantOut::from).collect(), next_cursor: None }))
    }

    /// One tenant.
    #[oai(path = "/tenants/:id", method = "get")]
    async fn get_tenant(
        &self,
        state: Data<&AppState>,
        caller: SessionAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<TenantOut>> {
        let id = TenantId::from_uuid(id.0);
        authorize(&caller.0, id, Action::Read, "tenant")?;
        Ok(Json(state.store.get_tenant(id).await?.into()))
    }
}

pub struct ReportsApi;

impl ReportsApi {
    async fn report(
        &self,
        state: &AppState,
        caller: &SessionAuth,
        id: Uuid,
        action: Action,
    ) -> ApiResult<synkro_core::domain::Report> {
        let report = state.store.get_report(ReportId::from_uuid(id)).await?;
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
        caller: SessionAuth,
        id: Path<Uuid>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<ReportPage>> {
        let tenant = TenantId::from_uuid(id.0);
        authorize(&caller.0, tenant, Action::Read, "tenant")?;
        let page = page_request(limit.0, cursor.0)?;
        let (items, next_cursor) =
            map_page(state.store.list_reports(tenant, &page).await?, |r| ReportSummary::from(&r));
        Ok(Json(ReportPage { items, next_cursor }))
    }

    /// A whole report.
    #[oai(path = "/reports/:id", method = "get")]
    async fn get_report(
        &self,
        state: Data<&AppState>,
        caller: SessionAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<ReportOut>> {
        Ok(Json(self.report(&state, &caller, id.0, Action::Read).await?.into()))
    }

    /// Ask the AI a follow-up question about a report; the answer is stored with it.
    #[oai(path = "/reports/:id/questions", method = "post")]
    async fn ask(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: SessionAuth,
        id: Path<Uuid>,
        body: JsonBody<AskQuestion>,
    ) -> ApiResult<Json<MessageOut>> {
        let report = self.report(&state, &caller, id.0, Action::UseReports).await?;
        let question = body.0.question.trim().to_owned();
        if question.is_empty() || question.chars().count() > 2000 {
            return Err(ValidationError::new("question", "must be 1-2000 characters").into());
        }
        let user = caller.0.user.id;
        let message =
            synkro_pipeline::followup::ask(&state.engine, report.id, Some(user), &question, MessageSource::Web).await?;
        let entry = crate::audit::Entry {
            action: "report.question",
            message: "asked a follow-up question".to_owned(),
            tenant: Some(report.tenant_id),
            actor: Some(user),
            ip: net::request_ip(&state.config, req),
            metadata: serde_json::json!({ "report_id": report.id.as_uuid() }),
        };
        crate::audit::record(&state, entry).await;
        Ok(Json(message.into()))
    }

    /// A report's follow-up questions and answers, oldest first (the last 200).
    #[oai(path = "/reports/:id/questions", method = "get")]
    async fn list_questions(
        &self,
        state: Data<&AppState>,
        caller: SessionAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<Vec<MessageOut>>> {
        let report = self.report(&state, &caller, id.0, Action::Read).await?;
        let messages = state.store.recent_report_messages(report.id, 200).await?;
        Ok(Json(messages.into_iter().map(MessageOut::from).collect()))
    }
}

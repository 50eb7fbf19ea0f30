//! Report jobs: start a manual report, list, get, events, stop.

use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use synkro_core::{
    ValidationError,
    domain::JobRun,
    ids::{JobEventId, JobId, TenantId, UserId},
    time::Timestamp,
};
use synkro_pipeline::ReportRequest;
use uuid::Uuid;

use super::{
    Tag, map_page,
    models::{EventOut, JobOut, JobPage, StartJob},
    page_request,
};
use crate::{
    AppState,
    access::{Action, authorize},
    auth::SessionAuth,
    body::JsonBody,
    error::ApiResult,
    net,
};

pub struct JobsApi;

#[derive(ApiResponse)]
enum Started {
    /// The job is queued (or the same request's job is returned).
    #[oai(status = 202)]
    Accepted(Json<JobOut>),
}

impl JobsApi {
    async fn job(&self, state: &AppState, caller: &SessionAuth, id: Uuid, action: Action) -> ApiResult<JobRun> {
        let job = state.store.get_job(JobId::from_uuid(id)).await?;
        authorize(&caller.0, job.tenant_id, action, "job")?;
        Ok(job)
    }

    async fn audit(&self, state: &AppState, req: &Request, action: &str, message: &str, job: &JobRun, actor: UserId) {
        let entry = crate::audit::Entry {
            action,
            message: message.to_owned(),
            tenant: Some(job.tenant_id),
            actor: Some(actor),
            ip: net::request_ip(&state.config, req),
            metadata: serde_json::json!({ "job_id": job.id.as_uuid() }),
        };
        crate::audit::record(state, entry).await;
    }
}

#[OpenApi(tag = "Tag::Jobs")]
impl JobsApi {
    /// Start a manual report for a tenant.
    ///
    /// Without a window, the tenant's last closed business day. 409 `active_job` names the job
    /// that already runs for the tenant.
    #[oai(path = "/tenants/:id/jobs", method = "post")]
    async fn start_job(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: SessionAuth,
        id: Path<Uuid>,
        body: JsonBody<StartJob>,
    ) -> ApiResult<Started> {
        let tenant = TenantId::from_uuid(id.0);
        authorize(&caller.0, tenant, Action::UseReports, "tenant")?;
        let StartJob { window_start, window_end, mode } = body.0;
        let mut request = ReportRequest::manual(tenant);
        request.requested_by = Some(caller.0.user.id);
        request.mode = mode.map(Into::into);
        match (window_start, window_end) {
            (Some(start), Some(end)) => {
                request = request.window(Timestamp::from_offset(start), Timestamp::from_offset(end));
            }
            (None, None) => {}
            (Some(_), None) => return Err(ValidationError::new("window_end", "give both ends of the window").into()),
            (None, Some(_)) => {
                return Err(ValidationError::new("window_start", "give both ends of the window").into());
            }
        }
        let job = state.engine.enqueue_report(request).await?;
        self.audit(&state, req, "job.start", "started a manual report", &job, caller.0.user.id).await;
        Ok(Started::Accepted(Json(job.into())))
    }

    /// A tenant's jobs, newest first.
    #[oai(path = "/tenants/:id/jobs", method = "get")]
    async fn list_jobs(
        &self,
        state: Data<&AppState>,
        caller: SessionAuth,
        id: Path<Uuid>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<JobPage>> {
        let tenant = TenantId::from_uuid(id.0);
        authorize(&caller.0, tenant, Action::Read, "tenant")?;
        let page = page_request(limit.0, cursor.0)?;
        let (items, next_cursor) = map_page(state.store.list_jobs(Some(tenant), &page).await?, JobOut::from);
        Ok(Json(JobPage { items, next_cursor }))
    }

    /// One job.
    #[oai(path = "/jobs/:id", method = "get")]
    async fn get_job(&self, state: Data<&AppState>, caller: SessionAuth, id: Path<Uuid>) -> ApiResult<Json<JobOut>> {
        Ok(Json(self.job(&state, &caller, id.0, Action::Read).await?.into()))
    }

    /// A job's step log in order; with `after`, only the events after that one.
    #[oai(path = "/jobs/:id/events", method = "get")]
    async fn job_events(
        &self,
        state: Data<&AppState>,
        caller: SessionAuth,
        id: Path<Uuid>,
        /// The id of the last event already seen.
        after: Query<Option<Uuid>>,
        /// At most this many events, 1-1000 (default 500).
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<Vec<EventOut>>> {
        let job = self.job(&state, &caller, id.0, Action::Read).await?;
        let after = after.0.map(JobEventId::from_uuid);
        let events = state.store.list_job_events(job.id, after, limit.0.unwrap_or(500)).await?;
        Ok(Json(events.into_iter().map(EventOut::from).collect()))
    }

    /// Ask a job to stop: a pending job stops at once, a running one at its next step.
    #[oai(path = "/jobs/:id/stop", method = "post")]
    async fn stop_job(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: SessionAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<JobOut>> {
        let job = self.job(&state, &caller, id.0, Action::UseReports).await?;
        let job = state.engine.stop(job.id).await?;
        self.audit(&state, req, "job.stop", "asked a job to stop", &job, caller.0.user.id).await;
        Ok(Json(job.into()))
    }
}

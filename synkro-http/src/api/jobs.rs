//! Report jobs: start a manual report, list, get, events, stop.

use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use synkro_core::{
    ValidationError,
    domain::{JobRun, TriggerType},
    ids::{JobEventId, JobId, TenantId},
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
    auth::{Auth, Caller},
    body::JsonBody,
    error::ApiResult,
    stream::{JobStream, job_stream},
};
use synkro_core::domain::AuditAction;

#[derive(Default)]
pub struct JobsApi;

#[derive(ApiResponse)]
enum Started {
    /// The job is queued (or the same request's job is returned).
    #[oai(status = 202)]
    Accepted(Json<JobOut>),
}

impl JobsApi {
    async fn job(&self, state: &AppState, caller: &Auth, id: Uuid, action: Action) -> ApiResult<JobRun> {
        job(state, &caller.0, JobId::from_uuid(id), action).await
    }
}

/// The job `id` if `caller` may do `action` on its tenant (404 when they may not even see it).
pub(crate) async fn job(state: &AppState, caller: &Caller, id: JobId, action: Action) -> ApiResult<JobRun> {
    let job = state.store().get_job(id).await?;
    authorize(caller, job.tenant_id, action, "job")?;
    Ok(job)
}

async fn audit(state: &AppState, req: &Request, caller: &Caller, action: AuditAction, message: &str, job: &JobRun) {
    let metadata = serde_json::json!({
        "job_id": job.id.as_uuid(),
        "window_start": job.window_start.map(|t| t.to_string()),
        "window_end": job.window_end.map(|t| t.to_string()),
        "mode": job.mode.map(|m| m.as_str()),
    });
    crate::audit::by(state, req, caller, action, message, Some(job.tenant_id), metadata).await;
}

/// Starts a manual report as `caller` asks (the API's and the dashboard's one path): their role
/// on the tenant, their hourly allowance, the service's window rules, an audit entry.
pub(crate) async fn start_report(
    state: &AppState,
    req: &Request,
    caller: &Caller,
    mut request: ReportRequest,
) -> ApiResult<JobRun> {
    authorize(caller, request.tenant, Action::UseReports, "tenant")?;
    request.requested_by = Some(caller.user.id);
    state.limits().take(caller.user.id, crate::limits::Costly::Run)?;
    let job = state.service.enqueue_report(request).await?;
    audit(state, req, caller, AuditAction::JobStart, "started a manual report", &job).await;
    Ok(job)
}

/// Asks a job to stop as `caller` asks: anyone who may run reports stops a manual job, a
/// scheduled one needs an admin.
pub(crate) async fn stop_job(state: &AppState, req: &Request, caller: &Caller, id: JobId) -> ApiResult<JobRun> {
    let job = job(state, caller, id, Action::UseReports).await?;
    if job.trigger_type != TriggerType::Manual {
        authorize(caller, job.tenant_id, Action::ManageSettings, "job")?;
    }
    let job = state.service.stop(job.id).await?;
    audit(state, req, caller, AuditAction::JobStop, "asked a job to stop", &job).await;
    Ok(job)
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
        caller: Auth,
        id: Path<Uuid>,
        body: JsonBody<StartJob>,
    ) -> ApiResult<Started> {
        let StartJob { window_start, window_end, mode } = body.0;
        let mut request = ReportRequest::manual(TenantId::from_uuid(id.0));
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
        let job = start_report(&state, req, &caller.0, request).await?;
        Ok(Started::Accepted(Json(job.into())))
    }

    /// A tenant's jobs, newest first.
    #[oai(path = "/tenants/:id/jobs", method = "get")]
    async fn list_jobs(
        &self,
        state: Data<&AppState>,
        caller: Auth,
        id: Path<Uuid>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<JobPage>> {
        let tenant = TenantId::from_uuid(id.0);
        authorize(&caller.0, tenant, Action::Read, "tenant")?;
        let page = page_request(limit.0, cursor.0)?;
        let (items, next_cursor) = map_page(state.store().list_jobs(Some(tenant), &page).await?, JobOut::from);
        Ok(Json(JobPage { items, next_cursor }))
    }

    /// One job.
    #[oai(path = "/jobs/:id", method = "get")]
    async fn get_job(&self, state: Data<&AppState>, caller: Auth, id: Path<Uuid>) -> ApiResult<Json<JobOut>> {
        Ok(Json(self.job(&state, &caller, id.0, Action::Read).await?.into()))
    }

    /// A job's step log in order; with `after`, only the events after that one.
    #[oai(path = "/jobs/:id/events", method = "get")]
    async fn job_events(
        &self,
        state: Data<&AppState>,
        caller: Auth,
        id: Path<Uuid>,
        /// The id of the last event already seen.
        after: Query<Option<Uuid>>,
        /// At most this many events, 1-1000 (default 500).
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<Vec<EventOut>>> {
        let job = self.job(&state, &caller, id.0, Action::Read).await?;
        let after = after.0.map(JobEventId::from_uuid);
        let events = state.store().list_job_events(job.id, after, limit.0.unwrap_or(500)).await?;
        Ok(Json(events.into_iter().map(EventOut::from).collect()))
    }

    /// Ask a job to stop: a pending job stops at once, a running one at its next step. A
    /// `user` stops manual jobs only; scheduled and system jobs need `admin_lite` or above
    /// (403).
    #[oai(path = "/jobs/:id/stop", method = "post")]
    async fn stop_job(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<JobOut>> {
        let job = stop_job(&state, req, &caller.0, JobId::from_uuid(id.0)).await?;
        Ok(Json(job.into()))
    }

    /// Live progress of a job as Server-Sent Events: first the job (`job`) and its step log so
    /// far (`log`, one per line), then every change as it happens, and finally `done` with the
    /// finished job, after which the stream ends. A reconnecting client sends `Last-Event-ID`
    /// (the id of the last `log` line it saw) and gets only later lines.
    #[oai(path = "/jobs/:id/stream", method = "get")]
    async fn stream_job(
        &self,
        state: Data<&AppState>,
        caller: Auth,
        id: Path<Uuid>,
        /// The id of the last step-log line already seen.
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<Uuid>>,
    ) -> ApiResult<JobStream> {
        let job = self.job(&state, &caller, id.0, Action::Read).await?;
        let place = state.limits().open_stream(caller.0.user.id)?;
        Ok(job_stream(&state, job, last_event_id.0.map(JobEventId::from_uuid), place))
    }
}

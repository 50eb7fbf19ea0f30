//! Reports: the tenant picker, the manual-run form with its limits, stop, recent jobs with a
//! live step log, the report list with filters and paging; and the report page with its
//! figures, charts, exports, delivery and follow-up conversation.

use askama::Template;
use poem::{
    Request, Response, handler,
    http::StatusCode,
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;
use synkro_core::{
    PageRequest,
    domain::{
        Analytics, JobRun, JobStatus, JobType, Language, ReportMode, ReportStatus, Tenant, TenantRuntimeConfig,
        TriggerType,
    },
    ids::{JobId, ReportId, TenantId},
    store::{Cursor, DeliveryState},
    time::{TimeZoneName, Timestamp},
};
use synkro_pipeline::{
    ReportRequest,
    ai_text::{dates_text, duration_text},
    window::last_closed_business_day,
};
use uuid::Uuid;

use super::{
    Frame, PageResult, Section, Ui, Visit, either, form_visit, from_htmx, id_in, overview::stalled, page, refusal,
    see_other, visit,
};
use crate::{
    AppState, access,
    access::Action,
    api::{
        jobs::{start_report, stop_job},
        reports::{ask_question, report_filter, resend_report},
    },
    charts::{self, Bar},
    error::ApiError,
};

/// Jobs shown in the recent list.
const RECENT_JOBS: u32 = 10;
/// Reports per page of the list.
const REPORTS_PER_PAGE: u32 = 20;
/// Log lines shown when the page is rendered (the live stream sends the rest).
const LOG_LINES: u32 = 500;

/// A report's state in words.
pub(crate) fn report_status_word(t: &Ui, status: ReportStatus) -> &'static str {
    match status {
        ReportStatus::Draft => t.report_draft,
        ReportStatus::Ready => t.report_ready,
        ReportStatus::Sent => t.report_sent,
        ReportStatus::Failed => t.report_failed,
    }
}

/// A job's state in words.
fn job_status_word(t: &Ui, status: JobStatus) -> &'static str {
    match status {
        JobStatus::Pending => t.job_pending,
        JobStatus::Running => t.job_running_word,
        JobStatus::Success => t.job_success,
        JobStatus::Failed => t.job_failed,
        JobStatus::Cancelled => t.job_cancelled,
    }
}

/// A report mode in words.
pub(crate) fn mode_word(t: &Ui, mode: ReportMode) -> &'static str {
    match mode {
        ReportMode::CrmChats => t.mode_crm_chats,
        ReportMode::ChatsOnly => t.mode_chats_only,
        ReportMode::CrmOnly => t.mode_crm_only,
    }
}

/// One job in the recent list.
struct JobRow {
    id: String,
    what: &'static str,
    status: &'static str,
    status_class: &'static str,
    step: String,
    progress: u8,
    created: String,
    stalled: bool,
    stoppable: bool,
    selected: bool,
}

/// The selected job's step log.
struct JobLog {
    id: String,
    /// The zone the page shows times in, for lines added live.
    zone: String,
    status: &'static str,
    finished: bool,
    lines: Vec<LogLine>,
}

struct LogLine {
    id: String,
    at: String,
    level: String,
    message: String,
}

/// One report in the list.
struct ReportRow {
    id: String,
    dates: String,
    status: &'static str,
    figures: Option<(u64, u64, u64)>,
    created: String,
}

/// The selected tenant's part of the page.
struct Selected {
    id: String,
    name: String,
    can_run: bool,
    inactive: Option<&'static str>,
    timezone: String,
    modes: Vec<(&'static str, &'static str, bool)>,
    max_hours: i32,
    lookback_days: i32,
    default_from: String,
    default_to: String,
    active: Option<JobRow>,
    jobs: Vec<JobRow>,
    log: Option<JobLog>,
    reports: Vec<ReportRow>,
    next_page: Option<String>,
    statuses: Vec<(&'static str, &'static str, bool)>,
    from: String,
    to: String,
    filtered: bool,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    t: &'static Ui,
    f: Frame,
    tenants: Vec<(String, String, bool)>,
    selected: Option<Selected>,
    message: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct ReportsQuery {
    tenant: Option<String>,
    job: Option<String>,
    status: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
}

fn local_input(at: Timestamp, zone: &TimeZoneName) -> String {
    zone.format(at, "%Y-%m-%dT%H:%M")
}

fn job_row(v: &Visit, job: &JobRun, zone: &TimeZoneName, now: Timestamp, selected: Option<JobId>) -> JobRow {
    let t = v.t;
    let what = match (job.job_type, job.trigger_type) {
        (JobType::ReportDelivery, _) => t.job_delivery,
        (_, TriggerType::Manual) => t.job_manual,
        _ => t.job_scheduled,
    };
    let manage = access::allowed(&v.caller, job.tenant_id, Action::ManageSettings);
    let use_reports = access::allowed(&v.caller, job.tenant_id, Action::UseReports);
    JobRow {
        id: job.id.as_uuid().to_string(),
        what,
        status: job_status_word(t, job.status),
        status_class: job.status.as_str(),
        step: job.current_step.clone().unwrap_or_default(),
        progress: job.progress,
        created: v.time(job.created_at, zone),
        stalled: stalled(job, now),
        stoppable: job.status.is_active()
            && !job.cancel_requested
            && (manage || (use_reports && job.trigger_type == TriggerType::Manual)),
        selected: selected == Some(job.id),
    }
}

async fn selected_part(
    state: &AppState,
    v: &Visit,
    tenant: Tenant,
    config: TenantRuntimeConfig,
    query: &ReportsQuery,
) -> Result<Selected, ApiError> {
    let t = v.t;
    let zone = &config.timezone;
    let now = Timestamp::now();
    let wanted_job = id_in(t, "job", query.job.as_deref())?.map(JobId::from_uuid);
    let jobs = state.store().list_jobs(Some(tenant.id), &PageRequest::first(RECENT_JOBS)?).await?.items;
    let active = state.store().active_report_job(tenant.id).await?;
    // The job asked for, else the running one, else the latest.
    let selected_id = wanted_job.or(active.as_ref().map(|j| j.id)).or(jobs.first().map(|j| j.id));
    let log = match selected_id {
        Some(id) => {
            // The listed jobs are the tenant's; only an older job asked for by id is read again.
            let job = match jobs.iter().chain(&active).find(|j| j.id == id) {
                Some(job) => job.clone(),
                None => crate::api::jobs::job(state, &v.caller, id, Action::Read).await?,
            };
            if job.tenant_id != tenant.id {
                return Err(ApiError::NotFound("job"));
            }
            let lines = state.store().list_job_events(job.id, None, LOG_LINES).await?;
            Some(JobLog {
                id: job.id.as_uuid().to_string(),
                zone: v.timezone.as_ref().unwrap_or(zone).as_str().to_owned(),
                status: job_status_word(t, job.status),
                finished: job.status.is_finished(),
                lines: lines
                    .into_iter()
                    .map(|e| LogLine {
                        id: e.id.as_uuid().to_string(),
                        at: v.time(e.created_at, zone),
                        level: e.level.as_str().to_owned(),
                        message: e.message,
                    })
                    .collect(),
            })
        }
        None => None,
    };
    let filter = report_filter(query.status.as_deref(), query.from.as_deref(), query.to.as_deref())?;
    let page = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => PageRequest::after(REPORTS_PER_PAGE, Cursor::parse(c)?)?,
        None => PageRequest::first(REPORTS_PER_PAGE)?,
    };
    let listed = state.store().list_report_items(tenant.id, &filter, &page).await?;
    let reports = listed
        .items
        .iter()
        .map(|r| ReportRow {
            id: r.id.as_uuid().to_string(),
            dates: dates_text((r.period_start, r.period_end)),
            status: report_status_word(t, r.status),
            figures: totals_of(r),
            created: v.time(r.created_at, zone),
        })
        .collect();
    let keep = |name: &str, value: &Option<String>| {
        value.as_deref().filter(|v| !v.is_empty()).map(|v| format!("&{name}={}", urlencode(v))).unwrap_or_default()
    };
    let next_page = listed.next_cursor.map(|c| {
        format!(
            "/reports?tenant={}{}{}{}&cursor={}",
            tenant.id.as_uuid(),
            keep("status", &query.status),
            keep("from", &query.from),
            keep("to", &query.to),
            urlencode(&c.to_string())
        )
    });
    let window = last_closed_business_day(now, zone, config.business_day_start);
    let statuses = [ReportStatus::Draft, ReportStatus::Ready, ReportStatus::Sent, ReportStatus::Failed]
        .into_iter()
        .map(|s| (s.as_str(), report_status_word(t, s), filter.status == Some(s)))
        .collect();
    let modes = [ReportMode::CrmChats, ReportMode::ChatsOnly, ReportMode::CrmOnly]
        .into_iter()
        .map(|m| (m.as_str(), mode_word(t, m), m == config.mode))
        .collect();
    Ok(Selected {
        id: tenant.id.as_uuid().to_string(),
        can_run: access::allowed(&v.caller, tenant.id, Action::UseReports),
        inactive: (tenant.status != synkro_core::domain::TenantStatus::Active)
            .then(|| super::status_word(t, tenant.status)),
        name: tenant.name,
        timezone: zone.as_str().to_owned(),
        modes,
        max_hours: config.max_force_window_hours,
        lookback_days: config.max_force_lookback_days,
        default_from: local_input(window.start(), zone),
        default_to: local_input(window.end(), zone),
        active: active.as_ref().map(|j| job_row(v, j, zone, now, selected_id)),
        jobs: jobs.iter().map(|j| job_row(v, j, zone, now, selected_id)).collect(),
        log,
        reports,
        next_page,
        statuses,
        from: query.from.clone().unwrap_or_default(),
        to: query.to.clone().unwrap_or_default(),
        filtered: !filter.is_empty(),
    })
}

/// The three totals of a listed report's summary, if it has one: (deals, deals with dialogs,
/// messages). Read without building its per-stage and per-manager maps.
fn totals_of(item: &synkro_core::domain::ReportListItem) -> Option<(u64, u64, u64)> {
    #[derive(serde::Deserialize)]
    struct Totals {
        total_deals: u64,
        deals_with_dialogs: u64,
        total_messages: u64,
    }
    let t: Totals = serde_json::from_str(item.summary.as_ref()?.get()).ok()?;
    Some((t.total_deals, t.deals_with_dialogs, t.total_messages))
}

/// Percent-encodes a query value.
pub(crate) fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The reports page for `query`, with `message` above it (a refused run) and `status`.
async fn render_reports(
    state: &AppState,
    v: &Visit,
    query: &ReportsQuery,
    status: StatusCode,
    message: Option<String>,
) -> PageResult {
    let result = async {
        let tenants = access::tenants_for(state, &v.caller, Action::Read).await?;
        let chosen = match id_in(v.t, "tenant", query.tenant.as_deref())? {
            Some(id) => {
                let id = TenantId::from_uuid(id);
                access::authorize(&v.caller, id, Action::Read, "tenant")?;
                Some(id)
            }
            None => tenants.first().map(|t| t.id),
        };
        let picker =
            tenants.iter().map(|t| (t.id.as_uuid().to_string(), t.name.clone(), Some(t.id) == chosen)).collect();
        let selected = match chosen {
            Some(id) => {
                let tenant = match tenants.iter().find(|t| t.id == id) {
                    Some(t) => t.clone(),
                    None => state.tenant(id).await?,
                };
                let config = state.service.runtime_config(id).await?;
                Some(selected_part(state, v, tenant, config, query).await?)
            }
            None => None,
        };
        Ok::<_, ApiError>((picker, selected))
    };
    let (tenants, selected) = result.await.map_err(|e| v.error(e))?;
    let rendered = ReportsPage { t: v.t, f: v.frame(Section::Reports), tenants, selected, message }.render();
    Ok(page(status, rendered))
}

#[handler]
pub(super) async fn reports_page(state: Data<&AppState>, req: &Request, query: Query<ReportsQuery>) -> Response {
    either(
        async {
            let v = visit(&state, req).await?;
            render_reports(&state, &v, &query.0, StatusCode::OK, None).await
        }
        .await,
    )
}

#[derive(Deserialize)]
pub(super) struct RunForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    window_start: String,
    #[serde(default)]
    window_end: String,
    #[serde(default)]
    mode: String,
}

#[handler]
pub(super) async fn start(state: Data<&AppState>, req: &Request, form: Form<RunForm>) -> Response {
    either(
        async {
            let form = form.0;
            let v = form_visit(&state, req, &form.csrf).await?;
            let id = match id_in(v.t, "tenant", Some(&form.tenant)) {
                Ok(Some(id)) => id,
                Ok(None) | Err(_) => return Err(v.error(ApiError::NotFound("tenant"))),
            };
            let tenant = TenantId::from_uuid(id);
            let query = ReportsQuery { tenant: Some(id.to_string()), ..Default::default() };
            let started = async {
                access::authorize(&v.caller, tenant, Action::UseReports, "tenant")?;
                let config = state.service.runtime_config(tenant).await?;
                let mut request = ReportRequest::manual(tenant);
                let (start, end) = (form.window_start.trim(), form.window_end.trim());
                match (start.is_empty(), end.is_empty()) {
                    (true, true) => {}
                    (false, false) => {
                        let zone = &config.timezone;
                        request = request
                            .window(zone.parse_time("window_start", start)?, zone.parse_time("window_end", end)?);
                    }
                    (true, false) => {
                        return Err(synkro_core::ValidationError::new("window_start", v.t.both_ends).into());
                    }
                    (false, true) => {
                        return Err(synkro_core::ValidationError::new("window_end", v.t.both_ends).into());
                    }
                }
                if !form.mode.is_empty() {
                    request.mode =
                        Some(form.mode.parse().map_err(|_| synkro_core::ValidationError::new("mode", v.t.bad_choice))?);
                }
                start_report(&state, req, &v.caller, request).await
            };
            match started.await {
                Ok(job) => Ok(see_other(&format!("/reports?tenant={id}&job={}", job.id.as_uuid()))),
                Err(e @ (ApiError::NotFound(_) | ApiError::Forbidden | ApiError::Csrf)) => Err(v.error(e)),
                Err(e) => {
                    let status = poem::error::ResponseError::status(&e);
                    render_reports(&state, &v, &query, status, Some(refusal(v.t, &e))).await
                }
            }
        }
        .await,
    )
}

#[handler]
pub(super) async fn stop(
    state: Data<&AppState>,
    req: &Request,
    id: Path<Uuid>,
    form: Form<super::CsrfForm>,
) -> Response {
    either(
        async {
            let v = form_visit(&state, req, &form.0.csrf).await?;
            let job = stop_job(&state, req, &v.caller, JobId::from_uuid(id.0)).await.map_err(|e| v.error(e))?;
            Ok(see_other(&format!("/reports?tenant={}&job={}", job.tenant_id.as_uuid(), job.id.as_uuid())))
        }
        .await,
    )
}

/// One question and its answer.
struct Exchange {
    question: String,
    answer: String,
    at: String,
    telegram: bool,
}

/// A table row of the analytics: a client and a duration.
struct Slow {
    deal: String,
    manager: String,
    time: String,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    t: &'static Ui,
    f: Frame,
    id: String,
    tenant_id: String,
    tenant: String,
    title: String,
    status: &'static str,
    window: String,
    created: String,
    text: String,
    ai_note: Option<&'static str>,
    figures: Vec<(&'static str, String)>,
    charts: Vec<String>,
    waiting: Vec<Slow>,
    slowest: Vec<Slow>,
    delivery: Option<(&'static str, &'static str, Option<String>)>,
    can_resend: bool,
    can_ask: bool,
    exchanges: Vec<Exchange>,
    question_error: Option<String>,
}

#[derive(Template)]
#[template(path = "exchange.html")]
struct ExchangeFragment {
    t: &'static Ui,
    e: Exchange,
}

fn delivery_word(t: &Ui, state: DeliveryState) -> (&'static str, &'static str) {
    match state {
        DeliveryState::Sent => (t.delivery_sent, "ok"),
        DeliveryState::Sending => (t.delivery_sending, "running"),
        DeliveryState::Retrying => (t.delivery_retrying, "warn"),
        DeliveryState::Failed => (t.delivery_failed, "bad"),
        DeliveryState::Unknown => (t.delivery_unknown, "warn"),
    }
}

/// The report's numbers as label/value pairs.
fn figures(
    t: &Ui,
    language: Language,
    summary: Option<&synkro_core::domain::Summary>,
    a: Option<&Analytics>,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(s) = summary {
        out.push((t.deals, s.total_deals.to_string()));
        out.push((t.deals_with_dialogs, s.deals_with_dialogs.to_string()));
        out.push((t.messages, s.total_messages.to_string()));
    }
    if let Some(a) = a {
        let d = &a.day;
        if let Some(n) = d.deals_updated {
            out.push((t.deals_updated, n.to_string()));
        }
        out.push((t.inbound, d.inbound_messages.to_string()));
        out.push((t.outbound, d.outbound_messages.to_string()));
        out.push((t.clients_waiting, d.clients_waiting.to_string()));
        if let Some(secs) = d.first_response_median_secs {
            out.push((t.first_response_median, duration_text(language, secs)));
        }
        if let Some(secs) = d.first_response_p90_secs {
            out.push((t.first_response_p90, duration_text(language, secs)));
        }
        if let Some(n) = d.dialogs_without_deal {
            out.push((t.dialogs_without_deal, n.to_string()));
        }
    }
    out
}

/// The report's charts: deals by stage and by manager, dialogs over the window's hours, and
/// first-response times per manager.
fn report_charts(
    t: &Ui,
    language: Language,
    zone: &TimeZoneName,
    summary: Option<&synkro_core::domain::Summary>,
    a: Option<&Analytics>,
) -> Vec<String> {
    let count = |label: &str, value: u64| Bar { label: label.to_owned(), value, shown: value.to_string() };
    let mut out = Vec::new();
    if let Some(s) = summary {
        let stages: Vec<Bar> = s.by_status.iter().map(|(k, v)| count(k, *v)).collect();
        out.push(charts::bar_chart(t.chart_stages, &stages, t.chart_empty));
        let managers: Vec<Bar> = s.by_manager.iter().map(|(k, v)| count(k, *v)).collect();
        out.push(charts::bar_chart(t.chart_managers, &managers, t.chart_empty));
    }
    if let Some(a) = a {
        if !a.hours.is_empty() {
            let hours: Vec<Bar> =
                a.hours.iter().map(|h| count(&zone.format(h.start, "%d.%m %H:%M"), h.dialogs)).collect();
            out.push(charts::bar_chart(t.chart_hours, &hours, t.chart_empty));
        }
        let responses: Vec<Bar> = a
            .managers
            .iter()
            .filter_map(|m| {
                m.first_response_median_secs.map(|secs| Bar {
                    label: m.manager.clone(),
                    value: secs,
                    shown: duration_text(language, secs),
                })
            })
            .collect();
        out.push(charts::bar_chart(t.chart_responses, &responses, t.chart_empty));
    }
    out
}

async fn render_report(
    state: &AppState,
    v: &Visit,
    id: ReportId,
    status: StatusCode,
    question_error: Option<String>,
) -> PageResult {
    let t = v.t;
    let loaded = async {
        // The page shows no details, so they are not read.
        let r = state.store().get_report_view(id).await?;
        access::authorize(&v.caller, r.tenant_id, Action::Read, "report")?;
        let tenant = state.tenant(r.tenant_id).await?;
        let delivery = state.store().get_delivery(r.id).await?;
        let mut messages = state.store().recent_report_messages(r.id, 200).await?;
        messages.reverse();
        Ok::<_, ApiError>((r, tenant, delivery, messages))
    };
    let (r, tenant, delivery, messages) = loaded.await.map_err(|e| v.error(e))?;
    let zone = &tenant.timezone;
    let summary = r.summary.as_ref();
    let analytics = r.analytics.as_ref();
    let slow = |deal: &str, manager: &str, secs: u64| Slow {
        deal: deal.to_owned(),
        manager: manager.to_owned(),
        time: duration_text(v.language, secs),
    };
    let ai_note = r.ai.as_ref().and_then(|ai| {
        if ai.fallback {
            Some(t.ai_fallback)
        } else if ai.truncated {
            Some(t.ai_truncated)
        } else {
            None
        }
    });
    let can_resend = access::allowed(&v.caller, r.tenant_id, Action::ManageSettings)
        && delivery.as_ref().is_some_and(|d| d.needs_attention());
    let rendered = ReportPage {
        t,
        f: v.frame(Section::Reports),
        id: r.id.as_uuid().to_string(),
        tenant_id: r.tenant_id.as_uuid().to_string(),
        tenant: tenant.name.clone(),
        title: dates_text((r.period_start, r.period_end)),
        status: report_status_word(t, r.status),
        window: format!("{} – {}", v.time(r.window_start, zone), v.time(r.window_end, zone)),
        created: v.time(r.created_at, zone),
        text: r.summary_text.clone(),
        ai_note,
        figures: figures(t, v.language, summary, analytics),
        charts: report_charts(t, v.language, v.timezone.as_ref().unwrap_or(zone), summary, analytics),
        waiting: analytics
            .map(|a| a.waiting.iter().map(|w| slow(&w.deal_name, &w.manager, w.waiting_secs)).collect())
            .unwrap_or_default(),
        slowest: analytics
            .map(|a| a.slowest.iter().map(|s| slow(&s.deal_name, &s.manager, s.response_secs)).collect())
            .unwrap_or_default(),
        delivery: delivery.as_ref().map(|d| {
            let (word, class) = delivery_word(t, d.state);
            (word, class, d.error.clone())
        }),
        can_resend,
        can_ask: access::allowed(&v.caller, r.tenant_id, Action::UseReports),
        exchanges: messages
            .into_iter()
            .map(|m| Exchange {
                question: m.question,
                answer: m.answer,
                at: v.time(m.created_at, zone),
                telegram: m.source == synkro_core::domain::MessageSource::Telegram,
            })
            .collect(),
        question_error,
    }
    .render();
    Ok(page(status, rendered))
}

#[handler]
pub(super) async fn report_page(state: Data<&AppState>, req: &Request, id: Path<Uuid>) -> Response {
    either(
        async {
            let v = visit(&state, req).await?;
            render_report(&state, &v, ReportId::from_uuid(id.0), StatusCode::OK, None).await
        }
        .await,
    )
}

#[derive(Deserialize)]
pub(super) struct QuestionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    question: String,
}

/// A follow-up question: with htmx the answer is added in place, without it the page is shown
/// again with the answer at the end of the conversation.
#[handler]
pub(super) async fn ask(state: Data<&AppState>, req: &Request, id: Path<Uuid>, form: Form<QuestionForm>) -> Response {
    either(
        async {
            let v = form_visit(&state, req, &form.0.csrf).await?;
            let id = ReportId::from_uuid(id.0);
            match ask_question(&state, req, &v.caller, id, &form.0.question).await {
                Ok((tenant, message)) if from_htmx(req) => {
                    let tenant = state.tenant(tenant).await.map_err(|e| v.error(e.into()))?;
                    let e = Exchange {
                        question: message.question,
                        answer: message.answer,
                        at: v.time(message.created_at, &tenant.timezone),
                        telegram: false,
                    };
                    Ok(page(StatusCode::OK, ExchangeFragment { t: v.t, e }.render()))
                }
                Ok(_) => Ok(see_other(&format!("/reports/{}#conversation", id.as_uuid()))),
                // htmx adds what comes back to the conversation: always a short notice there.
                Err(e) if from_htmx(req) => {
                    let status = poem::error::ResponseError::status(&e);
                    let message = match e {
                        ApiError::NotFound(_) | ApiError::Forbidden => v.t.not_found.to_owned(),
                        e => refusal(v.t, &e),
                    };
                    Ok(page(status, QuestionError { message }.render()))
                }
                Err(e @ (ApiError::NotFound(_) | ApiError::Forbidden)) => Err(v.error(e)),
                Err(e) => {
                    let status = poem::error::ResponseError::status(&e);
                    render_report(&state, &v, id, status, Some(refusal(v.t, &e))).await
                }
            }
        }
        .await,
    )
}

#[derive(Template)]
#[template(source = "<p class=\"notice\" role=\"alert\">{{ message }}</p>", ext = "html")]
struct QuestionError {
    message: String,
}

#[handler]
pub(super) async fn resend(
    state: Data<&AppState>,
    req: &Request,
    id: Path<Uuid>,
    form: Form<super::CsrfForm>,
) -> Response {
    either(
        async {
            let v = form_visit(&state, req, &form.0.csrf).await?;
            let id = ReportId::from_uuid(id.0);
            match resend_report(&state, &v.caller, id).await {
                Ok(_) => Ok(see_other(&format!("/reports/{}", id.as_uuid()))),
                Err(e @ (ApiError::NotFound(_) | ApiError::Forbidden)) => Err(v.error(e)),
                Err(e) => {
                    render_report(&state, &v, id, poem::error::ResponseError::status(&e), Some(refusal(v.t, &e))).await
                }
            }
        }
        .await,
    )
}

//! The overview: the caller's companies with their integrations' health, their latest report,
//! a running or stalled job, and the trend of their last 30 reports.

use askama::Template;
use poem::{Request, Response, http::StatusCode};
use synkro_core::{
    domain::{IntegrationStatus, JobRun, JobStatus, Tenant},
    time::Timestamp,
};

use super::{Frame, Section, Ui, Visit, either, page, reports::report_status_word, status_word, visit};
use crate::{
    AppState, access,
    access::Action,
    charts::{self, Series},
    error::ApiError,
};

/// How many reports the trend shows.
const TREND_REPORTS: u32 = 30;

/// A running job that has not moved for this long is marked stalled.
pub(crate) const STALLED_AFTER_SECS: i64 = 5 * 60;

/// Whether `job` runs but has not moved (no step, no progress, no log line) for minutes.
pub(crate) fn stalled(job: &JobRun, now: Timestamp) -> bool {
    job.status == JobStatus::Running && now.unix_seconds() - job.updated_at.unix_seconds() >= STALLED_AFTER_SECS
}

/// One integration's health on a company's card.
pub(crate) struct Health {
    pub kind: String,
    pub ok: bool,
    pub status: &'static str,
    pub checked: Option<String>,
    pub error: Option<String>,
}

/// One company on the overview.
struct TenantCard {
    id: String,
    name: String,
    status: &'static str,
    settings: bool,
    integrations: Vec<Health>,
    last_report: Option<(String, String, &'static str)>,
    job: Option<(String, u8, bool)>,
    trend: Option<String>,
    latest: Option<(u64, u64, u64)>,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    t: &'static Ui,
    f: Frame,
    tenants: Vec<TenantCard>,
}

/// An integration's status in words.
pub(crate) fn integration_word(t: &Ui, status: IntegrationStatus) -> &'static str {
    match status {
        IntegrationStatus::Ok => t.integration_ok,
        IntegrationStatus::Error => t.integration_error,
        IntegrationStatus::Pending | IntegrationStatus::Unknown => t.integration_unchecked,
    }
}

async fn card(state: &AppState, v: &Visit, tenant: Tenant, now: Timestamp) -> Result<TenantCard, ApiError> {
    let t = v.t;
    let settings = access::allowed(&v.caller, tenant.id, Action::ManageSettings);
    let integrations = state
        .store()
        .list_integrations(tenant.id)
        .await?
        .into_iter()
        .map(|i| Health {
            kind: state
                .service
                .registry()
                .get(i.kind.as_str())
                .map_or_else(|| i.kind.as_str().to_owned(), |c| c.spec().display_name.to_owned()),
            ok: i.status == IntegrationStatus::Ok,
            status: integration_word(t, i.status),
            checked: i.last_checked_at.map(|at| v.time(at, &tenant.timezone)),
            error: i.last_error,
        })
        .collect();
    let reports = state.store().report_totals(tenant.id, TREND_REPORTS).await?;
    let last_report = reports.first().map(|r| {
        let dates = synkro_pipeline::ai_text::dates_text((r.period_start, r.period_end));
        (r.id.as_uuid().to_string(), dates, report_status_word(t, r.status))
    });
    let count = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok());
    let totals: Vec<(u64, u64, u64)> = reports
        .iter()
        .rev()
        .filter_map(|r| Some((count(r.total_deals)?, count(r.deals_with_dialogs)?, count(r.total_messages)?)))
        .collect();
    let latest = totals.last().copied();
    let trend = (totals.len() > 1).then(|| {
        let series = [
            Series { name: t.deals.to_owned(), values: totals.iter().map(|s| s.0).collect() },
            Series { name: t.deals_with_dialogs.to_owned(), values: totals.iter().map(|s| s.1).collect() },
            Series { name: t.messages.to_owned(), values: totals.iter().map(|s| s.2).collect() },
        ];
        charts::trend(t.trend_title, &series)
    });
    let job = state
        .store()
        .active_report_job(tenant.id)
        .await?
        .map(|j| (j.current_step.clone().unwrap_or_default(), j.progress, stalled(&j, now)));
    Ok(TenantCard {
        id: tenant.id.as_uuid().to_string(),
        name: tenant.name,
        status: status_word(t, tenant.status),
        settings,
        integrations,
        last_report,
        job,
        trend,
        latest,
    })
}

/// The overview page.
pub(super) async fn overview_page(state: &AppState, req: &Request) -> Response {
    either(
        async {
            let v = visit(state, req).await?;
            let now = Timestamp::now();
            let cards = async {
                let tenants = access::tenants_for(state, &v.caller, Action::Read).await?;
                let mut cards = Vec::with_capacity(tenants.len());
                for tenant in tenants {
                    cards.push(card(state, &v, tenant, now).await?);
                }
                Ok::<_, ApiError>(cards)
            };
            let tenants = cards.await.map_err(|e| v.error(e))?;
            Ok(page(StatusCode::OK, OverviewPage { t: v.t, f: v.frame(Section::Overview), tenants }.render()))
        }
        .await,
    )
}

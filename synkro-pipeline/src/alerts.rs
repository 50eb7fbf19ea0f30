//! Alerts to a tenant's admins when a scheduled report goes wrong: the job failed, the AI failed
//! and the report was written by rules, the report was not delivered, or there is no report at
//! its due time plus a grace period ([`missed_reports`]). The alert goes through the tenant's
//! messenger to its alert chat (Telegram's `alert_chat_id`), or to the report chat marked as an
//! alert; in the tenant's language; at most one per tenant and window (claimed in the store
//! before it is sent, so any number of nodes send it once). Sending an alert never fails a job:
//! what happened is stored ([`Store::list_alerts`], `/metrics`) and logged.
//!
//! [`Store::list_alerts`]: synkro_core::Store::list_alerts

use std::time::Duration;

use synkro_core::{
    domain::{JobStatus, Language, NewJobRun, Tenant, TenantStatus, TriggerType, Window},
    store::{AlertKind, AlertState, StoreError},
    time::Timestamp,
};

use crate::{EngineError, Service, ai_text, window, words::words};

/// How long after a scheduled run's due time a missing report is alerted unless configured
/// otherwise ([`WorkerConfig::missed_report_grace`](crate::WorkerConfig::missed_report_grace)):
/// time for retries and a slow day.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2 * 3600);

/// The alert's text: a title naming the tenant (it marks an alert in a shared chat), what went
/// wrong with the report of `window`, and where to look.
pub(crate) fn alert_text(
    service: &Service,
    language: Language,
    tenant: &Tenant,
    window: Window,
    kind: AlertKind,
    why: &str,
) -> String {
    let w = words(language);
    let dates = ai_text::dates_text(window::period_dates(window, &tenant.timezone));
    let body = match kind {
        AlertKind::Failed => (w.alert_failed)(&dates, why),
        AlertKind::Fallback => (w.alert_fallback)(&dates, why),
        AlertKind::Delivery => (w.alert_delivery)(&dates, why),
        AlertKind::Missed => (w.alert_missed)(&dates, why),
    };
    format!("{}\n{body}\n{}", (w.alert_title)(&tenant.name), (w.alert_where)(service.public_url()))
}

/// Raises `kind` for `tenant`'s `window`, `why` in the tenant's words (built by `why` from its
/// language): claims the window's alert and sends it, unless the window already has one.
/// Returns how sending went, or `None` when nothing was sent: the window was already alerted,
/// the tenant is paused or disabled, or the store failed (logged).
pub async fn raise(
    service: &Service,
    tenant: &Tenant,
    window: Window,
    kind: AlertKind,
    why: impl FnOnce(Language) -> String,
) -> Option<AlertState> {
    match try_raise(service, tenant, window, kind, why).await {
        Ok(state) => state,
        Err(e) => {
            tracing::warn!(tenant = %tenant.slug, %kind, error = %e, "alert not raised");
            None
        }
    }
}

async fn try_raise(
    service: &Service,
    tenant: &Tenant,
    window: Window,
    kind: AlertKind,
    why: impl FnOnce(Language) -> String,
) -> Result<Option<AlertState>, StoreError> {
    let store = service.store();
    // A paused or disabled tenant's reports are off on purpose: nothing to alert about.
    if store.get_tenant(tenant.id).await?.status != TenantStatus::Active {
        return Ok(None);
    }
    let language = store.get_runtime_config(tenant.id).await?.language;
    let text = alert_text(service, language, tenant, window, kind, &why(language));
    if !store.claim_alert(tenant.id, window, kind, &text, Timestamp::now()).await? {
        return Ok(None);
    }
    let (state, error) = match crate::wiring::build_messenger(service, tenant).await {
        Ok(None) => (AlertState::NoMessenger, None),
        Err(e) => (AlertState::Failed, Some(e.to_string())),
        Ok(Some((_, messenger))) => match messenger.send_alert(&text).await {
            Ok(_) => (AlertState::Sent, None),
            Err(e) => (AlertState::Failed, Some(e.to_string())),
        },
    };
    store.finish_alert(tenant.id, window, state, error.as_deref()).await?;
    match &error {
        None => tracing::info!(tenant = %tenant.slug, %kind, %state, "report alert raised"),
        Some(error) => tracing::warn!(tenant = %tenant.slug, %kind, error, "report alert not delivered"),
    }
    Ok(Some(state))
}

/// Alerts every active tenant with the schedule on whose latest scheduled run (due within
/// `catch_up`, after its schedule took effect) is at least `grace` overdue without a report:
/// its scheduled job is missing, still waiting, or failed (a running job is left to finish).
/// The alert names the due time. Returns the alerts raised.
pub async fn missed_reports(
    service: &Service,
    now: Timestamp,
    grace: Duration,
    catch_up: Duration,
) -> Result<usize, EngineError> {
    let grace = time::Duration::try_from(grace).unwrap_or(time::Duration::hours(2));
    let horizon = time::Duration::try_from(catch_up).unwrap_or(time::Duration::days(1));
    let mut raised = 0;
    for (tenant, config) in service.store().tenants_due().await? {
        let (due_at, window) =
            window::latest_due(now, &config.timezone, config.scheduled_run_time, config.business_day_start);
        if due_at + grace > now || due_at + horizon < now || due_at < config.schedule_from {
            continue;
        }
        let job = NewJobRun::report(tenant.id, config.mode, TriggerType::Scheduled, window);
        let key = job.idempotency_key.unwrap_or_default();
        // A report that exists, or a job at work on it (it succeeds, or its failure is alerted),
        // is not missing.
        let underway = match service.store().get_job_by_key(&key).await {
            Ok(job) => matches!(job.status, JobStatus::Success | JobStatus::Running),
            Err(StoreError::NotFound { .. }) => false,
            Err(e) => return Err(e.into()),
        };
        if underway {
            continue;
        }
        let due = config.timezone.format(due_at, "%Y-%m-%d %H:%M");
        let due = format!("{due} ({})", config.timezone);
        if raise(service, &tenant, window, AlertKind::Missed, |_| due).await.is_some() {
            raised += 1;
        }
    }
    Ok(raised)
}

//! Delivering a saved report to the messenger, once. A delivery is `sending`, `sent`,
//! `retrying`, `unknown` or `failed` (DESIGN.md section 9): a failure a retry can fix (the
//! messenger is down or rate limiting, nothing was delivered) is retried by delivery jobs with
//! backoff until the workers' `delivery_retry_for` runs out; `unknown` (a worker stopped
//! mid-send) and finally `failed` deliveries are logged, audited and counted, and only an
//! explicit re-send ([`Service::resend_report`]) sends them again.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use serde_json::json;
use synkro_connector_kit::backoff_delay;
use synkro_core::{
    Store,
    connector::{ConnectorError, FailureClass, Messenger},
    domain::{
        AuditAction, EventLevel, JobRun, Language, NewAuditLog, NewJobRun, Report, ReportStatus, ReportType, Tenant,
        TenantStatus, Window,
    },
    ids::{ReportId, UserId},
    store::{AlertKind, DeliveryStart, DeliveryState, JobCreated},
    time::Timestamp,
};

use crate::{
    ai_text,
    error::{EngineError, JobFailure},
    report::{Progress, ReportDone, Step},
    service::Service,
    wiring::build_messenger,
    words::words,
    workers::RunEnv,
};

/// The channel name deliveries are recorded under.
const CHANNEL: &str = "telegram";

/// How deliveries are retried (from [`WorkerConfig`](crate::WorkerConfig)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    pub retry_for: Duration,
    pub base: Duration,
    pub cap: Duration,
}

/// Sends `report` once: a delivery that already happened, whose outcome is unknown, or that
/// failed for good is not repeated (unless `resend`). `sending` is set while messages may be
/// going out, so a shutting-down worker lets them finish. A failure leaves the report ready
/// (not sent) and the job successful; the job log says why and what happens next.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn deliver(
    env: &RunEnv,
    p: &Progress<'_>,
    job: &JobRun,
    tenant: &Tenant,
    language: Language,
    report: Report,
    messenger: Option<(&str, &dyn Messenger)>,
    resend: bool,
    sending: &AtomicBool,
) -> Result<(Report, bool), JobFailure> {
    let store = env.store();
    let Some((kind, messenger)) = messenger else {
        let message = "no messenger integration: the report is saved but not sent";
        p.note(EventLevel::Warn, Step::Deliver, message, json!({})).await;
        return Ok((report, false));
    };
    let again = "an admin can re-send it (POST /api/v1/reports/{id}/resend, or `synkro report resend`)";
    match store.begin_delivery(report.id, Some(job.id), CHANNEL, Timestamp::now(), resend).await {
        Ok(DeliveryStart::AlreadySent(_)) => {
            p.step(Step::Deliver, "already delivered by an earlier attempt; not sending again", json!({})).await;
            return Ok((report, true));
        }
        Ok(DeliveryStart::OutcomeUnknown(d)) => {
            let message = format!(
                "outcome unknown: an earlier attempt stopped while sending; not sending again (check the chat; {again})"
            );
            p.note(EventLevel::Warn, Step::Deliver, message, json!({"state": d.state})).await;
            alert(env, tenant, &report, |language| words(language).delivery_unknown.to_owned()).await;
            return Ok((report, false));
        }
        Ok(DeliveryStart::Failed(d)) => {
            let why = d.error.unwrap_or_default();
            let message = format!("delivery failed for good earlier ({why}); not sending again ({again})");
            p.note(EventLevel::Warn, Step::Deliver, message, json!({"state": d.state})).await;
            return Ok((report, false));
        }
        Ok(DeliveryStart::Started) => {}
        Err(e) => return Err(JobFailure::from_store("delivery record", e)),
    }
    let period = (report.period_start, report.period_end);
    let text = ai_text::delivery_text(language, &tenant.name, period, &report.summary_text);
    sending.store(true, Ordering::SeqCst);
    let sent = messenger.send_text(&text).await;
    sending.store(false, Ordering::SeqCst);
    match sent {
        Ok(delivery) => {
            store
                .finish_delivery(report.id, DeliveryState::Sent, delivery.messages, None, Timestamp::now())
                .await
                .map_err(|e| JobFailure::from_store("delivery record", e))?;
            let report = store
                .set_report_status(report.id, ReportStatus::Sent)
                .await
                .map_err(|e| JobFailure::from_store("report status", e))?;
            let mut data = json!({"messages": delivery.messages});
            if let Some(moved) = &delivery.moved_to {
                data["moved_to"] = json!(moved);
                crate::telegram::delivery_moved_chat(store, tenant, kind, moved).await;
            }
            p.step(Step::Deliver, format!("delivered in {} message(s)", delivery.messages), data).await;
            Ok((report, true))
        }
        Err(e) => {
            failed(env, p, tenant, &report, &e).await;
            Ok((report, false))
        }
    }
}

/// Records a failed send: retried later when a retry can fix it and time is left, else failed
/// for good (logged, audited).
async fn failed(env: &RunEnv, p: &Progress<'_>, tenant: &Tenant, report: &Report, e: &ConnectorError) {
    let store = env.store();
    let message = e.to_string();
    let now = Timestamp::now();
    let delivery = store.get_delivery(report.id).await.ok().flatten();
    let attempts = delivery.as_ref().map_or(1, |d| d.attempts);
    let give_up_at = delivery.as_ref().and_then(|d| d.give_up_at).unwrap_or_else(|| now + span(env.retry.retry_for));
    let wait = e.retry_after.unwrap_or_else(|| backoff_delay(attempts, env.retry.base, env.retry.cap));
    let next = now + span(wait.max(Duration::from_secs(1)));
    let retryable =
        e.retryable && matches!(e.class, FailureClass::RateLimited | FailureClass::Network | FailureClass::Upstream);
    // The alert goes out after the delivery's state is saved, worded from what was saved.
    let alert_failure = |retrying: bool| {
        alert(env, tenant, report, move |language| {
            let w = words(language);
            let why = (w.messenger_failure)(e.class);
            if retrying { format!("{why}; {}", w.delivery_retrying) } else { why.to_owned() }
        })
    };
    if retryable && next < give_up_at {
        let retried = store.retry_delivery(report.id, &message, next, give_up_at, now).await;
        let job = NewJobRun::delivery(tenant.id, report.id, attempts + 1, false, next);
        match (retried, store.create_job(&job).await) {
            (Ok(_), Ok(created)) => {
                let job_id = created.into_job().id;
                let text = format!(
                    "not delivered ({}): {message}; retrying at {} (attempt {}), until {}",
                    e.class,
                    local(next, tenant),
                    attempts + 1,
                    local(give_up_at, tenant)
                );
                let data = json!({"class": e.class, "state": "retrying", "next_attempt_at": next,
                    "give_up_at": give_up_at, "retry_job_id": job_id});
                p.note(EventLevel::Warn, Step::Deliver, text, data).await;
                alert_failure(true).await;
                return;
            }
            (r, j) => {
                tracing::warn!(report = %report.id, retry = ?r.err(), job = ?j.err(), "delivery retry not scheduled")
            }
        }
    }
    let why = if retryable {
        format!("gave up after {attempts} attempt(s) over {} h: {message}", env.retry.retry_for.as_secs() / 3600)
    } else {
        message.clone()
    };
    if let Err(e) = store.finish_delivery(report.id, DeliveryState::Failed, 0, Some(&why), now).await {
        tracing::warn!(error = %e, "delivery failure not recorded");
    }
    audit(env.store(), tenant, report, AuditAction::ReportDeliveryFailed, format!("report not delivered: {why}"), None)
        .await;
    let text = format!("not delivered: {why}; an admin can re-send it");
    p.note(EventLevel::Error, Step::Deliver, text, json!({"class": e.class, "state": "failed"})).await;
    alert_failure(false).await;
}

/// A scheduled report that was not delivered alerts the tenant's admins (once per window).
async fn alert(env: &RunEnv, tenant: &Tenant, report: &Report, why: impl FnOnce(Language) -> String) {
    if report.report_type != ReportType::Daily {
        return;
    }
    let Ok(window) = Window::new(report.window_start, report.window_end) else { return };
    crate::alerts::raise(&env.service, tenant, window, AlertKind::Delivery, why).await;
}

fn span(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::ZERO)
}

/// `at` in the tenant's time, for people.
fn local(at: Timestamp, tenant: &Tenant) -> String {
    let zone = tenant.timezone.zone();
    format!("{} {}", zone.to_datetime(at.to_jiff()).strftime("%Y-%m-%d %H:%M"), tenant.timezone.as_str())
}

async fn audit(
    store: &Store,
    tenant: &Tenant,
    report: &Report,
    action: AuditAction,
    message: String,
    actor: Option<UserId>,
) {
    let mut entry = NewAuditLog::new(action, message);
    entry.tenant_id = Some(tenant.id);
    entry.actor_id = actor;
    entry.metadata = json!({"report_id": report.id, "job_id": report.job_id});
    if let Err(e) = store.append_audit(&entry).await {
        tracing::warn!(error = %e, "audit entry not saved");
    }
}

/// Runs a delivery job: a due retry, or a re-send a person asked for.
pub(crate) async fn run_delivery(env: &RunEnv, job: &JobRun, sending: &AtomicBool) -> Result<ReportDone, JobFailure> {
    let p = Progress::new(env, job);
    let store = env.store();
    let (report_id, resend) =
        NewJobRun::delivery_target(job).ok_or_else(|| JobFailure::fatal("the delivery job names no report"))?;
    let report = store.get_report(report_id).await.map_err(|e| JobFailure::from_store("report", e))?;
    let tenant = store.get_tenant(report.tenant_id).await.map_err(|e| JobFailure::from_store("tenant", e))?;
    if tenant.status != TenantStatus::Active {
        let why = format!("the tenant is {}: deliveries are off", tenant.status);
        if let Err(e) = store.finish_delivery(report.id, DeliveryState::Failed, 0, Some(&why), Timestamp::now()).await {
            tracing::warn!(error = %e, "delivery failure not recorded");
        }
        return Err(JobFailure::fatal(why));
    }
    p.step(
        Step::CheckConfig,
        format!("delivering the report of {}", report.period_start),
        json!({"report_id": report.id}),
    )
    .await;
    // Only the messenger: another integration that broke since the report must not block it.
    let messenger =
        build_messenger(&env.service, &tenant).await.map_err(|e| JobFailure::from_connector("configuration", e))?;
    let messenger = messenger.as_ref().map(|(integration, m)| (integration.kind.as_str(), m.as_ref()));
    let language =
        store.get_runtime_config(tenant.id).await.map_err(|e| JobFailure::from_store("runtime config", e))?.language;
    let (report, delivered) = deliver(env, &p, job, &tenant, language, report, messenger, resend, sending).await?;
    p.step(Step::Done, if delivered { "report delivered" } else { "report not delivered" }, json!({})).await;
    Ok(ReportDone { report, delivered })
}

impl Service {
    /// Sends `report` again because a person asked (`actor`): the only way a delivery that is
    /// `unknown` or `failed` is sent again. Refused while the report is delivered, being sent,
    /// or waiting for a retry. Returns the delivery job (an audit entry records who asked).
    pub async fn resend_report(&self, report: ReportId, actor: Option<UserId>) -> Result<JobRun, EngineError> {
        let store = self.store();
        let report = store.get_report(report).await?;
        let tenant = store.get_tenant(report.tenant_id).await?;
        if tenant.status != TenantStatus::Active {
            return Err(EngineError::TenantInactive(tenant.status));
        }
        let delivery = store.get_delivery(report.id).await?;
        if let Some(d) = &delivery
            && !d.needs_attention()
        {
            return Err(EngineError::DeliveryBusy(d.state));
        }
        let attempt = delivery.as_ref().map_or(1, |d| d.attempts + 1);
        let mut new = NewJobRun::delivery(tenant.id, report.id, attempt, true, Timestamp::now());
        new.requested_by = actor;
        new.idempotency_key = new.idempotency_key.map(|k| format!("{k}:resend"));
        let job = store.create_job(&new).await?;
        let job = match job {
            JobCreated::New(job) => {
                self.wake().await;
                job
            }
            JobCreated::Existing(job) => job,
        };
        let message = match &delivery {
            Some(d) => format!("asked to re-send the report (its delivery was {})", d.state),
            None => "asked to send the report".to_owned(),
        };
        audit(store, &tenant, &report, AuditAction::ReportResend, message, actor).await;
        Ok(job)
    }

    /// Deliveries that need a person (`unknown` or `failed`) and the rest, by state.
    pub async fn delivery_counts(&self) -> Result<Vec<(DeliveryState, u64)>, EngineError> {
        Ok(self.store().delivery_counts().await?)
    }
}

//! Alerts: when a scheduled report fails, is written without the AI, is not delivered, or is
//! missing at its due time plus a grace period, the tenant's admins get one message — in the
//! alert chat when the Telegram integration names one, else in the report chat marked as an
//! alert — in the tenant's language, once per window; the operator sees them in the store.

use std::time::Duration;

use serde_json::json;
use synkro::{
    Store,
    domain::{
        JobStatus, Language, ReportMode, RuntimeConfigChange, Tenant, TenantStatus, TenantUpdate, TriggerType, Window,
    },
    pipeline::{ReportRequest, alerts, scheduler, window::latest_due},
    store::{AlertKind, AlertState},
    time::Timestamp,
};
use synkro_sandbox::{Fault, SandboxConfig, Service, TenantSetup};

use super::{World, report_of, setup, tenant, world};

synkro::on_both_backends!(
    a_report_written_without_the_ai_alerts_the_admins_chat_once_per_window,
    a_failed_scheduled_report_alerts_in_the_tenants_language,
    an_undelivered_report_is_alerted,
    a_missing_report_is_alerted_after_the_grace_period,
);

/// The admins' chat the tests configure.
const ALERT_CHAT: i64 = -1_009_876_543_210;

/// A tenant whose Telegram integration has an alert chat.
async fn with_alert_chat(w: &World, mode: ReportMode) -> Tenant {
    w.sandbox.telegram_add_chat(ALERT_CHAT);
    let mut s = setup(mode);
    s.settings.insert("telegram".into(), json!({"alert_chat_id": ALERT_CHAT.to_string()}));
    tenant(w, s).await
}

/// Runs the sandbox day's report for `tenant` as the scheduler would (or as a person asked).
async fn run(w: &World, tenant: &Tenant, trigger: TriggerType) -> synkro::domain::JobRun {
    let c = w.sandbox.config();
    let request = ReportRequest { trigger, ..ReportRequest::manual(tenant.id) }.window(c.window_start, c.window_end());
    let job = w.service.enqueue_report(request).await.unwrap();
    while w.workers.run_next("test-worker").await.unwrap().is_some_and(|j| j.id != job.id || !j.status.is_finished()) {}
    w.service.store().get_job(job.id).await.unwrap()
}

fn texts_in(w: &World, chat: i64) -> Vec<String> {
    w.sandbox.telegram_sent().into_iter().filter(|m| m.chat_id == chat).map(|m| m.text).collect()
}

async fn a_report_written_without_the_ai_alerts_the_admins_chat_once_per_window(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    let acme = with_alert_chat(&w, ReportMode::CrmChats).await;
    w.sandbox.inject(Service::OpenAi, "chat/completions", Fault::Status(500), 100);

    // A report run outside the schedule (someone asked, the system reran it) alerts no one.
    let manual = run(&w, &acme, TriggerType::System).await;
    assert_eq!(manual.status, JobStatus::Success);
    assert!(texts_in(&w, ALERT_CHAT).is_empty(), "{:?}", texts_in(&w, ALERT_CHAT));

    let job = run(&w, &acme, TriggerType::Scheduled).await;
    assert_eq!(job.status, JobStatus::Success);
    let alerts = texts_in(&w, ALERT_CHAT);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert!(alert.starts_with(&format!("⚠️ Synkro, {}", acme.name)), "{alert}");
    assert!(alert.contains("составлен без ИИ (сервис ИИ ответил ошибкой)"), "{alert}");
    assert!(!alert.contains("500"), "the class, not the service's text: {alert}");
    let report_chat = w.sandbox.credentials().telegram_chat_id;
    assert!(texts_in(&w, report_chat).iter().all(|t| !t.contains("⚠️")), "the report chat gets the report only");

    // Whatever else goes wrong in the same window, the admins hear once.
    let window = Window::new(job.window_start.unwrap(), job.window_end.unwrap()).unwrap();
    let again = alerts::raise(&w.service, &acme, window, AlertKind::Delivery, |_| "x".into()).await;
    assert_eq!(again, None);
    assert_eq!(texts_in(&w, ALERT_CHAT).len(), 1);
    let stored = store.list_alerts(acme.id, 10).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].kind, stored[0].state), (AlertKind::Fallback, AlertState::Sent));
    assert_eq!(stored[0].message, *alert);
}

async fn a_failed_scheduled_report_alerts_in_the_tenants_language(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    let acme = tenant(&w, setup(ReportMode::CrmOnly)).await;
    let english = RuntimeConfigChange { language: Some(Language::En), ..Default::default() };
    w.service.update_runtime_config(acme.id, english).await.unwrap();
    // amoCRM refuses the token: the job fails for good.
    w.sandbox.inject(Service::Amocrm, "leads", Fault::Status(401), 100);
    let job = run(&w, &acme, TriggerType::Scheduled).await;
    assert_eq!(job.status, JobStatus::Failed);
    // No alert chat: the report chat gets it, marked as an alert.
    let chat = w.sandbox.credentials().telegram_chat_id;
    let sent = texts_in(&w, chat);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let alert = &sent[0];
    assert!(alert.starts_with(&format!("⚠️ Synkro, {}\nThe report for ", acme.name)), "{alert}");
    assert!(alert.contains("was not made: the job failed (attempts: "), "{alert}");
    assert!(alert.ends_with("Details are in Synkro's job log."), "{alert}");
    assert!(!alert.chars().any(|c| ('а'..='я').contains(&c)), "English throughout: {alert}");

    // A paused tenant's reports are off on purpose: nothing is alerted.
    let paused = TenantUpdate { status: Some(TenantStatus::Paused), ..Default::default() };
    store.update_tenant(acme.id, &paused).await.unwrap();
    let (start, end) = (job.window_end.unwrap(), job.window_end.unwrap() + time::Duration::days(1));
    let next_day = Window::new(start, end).unwrap();
    assert_eq!(alerts::raise(&w.service, &acme, next_day, AlertKind::Failed, |_| "x".into()).await, None);
    assert_eq!(texts_in(&w, chat).len(), 1);
}

async fn an_undelivered_report_is_alerted(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    let acme = with_alert_chat(&w, ReportMode::CrmOnly).await;
    // The report's message fails on each of its 4 tries (the world's `max_attempts`), so a
    // delivery retry is scheduled; the alert after it goes through.
    w.sandbox.inject(Service::Telegram, "sendMessage", Fault::Status(502), 4);
    let job = run(&w, &acme, TriggerType::Scheduled).await;
    let report = report_of(store, &job).await;
    assert_eq!(store.get_delivery(report.id).await.unwrap().unwrap().state, synkro::store::DeliveryState::Retrying);
    let alerts = texts_in(&w, ALERT_CHAT);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        alerts[0].contains("не доставлен в чат: мессенджер ответил ошибкой; Synkro повторит отправку"),
        "{}",
        alerts[0]
    );
    let stored = store.list_alerts(acme.id, 10).await.unwrap();
    assert_eq!((stored[0].kind, stored[0].state), (AlertKind::Delivery, AlertState::Sent));
}

async fn a_missing_report_is_alerted_after_the_grace_period(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    let acme = with_alert_chat(&w, ReportMode::CrmOnly).await;
    let done = with_alert_chat_named(&w, "bolt").await;
    // Both tenants' schedules have been in effect for days.
    let long_ago = Timestamp::now() + time::Duration::days(-10);
    for t in [&acme, &done] {
        synkro::testing::backdate_schedule(store, t.id, long_ago).await;
    }
    let config = store.get_runtime_config(acme.id).await.unwrap();
    let (due, window) =
        latest_due(Timestamp::now(), &config.timezone, config.scheduled_run_time, config.business_day_start);
    let grace = alerts::DEFAULT_GRACE;
    let after = |d: Duration| due + time::Duration::try_from(d).unwrap();

    // "bolt" has its report for that window; "acme" has none.
    let job = synkro::domain::NewJobRun::report(done.id, config.mode, TriggerType::Scheduled, window);
    let job = store.create_job(&job).await.unwrap().into_job();
    store.finish_job(job.id, JobStatus::Success, None).await.unwrap();

    let early = alerts::missed_reports(&w.service, after(grace / 2), grace, scheduler::DEFAULT_CATCH_UP).await;
    assert_eq!(early.unwrap(), 0, "within the grace period nothing is missing yet");
    let late = after(grace + Duration::from_secs(60));
    assert_eq!(alerts::missed_reports(&w.service, late, grace, scheduler::DEFAULT_CATCH_UP).await.unwrap(), 1);
    assert_eq!(alerts::missed_reports(&w.service, late, grace, scheduler::DEFAULT_CATCH_UP).await.unwrap(), 0, "once");
    let alerts = texts_in(&w, ALERT_CHAT);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains(&acme.name) && alerts[0].contains("хотя он ожидался к"), "{}", alerts[0]);
    assert_eq!(store.list_alerts(acme.id, 10).await.unwrap()[0].kind, AlertKind::Missed);
    assert!(store.list_alerts(done.id, 10).await.unwrap().is_empty());
}

/// A second tenant with the same alert chat.
async fn with_alert_chat_named(w: &World, slug: &str) -> Tenant {
    let mut s = TenantSetup { slug: slug.into(), ..setup(ReportMode::CrmOnly) };
    s.settings.insert("telegram".into(), json!({"alert_chat_id": ALERT_CHAT.to_string()}));
    tenant(w, s).await
}

//! Deliveries never vanish: a messenger outage is retried until it recovers (or for the
//! configured time, then fails for good, visibly), a restart lets a delivery in flight finish,
//! and only an explicit re-send sends an unknown or failed delivery again.

use std::time::Duration;

use synkro::{
    Store,
    domain::{JobStatus, JobType, ReportMode, ReportStatus},
    pipeline::{EngineError, WorkerConfig},
    store::DeliveryState,
};
use synkro_sandbox::{Fault, SandboxConfig, Service};

use super::{World, events, report_of, run_day, setup, tenant, worker_config, world, world_with};

synkro::on_both_backends!(
    a_messenger_outage_is_retried_until_the_report_arrives,
    a_delivery_that_keeps_failing_fails_for_good_and_only_a_resend_sends_it,
    shutting_down_lets_a_delivery_in_flight_finish,
);

/// Runs due jobs on this thread until `until` says stop (at most `rounds` passes).
async fn drain(w: &World, rounds: usize, until: impl AsyncFn() -> bool) {
    for _ in 0..rounds {
        if until().await {
            return;
        }
        if w.workers.run_next("test-worker").await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    panic!("gave up waiting");
}

async fn a_messenger_outage_is_retried_until_the_report_arrives(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    let acme = tenant(&w, setup(ReportMode::CrmOnly)).await;
    w.sandbox.inject(Service::Telegram, "sendMessage", Fault::Status(502), 1000);
    let job = run_day(&w, &acme).await;
    assert_eq!(job.status, JobStatus::Success, "the report is built whatever the messenger does");
    let report = report_of(store, &job).await;
    assert_eq!(report.status, ReportStatus::Ready);
    let delivery = store.get_delivery(report.id).await.unwrap().unwrap();
    assert_eq!(delivery.state, DeliveryState::Retrying, "{delivery:?}");
    assert!(delivery.next_attempt_at.is_some() && delivery.give_up_at.is_some());
    let log = events(store, &job).await;
    assert!(log.iter().any(|e| e.starts_with("warn not delivered") && e.contains("retrying at")), "{log:?}");

    // A second try while it is still down, then Telegram recovers.
    let delivered = async || store.get_delivery(report.id).await.unwrap().unwrap().attempts >= 2;
    drain(&w, 200, delivered).await;
    w.sandbox.clear_faults();
    let sent = async || store.get_delivery(report.id).await.unwrap().unwrap().state == DeliveryState::Sent;
    drain(&w, 200, sent).await;
    assert_eq!(store.get_report(report.id).await.unwrap().status, ReportStatus::Sent);
    let arrived = w.sandbox.telegram_sent().iter().filter(|m| m.text.contains(&acme.name)).count();
    assert_eq!(arrived, 1, "delivered once");
    let jobs = store.list_jobs(Some(acme.id), &synkro::PageRequest::first(20).unwrap()).await.unwrap().items;
    let retries: Vec<_> = jobs.iter().filter(|j| j.job_type == JobType::ReportDelivery).collect();
    assert!(retries.len() >= 2 && retries.iter().all(|j| j.status == JobStatus::Success), "{retries:?}");
}

async fn a_delivery_that_keeps_failing_fails_for_good_and_only_a_resend_sends_it(store: &Store) {
    // Retrying stops almost at once, so the first retryable failure is final.
    let config = WorkerConfig { delivery_retry_for: Duration::from_millis(1), ..worker_config() };
    let w = world_with(store, SandboxConfig::default(), config).await;
    let acme = tenant(&w, setup(ReportMode::CrmOnly)).await;
    w.sandbox.inject(Service::Telegram, "sendMessage", Fault::Status(502), 1000);
    let job = run_day(&w, &acme).await;
    let report = report_of(store, &job).await;
    let delivery = store.get_delivery(report.id).await.unwrap().unwrap();
    assert_eq!(delivery.state, DeliveryState::Failed);
    assert!(delivery.needs_attention());
    assert!(events(store, &job).await.iter().any(|e| e.starts_with("error not delivered: gave up")));
    let audit = store
        .list_audit(
            &synkro::domain::AuditFilter { tenant_id: Some(acme.id), ..Default::default() },
            &synkro::PageRequest::first(50).unwrap(),
        )
        .await
        .unwrap();
    assert!(audit.items.iter().any(|a| a.action == "report.delivery_failed"), "the failure is audited");
    assert_eq!(store.delivery_counts().await.unwrap(), vec![(DeliveryState::Failed, 1)]);

    // Nothing sends it again by itself...
    for _ in 0..5 {
        w.workers.run_next("test-worker").await.unwrap();
    }
    assert_eq!(store.get_delivery(report.id).await.unwrap().unwrap().state, DeliveryState::Failed);
    // ...until a person asks. Sending needs only the messenger: an amoCRM integration that broke
    // since the report (its settings no longer build) does not stand in the way.
    let amocrm = store.get_integration(acme.id, &synkro::domain::ConnectorKind::new("amocrm").unwrap()).await.unwrap();
    store.update_integration(amocrm.id, &serde_json::json!({}), None).await.unwrap();
    w.sandbox.clear_faults();
    let resend = w.service.resend_report(report.id, None).await.unwrap();
    assert_eq!(resend.job_type, JobType::ReportDelivery);
    let sent = async || store.get_delivery(report.id).await.unwrap().unwrap().state == DeliveryState::Sent;
    drain(&w, 100, sent).await;
    assert_eq!(w.sandbox.telegram_sent().iter().filter(|m| m.text.contains(&acme.name)).count(), 1);
    assert!(audit_has(store, &acme, "report.resend").await);
    match w.service.resend_report(report.id, None).await {
        Err(EngineError::DeliveryBusy(DeliveryState::Sent)) => {}
        other => panic!("a delivered report is not re-sent: {other:?}"),
    }
}

async fn audit_has(store: &Store, tenant: &synkro::domain::Tenant, action: &str) -> bool {
    let filter = synkro::domain::AuditFilter { tenant_id: Some(tenant.id), ..Default::default() };
    let page = store.list_audit(&filter, &synkro::PageRequest::first(50).unwrap()).await.unwrap();
    page.items.iter().any(|a| a.action == action)
}

async fn shutting_down_lets_a_delivery_in_flight_finish(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    let acme = tenant(&w, setup(ReportMode::CrmOnly)).await;
    // Telegram answers slowly, so the shutdown comes while the report is being sent.
    w.sandbox.inject(Service::Telegram, "sendMessage", Fault::Slow(Duration::from_millis(1500)), 1);
    let c = w.sandbox.config();
    let request = synkro::pipeline::ReportRequest {
        trigger: synkro::domain::TriggerType::System,
        ..synkro::pipeline::ReportRequest::manual(acme.id)
    };
    let job = w.service.enqueue_report(request.window(c.window_start, c.window_end())).await.unwrap();
    w.workers.start().await;
    loop {
        let report = store.report_for_job(job.id).await.unwrap();
        let sending = match report {
            Some(r) => store.get_delivery(r.id).await.unwrap().is_some_and(|d| d.state == DeliveryState::Sending),
            None => false,
        };
        if sending {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    w.workers.shutdown().await;
    let done = store.get_job(job.id).await.unwrap();
    assert_eq!(done.status, JobStatus::Success, "the delivery finished before the worker stopped");
    let report = report_of(store, &done).await;
    assert_eq!(store.get_delivery(report.id).await.unwrap().unwrap().state, DeliveryState::Sent);
    assert_eq!(report.status, ReportStatus::Sent);
    assert_eq!(w.sandbox.telegram_sent().iter().filter(|m| m.text.contains(&acme.name)).count(), 1);
}

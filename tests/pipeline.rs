//! The report pipeline end to end against the sandbox, on SQLite and PostgreSQL: every mode
//! with the exact summary numbers the generated data implies, AI and Telegram failures, 429
//! storms, manual-window validation, stop, effects once, the scheduler and follow-ups.

#![allow(clippy::unwrap_used)]

#[path = "pipeline/alerts.rs"]
mod alerts;
#[path = "pipeline/deliveries.rs"]
mod deliveries;
#[path = "pipeline/examples.rs"]
mod examples;
#[path = "pipeline/trust.rs"]
mod trust;

use std::time::Duration;

use serde_json::Value;
use synkro::{
    Keyring, Store,
    connector::HttpSettings,
    domain::{JobStatus, MessageSource, ReportMode, ReportStatus, Summary, Tenant, TriggerType},
    pipeline::{
        EngineError, ReportRequest, WorkerConfig, Workers,
        followup::{TelegramFollowups, telegram_pass},
        report::Step,
        scheduler,
    },
    time::Timestamp,
};
use synkro_sandbox::{Fault, Sandbox, SandboxConfig, Service, TenantSetup};

synkro::on_both_backends!(
    crm_chats_report_has_the_exact_numbers_and_is_delivered_once,
    chats_only_report_counts_every_dialog,
    crm_only_report_counts_every_deal,
    ai_failure_gives_the_fallback_report_and_the_job_succeeds,
    telegram_failure_leaves_the_report_ready_and_says_why,
    rate_limit_storms_lose_no_data,
    manual_windows_are_validated_and_one_job_runs_per_tenant,
    a_pending_job_stops_at_once_and_a_running_one_promptly,
    two_schedulers_create_one_job_per_window,
    follow_ups_on_the_web_and_in_telegram,
    shutdown_hands_a_running_job_back_and_another_worker_finishes_it,
);

struct World {
    sandbox: Sandbox,
    service: synkro::pipeline::Service,
    workers: Workers,
    keyring: Keyring,
}

/// The worker settings of these tests: short leases, polls and retries.
fn worker_config() -> WorkerConfig {
    WorkerConfig {
        workers: 2,
        lease: Duration::from_secs(5),
        poll_interval: Duration::from_millis(100),
        retry_base: Duration::from_millis(100),
        retry_cap: Duration::from_secs(1),
        ..Default::default()
    }
}

async fn world(store: &Store, config: SandboxConfig) -> World {
    world_with(store, config, worker_config()).await
}

async fn world_with(store: &Store, config: SandboxConfig, workers: WorkerConfig) -> World {
    let sandbox = Sandbox::start(config).await;
    let keyring = Keyring::generate();
    let registry = synkro::connector::Registry::from_linked().unwrap();
    let mut builder = synkro::pipeline::Service::builder(store.clone(), registry, keyring.clone())
        .outbound(synkro::connector::OutboundPolicy::loopback());
    builder =
        builder.http(HttpSettings { backoff_base: Duration::from_millis(20), max_attempts: 4, ..Default::default() });
    for (kind, url) in sandbox.endpoints() {
        builder = builder.endpoint(kind, url);
    }
    let service = builder.build().await.unwrap();
    let workers = Workers::new(&service, workers);
    World { sandbox, service, workers, keyring }
}

async fn tenant(w: &World, setup: TenantSetup) -> Tenant {
    w.sandbox.provision_tenant(w.service.store(), &w.keyring, &setup).await.unwrap()
}

fn setup(mode: ReportMode) -> TenantSetup {
    TenantSetup { mode, ..TenantSetup::full("acme") }
}

/// Runs `tenant`'s report for the sandbox's day on this thread's workers and returns the job.
async fn run_day(w: &World, tenant: &Tenant) -> synkro::domain::JobRun {
    let c = w.sandbox.config();
    let job = w
        .service
        .enqueue_report(
            ReportRequest { trigger: TriggerType::System, ..ReportRequest::manual(tenant.id) }
                .window(c.window_start, c.window_end()),
        )
        .await
        .unwrap();
    while w.workers.run_next("test-worker").await.unwrap().is_some_and(|j| j.id != job.id || !j.status.is_finished()) {}
    w.service.store().get_job(job.id).await.unwrap()
}

fn summary_of(report: &synkro::domain::Report) -> Summary {
    report.summary.clone().expect("the report has its numbers")
}

/// The report's conversation analytics count the same rows and messages as its summary, per
/// manager and (with a CRM) per stage; waits and responses were measured.
fn analytics_agree_with_the_summary(report: &synkro::domain::Report, stages: bool) {
    let (s, a) = (summary_of(report), report.analytics.clone().expect("the report has its analytics"));
    let d = &a.day;
    assert_eq!((d.deals, d.deals_with_dialogs), (s.total_deals, s.deals_with_dialogs));
    assert_eq!(d.inbound_messages + d.outbound_messages, s.total_messages);
    assert_eq!(a.managers.iter().map(|m| m.dialogs).sum::<u64>(), s.deals_with_dialogs);
    assert_eq!(a.managers.iter().map(|m| m.clients_waiting).sum::<u64>(), d.clients_waiting);
    assert!(d.responses > 0 && d.first_response_median_secs <= d.first_response_p90_secs, "{d:?}");
    assert_eq!(a.waiting.len() as u64, d.clients_waiting.min(20));
    assert!(a.waiting.windows(2).all(|w| w[0].waiting_secs >= w[1].waiting_secs), "longest wait first");
    match stages {
        true => assert_eq!(a.stages.iter().map(|st| st.deals).sum::<u64>(), s.total_deals),
        false => assert!(a.stages.is_empty(), "chats have no stages"),
    }
}

/// The summary the generated data implies for `mode`.
fn expected(sandbox: &Sandbox, mode: ReportMode) -> Summary {
    let data = sandbox.data();
    let (start, end) = (sandbox.config().window_start, sandbox.config().window_end());
    let in_window = |chat: &synkro_sandbox::Chat| data.messages_in(chat.id, start, end).len() as u64;
    let mut s = Summary::default();
    let mut count = |status: String, manager: String, messages: u64| {
        s.total_deals += 1;
        s.deals_with_dialogs += u64::from(messages > 0);
        s.total_messages += messages;
        *s.by_status.entry(status).or_default() += 1;
        *s.by_manager.entry(manager).or_default() += 1;
    };
    match mode {
        ReportMode::ChatsOnly => {
            for chat in data.chats.iter().filter(|c| c.is_messaging() && in_window(c) > 0) {
                count("(no stage)".into(), "(unassigned)".into(), in_window(chat));
            }
        }
        _ => {
            for lead in data.leads_updated_in(start, end) {
                let status = data.status(lead.pipeline_id, lead.status_id).unwrap().name.clone();
                let manager = data.user(lead.responsible_user_id).unwrap().name.clone();
                if mode == ReportMode::CrmOnly {
                    count(status, manager, 0);
                    continue;
                }
                let phones: Vec<&String> =
                    lead.contacts.iter().flat_map(|c| data.contact(c.id).unwrap().phones.iter()).collect();
                let best = phones
                    .iter()
                    .flat_map(|p| data.chats_for_phone(p))
                    .filter(|c| c.is_messaging() && in_window(c) > 0)
                    .max_by_key(|c| (data.messages_in(c.id, start, end).last().unwrap().created_at, c.id.to_string()));
                if let Some(chat) = best {
                    count(status, manager, in_window(chat));
                }
            }
        }
    }
    s
}

async fn report_of(store: &Store, job: &synkro::domain::JobRun) -> synkro::domain::Report {
    store.report_for_job(job.id).await.unwrap().expect("the job saved a report")
}

async fn events(store: &Store, job: &synkro::domain::JobRun) -> Vec<String> {
    store
        .list_job_events(job.id, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.level, e.message))
        .collect()
}

async fn crm_chats_report_has_the_exact_numbers_and_is_delivered_once(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    let acme = tenant(&w, setup(ReportMode::CrmChats)).await;
    let job = run_day(&w, &acme).await;
    assert_eq!(job.status, JobStatus::Success, "{:?}", events(store, &job).await);
    assert_eq!(job.progress, 100);
    let report = report_of(store, &job).await;
    assert_eq!(summary_of(&report), expected(&w.sandbox, ReportMode::CrmChats));
    analytics_agree_with_the_summary(&report, true);
    assert_eq!(report.status, ReportStatus::Sent);
    assert!(!report.ai.as_ref().unwrap().fallback);
    let sent = w.sandbox.telegram_sent();
    assert!(!sent.is_empty() && sent[0].text.contains(&acme.name), "the delivery starts with the tenant name");
    let steps: Vec<_> =
        store.list_job_events(job.id, None, 100).await.unwrap().into_iter().filter_map(|e| e.step).collect();
    for step in Step::ALL.map(Step::name) {
        assert!(steps.iter().any(|s| s == step), "step {step} logged: {steps:?}");
    }
    let methods = w.sandbox.methods_seen(Service::Amocrm);
    assert!(methods.iter().all(|m| m == "GET"), "only GET ever reaches amoCRM: {methods:?}");
    let rows = w.sandbox.supabase_rows("deals");
    assert!(!rows.is_empty(), "rows went to the tenant's Supabase");
    assert_eq!(w.sandbox.supabase_rows("reports").len(), 1, "the report was archived");

    // The same window again: rows are upserted (no duplicates), and a new report is made.
    let again = run_day(&w, &acme).await;
    assert_eq!(again.status, JobStatus::Success);
    assert_eq!(w.sandbox.supabase_rows("deals").len(), rows.len(), "re-running a window never duplicates a deal");
}

async fn chats_only_report_counts_every_dialog(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    let acme = tenant(&w, TenantSetup { supabase: false, ..setup(ReportMode::ChatsOnly) }).await;
    let job = run_day(&w, &acme).await;
    assert_eq!(job.status, JobStatus::Success, "{:?}", events(store, &job).await);
    let report = report_of(store, &job).await;
    assert_eq!(summary_of(&report), expected(&w.sandbox, ReportMode::ChatsOnly));
    analytics_agree_with_the_summary(&report, false);
    assert_eq!(report.metadata["warehouse"], "builtin");
    assert_eq!(w.sandbox.request_count(Service::Amocrm), 0, "chats_only never calls the CRM");
}

async fn crm_only_report_counts_every_deal(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    let acme = tenant(&w, setup(ReportMode::CrmOnly)).await;
    let job = run_day(&w, &acme).await;
    assert_eq!(job.status, JobStatus::Success, "{:?}", events(store, &job).await);
    assert_eq!(summary_of(&report_of(store, &job).await), expected(&w.sandbox, ReportMode::CrmOnly));
    assert_eq!(w.sandbox.request_count(Service::Radist), 0, "crm_only never calls the chat source");
}

async fn ai_failure_gives_the_fallback_report_and_the_job_succeeds(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    let acme = tenant(&w, setup(ReportMode::CrmChats)).await;
    w.sandbox.inject(Service::OpenAi, "chat/completions", Fault::Status(500), 100);
    let job = run_day(&w, &acme).await;
    assert_eq!(job.status, JobStatus::Success);
    let report = report_of(store, &job).await;
    assert!(report.ai.as_ref().unwrap().fallback);
    assert!(report.ai.as_ref().unwrap().error.as_deref().unwrap().contains("500"));
    let summary = summary_of(&report);
    assert!(report.summary_text.contains(&summary.total_deals.to_string()), "the fallback carries the numbers");
    // A report written by rules, which says why the AI is missing in its own words.
    let text = &report.summary_text;
    assert!(text.contains("ИИ недоступен (сервис ИИ ответил ошибкой)") && !text.contains("500"), "{text}");
    for section in ["1. Итоги", "2. Риски", "3. Сильные стороны", "4. Рекомендации"]
    {
        assert!(text.contains(section), "{section} in {text}");
    }
    let analytics = report.analytics.clone().unwrap();
    if let Some(w) = analytics.waiting.first() {
        assert!(text.contains(&format!("- ответить клиенту: {}", w.deal_name)), "the longest wait is named: {text}");
    }
    assert!(events(store, &job).await.iter().any(|e| e.starts_with("warn") && e.contains("AI failed")));
}

async fn telegram_failure_leaves_the_report_ready_and_says_why(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    let acme = tenant(&w, setup(ReportMode::CrmOnly)).await;
    w.sandbox.inject(Service::Telegram, "sendMessage", Fault::Status(403), 100);
    let job = run_day(&w, &acme).await;
    assert_eq!(job.status, JobStatus::Success);
    let report = report_of(store, &job).await;
    assert_eq!(report.status, ReportStatus::Ready, "saved, not sent");
    let log = events(store, &job).await;
    assert!(log.iter().any(|e| e.starts_with("error not delivered")), "{log:?}");
    let delivery = store.get_delivery(report.id).await.unwrap().unwrap();
    assert_eq!(delivery.state.as_str(), "failed");
}

async fn rate_limit_storms_lose_no_data(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    let acme = tenant(&w, setup(ReportMode::CrmChats)).await;
    w.sandbox.inject(Service::Amocrm, "/api/v4/leads", Fault::RateLimited, 2);
    w.sandbox.inject(Service::Amocrm, "/api/v4/contacts", Fault::RateLimited, 2);
    w.sandbox.inject(Service::Radist, "messages", Fault::RateLimited, 3);
    w.sandbox.inject(Service::Telegram, "sendMessage", Fault::RateLimited, 1);
    let job = run_day(&w, &acme).await;
    assert_eq!(job.status, JobStatus::Success, "{:?}", events(store, &job).await);
    let report = report_of(store, &job).await;
    assert_eq!(summary_of(&report), expected(&w.sandbox, ReportMode::CrmChats));
    analytics_agree_with_the_summary(&report, true);
    assert_eq!(report.status, ReportStatus::Sent);
    assert!(w.sandbox.rate_limited_count(Service::Amocrm) >= 4);
}

async fn manual_windows_are_validated_and_one_job_runs_per_tenant(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    let acme = tenant(&w, setup(ReportMode::CrmOnly)).await;
    let now = Timestamp::now();
    let hours = |h: i64| time::Duration::hours(h);
    let bad = [
        (now + hours(-2), now + hours(-3), "window_end"),
        (now + hours(-30), now, "window_end"),
        (now + hours(-24 * 5), now + hours(-24 * 5 + 2), "window_start"),
    ];
    for (start, end, field) in bad {
        match w.service.enqueue_report(ReportRequest::manual(acme.id).window(start, end)).await {
            Err(EngineError::Invalid(e)) => {
                assert_eq!(e.field, field);
                assert!(e.message.chars().any(|c| c.is_ascii_digit()), "the message names the limit: {e}");
            }
            other => panic!("expected a validation error for {field}, got {other:?}"),
        }
    }
    let first = w
        .service
        .enqueue_report(ReportRequest::manual(acme.id).window(now + hours(-3), now + hours(-1)))
        .await
        .unwrap();
    let second =
        w.service.enqueue_report(ReportRequest::manual(acme.id).window(now + hours(-5), now + hours(-4))).await;
    match second {
        Err(EngineError::ActiveJob(id)) => assert_eq!(id, first.id),
        other => panic!("expected the active job's id, got {other:?}"),
    }
    let same = w
        .service
        .enqueue_report(ReportRequest::manual(acme.id).window(now + hours(-3), now + hours(-1)))
        .await
        .unwrap();
    assert_eq!(same.id, first.id, "the same request twice is one job");
}

async fn a_pending_job_stops_at_once_and_a_running_one_promptly(store: &Store) {
    let w = world(store, SandboxConfig { latency: Duration::from_millis(300), ..Default::default() }).await;
    let acme = tenant(&w, setup(ReportMode::CrmChats)).await;
    let c = w.sandbox.config();
    let job = w.service.enqueue_report(ReportRequest::manual(acme.id).window(c.window_start, c.window_end())).await;
    // The sandbox's day is long past: enqueue it as a system job instead.
    let job = match job {
        Ok(job) => job,
        Err(_) => w
            .service
            .enqueue_report(
                ReportRequest { trigger: TriggerType::System, ..ReportRequest::manual(acme.id) }
                    .window(c.window_start, c.window_end()),
            )
            .await
            .unwrap(),
    };
    let stopped = w.service.stop(job.id).await.unwrap();
    assert_eq!(stopped.status, JobStatus::Cancelled, "a pending job stops at once");

    let running = w
        .service
        .enqueue_report(
            ReportRequest { trigger: TriggerType::System, ..ReportRequest::manual(acme.id) }
                .window(c.window_start, c.window_end() + time::Duration::seconds(1)),
        )
        .await
        .unwrap();
    w.workers.start().await;
    let mut updates = w.service.subscribe();
    loop {
        let u = updates.recv().await.unwrap();
        if u.job_id == running.id && u.progress >= 5 {
            break;
        }
    }
    w.service.stop(running.id).await.unwrap();
    // A guard against a hang, not a speed assertion: the job stops at its next checkpoint.
    let done = tokio::time::timeout(Duration::from_secs(120), w.service.wait(running.id)).await.unwrap().unwrap();
    assert_eq!(done.status, JobStatus::Cancelled);
    assert!(done.progress < 100, "it stopped before the end");
    assert!(events(store, &done).await.iter().any(|e| e.contains("stopped on request")));
    assert!(store.report_for_job(done.id).await.unwrap().is_none(), "a stopped job saves no report");
    w.workers.shutdown().await;
}

async fn two_schedulers_create_one_job_per_window(store: &Store) {
    let a = world(store, SandboxConfig::default()).await;
    let registry = synkro::connector::Registry::from_linked().unwrap();
    let b = synkro::pipeline::Service::builder(store.clone(), registry, a.keyring.clone()).build().await.unwrap();
    for slug in ["t-one", "t-two", "t-three"] {
        tenant(&a, TenantSetup { slug: slug.into(), ..setup(ReportMode::CrmOnly) }).await;
    }
    // The tenants were created just now: their first due run is the next one.
    let now = Timestamp::now() + time::Duration::hours(25);
    let (ta, tb) = tokio::join!(
        scheduler::tick(&a.service, now, scheduler::DEFAULT_CATCH_UP),
        scheduler::tick(&b, now, scheduler::DEFAULT_CATCH_UP)
    );
    let (ta, tb) = (ta.unwrap(), tb.unwrap());
    assert_eq!(ta.created + tb.created, 3, "one job per tenant and window: {ta:?} {tb:?}");
    let again = scheduler::tick(&b, now + time::Duration::minutes(1), scheduler::DEFAULT_CATCH_UP).await.unwrap();
    assert_eq!(again.created, 0, "a later pass finds the jobs: {again:?}");
    let jobs = store.list_jobs(None, &synkro::PageRequest::first(50).unwrap()).await.unwrap();
    assert_eq!(jobs.items.len(), 3);
    assert!(jobs.items.iter().all(|j| j.trigger_type == TriggerType::Scheduled));
}

async fn follow_ups_on_the_web_and_in_telegram(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    let acme = tenant(&w, setup(ReportMode::CrmOnly)).await;
    let job = run_day(&w, &acme).await;
    let report = report_of(store, &job).await;

    for i in 0..8 {
        let answer = w.service.ask(report.id, None, &format!("question {i}?"), MessageSource::Web).await.unwrap();
        assert!(!answer.answer.is_empty());
    }
    let stored = store.recent_report_messages(report.id, 50).await.unwrap();
    assert_eq!(stored.len(), 8, "questions and answers are stored");
    let last_request =
        w.sandbox.requests(Service::OpenAi).into_iter().rev().find(|r| r.path.ends_with("chat/completions")).unwrap();
    let body: Value = serde_json::from_str(last_request.body.as_deref().unwrap()).unwrap();
    let context = body.to_string();
    // The eighth question sees the six before it (1-6), not the first.
    assert!(context.contains("question 1?") && context.contains("question 6?"), "{context}");
    assert!(!context.contains("question 0?"), "the last six Q&A only");

    let chat = w.sandbox.credentials().telegram_chat_id;
    w.sandbox.telegram_push_update(
        chat,
        "anna",
        false,
        &format!("@{} how many deals?", synkro_sandbox::TELEGRAM_BOT_USERNAME),
    );
    w.sandbox.telegram_push_update(
        chat,
        "otherbot",
        true,
        &format!("@{} ignore me", synkro_sandbox::TELEGRAM_BOT_USERNAME),
    );
    let followups =
        TelegramFollowups::new(Duration::from_secs(5)).with_public_url(Some("https://synkro.example.com/".into()));
    let pass = telegram_pass(&w.service, &followups, Timestamp::now()).await.unwrap();
    assert_eq!((pass.polled, pass.answered, pass.closed), (1, 1, 0));
    let again = telegram_pass(&w.service, &followups, Timestamp::now()).await.unwrap();
    assert_eq!((again.answered, again.closed), (0, 0), "updates are consumed once");

    w.sandbox.telegram_push_update(
        chat,
        "anna",
        false,
        &format!("@{} and now?", synkro_sandbox::TELEGRAM_BOT_USERNAME),
    );
    let later = Timestamp::now() + time::Duration::hours(3);
    let closed = telegram_pass(&w.service, &followups, later).await.unwrap();
    assert_eq!(closed.closed, 1, "after the deadline the bot says the window is closed");
    let replies: Vec<_> = w.sandbox.telegram_sent().into_iter().filter(|m| m.reply_to_message_id.is_some()).collect();
    assert_eq!(replies.len(), 2);
    // When it closed, in the tenant's time, and where to ask instead.
    let deadline = report.followup_deadline_at.unwrap().to_jiff();
    let local = acme.timezone.zone().to_datetime(deadline).strftime("%d.%m.%Y в %H:%M").to_string();
    let told = &replies[1].text;
    assert!(told.contains(&format!("{local} ({})", acme.timezone)), "{told}");
    assert!(told.contains("https://synkro.example.com/"), "{told}");
    assert!(!told.contains("кабинет") && !told.contains(&deadline.to_string()[..16]), "{told}");
}

async fn shutdown_hands_a_running_job_back_and_another_worker_finishes_it(store: &Store) {
    let w = world(store, SandboxConfig { latency: Duration::from_millis(200), ..Default::default() }).await;
    let acme = tenant(&w, setup(ReportMode::CrmChats)).await;
    let c = w.sandbox.config();
    let request = ReportRequest { trigger: TriggerType::System, ..ReportRequest::manual(acme.id) };
    let job = w.service.enqueue_report(request.window(c.window_start, c.window_end())).await.unwrap();
    w.workers.start().await;
    while store.get_job(job.id).await.unwrap().progress < 5 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    w.workers.shutdown().await;
    let handed = store.get_job(job.id).await.unwrap();
    assert_eq!((handed.status, handed.lease_owner.as_deref()), (JobStatus::Pending, None), "back in the queue at once");
    assert!(events(store, &handed).await.iter().any(|e| e.contains("handed back")));

    let registry = synkro::connector::Registry::from_linked().unwrap();
    let mut builder = synkro::pipeline::Service::builder(store.clone(), registry, w.keyring.clone())
        .outbound(synkro::connector::OutboundPolicy::loopback());
    for (kind, url) in w.sandbox.endpoints() {
        builder = builder.endpoint(kind, url);
    }
    let other = Workers::new(&builder.build().await.unwrap(), worker_config());
    let done = loop {
        match other.run_next("other-node").await.unwrap() {
            Some(j) if j.id == job.id && j.status.is_finished() => break j,
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    assert_eq!(done.status, JobStatus::Success);
    assert_eq!(done.attempt, 2);
    assert_eq!(w.sandbox.telegram_sent().iter().filter(|m| m.text.contains(&acme.name)).count(), 1);
}

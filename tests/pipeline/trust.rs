//! Reports a tenant can trust whatever ran before: every ordered pair of modes on one window
//! (both warehouses), schedules that run on exactly what the API shows and never post at once
//! for a window that closed before a change, and paused tenants that run nothing.

use synkro::{
    Store,
    domain::{JobStatus, MessageSource, NewTenant, ReportMode, TenantStatus, TenantUpdate, TriggerType},
    pipeline::{EngineError, ReportRequest, scheduler},
    time::Timestamp,
};
use synkro_sandbox::{SandboxConfig, TenantSetup};

use super::{World, events, expected, report_of, setup, summary_of, tenant, world};

synkro::on_both_backends!(
    every_ordered_pair_of_modes_counts_only_its_own_rows,
    a_tenant_never_saved_runs_on_the_defaults,
    a_schedule_change_never_posts_at_once_but_missed_runs_are_caught_up,
    paused_tenants_run_no_reports_and_answer_no_questions,
);

fn named(setup: TenantSetup, slug: &str) -> TenantSetup {
    TenantSetup { slug: slug.into(), ..setup }
}

const MODES: [ReportMode; 3] = [ReportMode::CrmChats, ReportMode::ChatsOnly, ReportMode::CrmOnly];

/// Runs the sandbox's day for `tenant` in `mode` and returns the finished job.
async fn run_mode(w: &World, tenant: &synkro::domain::Tenant, mode: ReportMode) -> synkro::domain::JobRun {
    let c = w.sandbox.config();
    let request = ReportRequest { trigger: TriggerType::System, mode: Some(mode), ..ReportRequest::manual(tenant.id) };
    let job = w.service.enqueue_report(request.window(c.window_start, c.window_end())).await.unwrap();
    while w.workers.run_next("test-worker").await.unwrap().is_some_and(|j| j.id != job.id || !j.status.is_finished()) {}
    w.service.store().get_job(job.id).await.unwrap()
}

async fn every_ordered_pair_of_modes_counts_only_its_own_rows(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    for supabase in [true, false] {
        for first in MODES {
            for second in MODES.into_iter().filter(|m| *m != first) {
                let slug = format!("{}-{}-{}", if supabase { "sb" } else { "bi" }, first.as_str(), second.as_str())
                    .replace('_', "-");
                let t = tenant(&w, named(TenantSetup { supabase, ..setup(ReportMode::CrmChats) }, &slug)).await;
                for mode in [first, second, first] {
                    let job = run_mode(&w, &t, mode).await;
                    assert_eq!(job.status, JobStatus::Success, "{slug} {mode}: {:?}", events(store, &job).await);
                    let got = summary_of(&report_of(store, &job).await);
                    assert_eq!(
                        got,
                        expected(&w.sandbox, mode),
                        "{slug}: a {mode} report after {first} counts exactly its own rows"
                    );
                }
            }
        }
    }
}

async fn a_tenant_never_saved_runs_on_the_defaults(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    // A tenant made the plain way: nobody ever saved its runtime settings.
    let fresh = store.create_tenant(&NewTenant::new("Fresh", "fresh", "Europe/Berlin").unwrap()).await.unwrap();
    let shown = store.get_runtime_config(fresh.id).await.unwrap();
    assert!(shown.is_schedule_enabled, "the defaults have the schedule on");
    let now = Timestamp::now();
    // Nothing was due since it was created...
    assert_eq!(scheduler::tick(&w.service, now, scheduler::DEFAULT_CATCH_UP).await.unwrap().created, 0);
    // ...and the next due run is scheduled on the settings shown.
    let next = synkro::pipeline::window::next_due(now, &shown.timezone, shown.scheduled_run_time);
    let tick =
        scheduler::tick(&w.service, next + time::Duration::seconds(1), scheduler::DEFAULT_CATCH_UP).await.unwrap();
    assert_eq!(tick.created, 1, "{tick:?}");
    let jobs = store.list_jobs(Some(fresh.id), &synkro::PageRequest::first(5).unwrap()).await.unwrap().items;
    assert_eq!(jobs.len(), 1);
    assert_eq!((jobs[0].trigger_type, jobs[0].mode), (TriggerType::Scheduled, Some(shown.mode)));
    let (_, window) = synkro::pipeline::window::latest_due(
        next + time::Duration::seconds(1),
        &shown.timezone,
        shown.scheduled_run_time,
        shown.business_day_start,
    );
    assert_eq!((jobs[0].window_start, jobs[0].window_end), (Some(window.start()), Some(window.end())));
}

/// A local time of day `minutes` from `now` in UTC.
fn utc_clock(now: Timestamp, minutes: i64) -> time::Time {
    (now + time::Duration::minutes(minutes)).as_offset().time()
}

async fn a_schedule_change_never_posts_at_once_but_missed_runs_are_caught_up(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    let now = Timestamp::now();
    let long_ago = now + time::Duration::days(-30);
    let mut tenants = Vec::new();
    for slug in ["missed", "changed"] {
        let t = tenant(&w, named(TenantSetup { timezone: "UTC".into(), ..setup(ReportMode::CrmOnly) }, slug)).await;
        // Both have been scheduled for a month, at a run time that has not come yet today...
        let mut config = store.get_runtime_config(t.id).await.unwrap();
        config.business_day_start = utc_clock(now, 60);
        config.scheduled_run_time = utc_clock(now, 70);
        store.put_runtime_config(&config).await.unwrap();
        synkro::testing::backdate_schedule(store, t.id, long_ago).await;
        tenants.push((t, config));
    }
    // "missed" ran its last run yesterday at this time; the scheduler was down since the run an
    // hour ago: that run is caught up.
    let (missed, mut config) = tenants.remove(0);
    config.business_day_start = utc_clock(now, -70);
    config.scheduled_run_time = utc_clock(now, -60);
    store.put_runtime_config(&config).await.unwrap();
    synkro::testing::backdate_schedule(store, missed.id, long_ago).await;
    // "changed" has its run time moved now to an hour ago: the window that closed before the
    // change is not posted at once.
    let (changed, mut config) = tenants.remove(0);
    config.business_day_start = utc_clock(now, -70);
    config.scheduled_run_time = utc_clock(now, -60);
    store.put_runtime_config(&config).await.unwrap();

    let tick = scheduler::tick(&w.service, Timestamp::now(), scheduler::DEFAULT_CATCH_UP).await.unwrap();
    let jobs = |t: synkro::ids::TenantId| async move {
        store.list_jobs(Some(t), &synkro::PageRequest::first(5).unwrap()).await.unwrap().items
    };
    assert_eq!(jobs(missed.id).await.len(), 1, "a run missed while no scheduler ran is caught up: {tick:?}");
    assert!(jobs(changed.id).await.is_empty(), "a change never posts a report at once: {tick:?}");

    // The changed tenant's next run happens on the new schedule.
    let next = synkro::pipeline::window::next_due(Timestamp::now(), &config.timezone, config.scheduled_run_time);
    scheduler::tick(&w.service, next + time::Duration::seconds(1), scheduler::DEFAULT_CATCH_UP).await.unwrap();
    assert_eq!(jobs(changed.id).await.len(), 1);
}

async fn paused_tenants_run_no_reports_and_answer_no_questions(store: &Store) {
    let w = world(store, SandboxConfig::default()).await;
    let acme = tenant(&w, setup(ReportMode::CrmOnly)).await;
    let done = super::run_day(&w, &acme).await;
    let report = report_of(store, &done).await;
    // A job queued before the pause, then the pause.
    let c = w.sandbox.config();
    let queued = w
        .service
        .enqueue_report(
            ReportRequest { trigger: TriggerType::System, ..ReportRequest::manual(acme.id) }
                .window(c.window_start, c.window_end() + time::Duration::seconds(1)),
        )
        .await
        .unwrap();
    let amocrm_before = w.sandbox.request_count(synkro_sandbox::Service::Amocrm);
    for status in [TenantStatus::Paused, TenantStatus::Disabled] {
        store.update_tenant(acme.id, &TenantUpdate { status: Some(status), ..Default::default() }).await.unwrap();
        match w.service.enqueue_report(ReportRequest::manual(acme.id)).await {
            Err(e @ EngineError::TenantInactive(s)) => {
                assert_eq!(s, status);
                assert!(e.to_string().contains(status.as_str()), "the error names the status: {e}");
            }
            other => panic!("a {status} tenant must get no report job, got {other:?}"),
        }
        let asked = w.service.ask(report.id, None, "how many deals?", MessageSource::Web).await;
        assert!(matches!(asked, Err(EngineError::TenantInactive(_))), "follow-ups are off: {asked:?}");
    }
    while w.workers.run_next("test-worker").await.unwrap().is_some_and(|j| j.id != queued.id) {}
    let queued = store.get_job(queued.id).await.unwrap();
    assert_eq!(queued.status, JobStatus::Failed);
    assert!(queued.error.as_deref().unwrap_or_default().contains("disabled"), "{:?}", queued.error);
    assert_eq!(
        w.sandbox.request_count(synkro_sandbox::Service::Amocrm),
        amocrm_before,
        "nothing reached amoCRM for the inactive tenant"
    );
}

//! The engine with Redis: several nodes share the work (a wake-up from one reaches idle
//! workers on another), progress events reach every node, and flushing Redis mid-run loses
//! and duplicates nothing, because the database is the source of truth.

#![allow(clippy::unwrap_used)]

use std::{io::Write, time::Duration};

use synkro::{
    Keyring, Store,
    domain::{JobStatus, ReportMode, TriggerType},
    pipeline::{ReportRequest, Service, WorkerConfig, Workers},
};
use synkro_sandbox::{Sandbox, SandboxConfig, TenantSetup};

/// SYNKRO_TEST_REDIS_URL with its database number replaced by `db`, or `None` (after saying
/// so) when it is not set.
fn redis_url(test: &str, db: u32) -> Option<String> {
    let Some(url) = std::env::var("SYNKRO_TEST_REDIS_URL").ok().filter(|v| !v.is_empty()) else {
        assert!(
            std::env::var("SYNKRO_TEST_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "SYNKRO_TEST_REQUIRE_SERVICES=1 but SYNKRO_TEST_REDIS_URL is not set"
        );
        let _ = writeln!(std::io::stderr(), "skipped: redis::{test} (set SYNKRO_TEST_REDIS_URL to run it)");
        return None;
    };
    let base = url.trim_end_matches('/');
    let base = match base.rsplit_once('/') {
        Some((head, tail)) if tail.chars().all(|c| c.is_ascii_digit()) && head.contains("//") && head.len() > 8 => head,
        _ => base,
    };
    Some(format!("{base}/{db}"))
}

async fn engine(
    store: &Store,
    keyring: &Keyring,
    sandbox: &Sandbox,
    redis: &str,
    node: &str,
    poll: Duration,
) -> Workers {
    let mut builder =
        Service::builder(store.clone(), synkro::connector::Registry::from_linked().unwrap(), keyring.clone())
            .node(node)
            .redis(redis)
            .outbound(synkro::connector::OutboundPolicy::loopback());
    for (kind, url) in sandbox.endpoints() {
        builder = builder.endpoint(kind, url);
    }
    let config = WorkerConfig { workers: 2, poll_interval: poll, lease: Duration::from_secs(5), ..Default::default() };
    Workers::new(&builder.build().await.unwrap(), config)
}

async fn world() -> (tempfile::TempDir, Store, Keyring, Sandbox) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/synkro.db?mode=rwc", dir.path().display())).await.unwrap();
    store.migrate().await.unwrap();
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    (dir, store, Keyring::generate(), sandbox)
}

fn day(sandbox: &Sandbox, tenant: synkro::ids::TenantId) -> ReportRequest {
    let c = sandbox.config();
    ReportRequest { trigger: TriggerType::System, ..ReportRequest::manual(tenant) }
        .window(c.window_start, c.window_end())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_node_runs_the_job_and_progress_reaches_this_one() {
    let Some(redis) = redis_url("another_node_runs_the_job_and_progress_reaches_this_one", 7) else { return };
    let (_dir, store, keyring, sandbox) = world().await;
    let setup = TenantSetup { mode: ReportMode::CrmOnly, ..TenantSetup::full("acme") };
    let tenant = sandbox.provision_tenant(&store, &keyring, &setup).await.unwrap();
    // The API node runs no workers; the worker node polls once an hour, so only a wake-up from
    // the API node can start the job before the hang guard below gives up.
    let api = engine(&store, &keyring, &sandbox, &redis, "api", Duration::from_secs(3600)).await;
    let worker = engine(&store, &keyring, &sandbox, &redis, "worker", Duration::from_secs(3600)).await;
    worker.start().await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut updates = api.service().subscribe();
    let job = api.service().enqueue_report(day(&sandbox, tenant.id)).await.unwrap();
    let mut seen_steps = Vec::new();
    let finished = tokio::time::timeout(Duration::from_secs(300), async {
        loop {
            let update = updates.recv().await.unwrap();
            if update.job_id != job.id {
                continue;
            }
            assert_eq!(update.origin, "worker", "the update came from the other node");
            seen_steps.extend(update.step.clone());
            if update.status.is_finished() {
                return update;
            }
        }
    })
    .await
    .expect("woken through Redis, the worker node ran the job and its progress reached the API node");
    assert_eq!(finished.status, JobStatus::Success);
    assert!(seen_steps.iter().any(|s| s == "sync_sources") && seen_steps.iter().any(|s| s == "done"), "{seen_steps:?}");
    worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushing_redis_mid_run_loses_and_duplicates_nothing() {
    let Some(redis) = redis_url("flushing_redis_mid_run_loses_and_duplicates_nothing", 8) else { return };
    let (_dir, store, keyring, sandbox) = world().await;
    let mut tenants = Vec::new();
    for slug in ["t-one", "t-two", "t-three"] {
        let setup = TenantSetup { slug: slug.into(), mode: ReportMode::CrmOnly, ..TenantSetup::full(slug) };
        tenants.push(sandbox.provision_tenant(&store, &keyring, &setup).await.unwrap());
    }
    let node = engine(&store, &keyring, &sandbox, &redis, "node", Duration::from_millis(500)).await;
    node.start().await;
    let mut jobs = Vec::new();
    for t in &tenants {
        jobs.push(node.service().enqueue_report(day(&sandbox, t.id)).await.unwrap());
    }
    // Flush while the first jobs are running.
    loop {
        if store.get_job(jobs[0].id).await.unwrap().progress >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("FLUSHDB").query_async(&mut conn).await.unwrap();

    for job in &jobs {
        let done = tokio::time::timeout(Duration::from_secs(60), node.service().wait(job.id)).await.unwrap().unwrap();
        assert_eq!(done.status, JobStatus::Success, "{:?}", done.error);
        assert!(store.report_for_job(job.id).await.unwrap().is_some());
    }
    for t in &tenants {
        let reports = store.list_reports(t.id, &synkro::PageRequest::first(10).unwrap()).await.unwrap();
        assert_eq!(reports.items.len(), 1, "one report per tenant, none lost, none doubled");
    }
    node.shutdown().await;
}

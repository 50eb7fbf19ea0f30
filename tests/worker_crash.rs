//! A worker process killed with SIGKILL in the middle of a report: the job is claimed again
//! after its lease runs out and completes exactly once elsewhere — one report, one delivery.

#![allow(clippy::unwrap_used)]

use std::{collections::HashMap, process::Stdio, time::Duration};

use synkro::{
    Keyring, Store,
    domain::{JobStatus, ReportMode, ReportStatus, TriggerType},
    pipeline::{ReportRequest, Service, WorkerConfig, Workers},
};
use synkro_sandbox::{Sandbox, SandboxConfig, TenantSetup};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_job_completes_exactly_once_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/synkro.db?mode=rwc", dir.path().display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let keyring = Keyring::generate();
    // Slow answers keep the job in its sync step long enough to kill the worker there.
    let sandbox =
        Sandbox::start(SandboxConfig { deals: 60, latency: Duration::from_millis(150), ..Default::default() }).await;
    let setup = TenantSetup { mode: ReportMode::CrmChats, supabase: false, ..TenantSetup::full("acme") };
    let tenant = sandbox.provision_tenant(&store, &keyring, &setup).await.unwrap();
    let endpoints: HashMap<_, _> = sandbox.endpoints().into_iter().collect();

    let mut builder =
        Service::builder(store.clone(), synkro::connector::Registry::from_linked().unwrap(), keyring.clone())
            .outbound(synkro::connector::OutboundPolicy::loopback());
    for (kind, url) in &endpoints {
        builder = builder.endpoint(kind, url.clone());
    }
    let service = builder.build().await.unwrap();
    let survivor = Workers::new(&service, WorkerConfig { lease: Duration::from_secs(2), ..Default::default() });
    let c = sandbox.config();
    let request = ReportRequest { trigger: TriggerType::System, ..ReportRequest::manual(tenant.id) };
    let job = service.enqueue_report(request.window(c.window_start, c.window_end())).await.unwrap();

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_synkro"))
        .args(["worker", "--workers", "1", "--lease-seconds", "2", "--no-scheduler"])
        .env_clear()
        .env("SYNKRO_DATABASE_URL", &url)
        .env("SYNKRO_DATA_DIR", dir.path())
        .env("SYNKRO_SECRET_KEYS", keyring.primary_key().expose())
        .env("SYNKRO_CONNECTOR_ENDPOINTS", serde_json::to_string(&endpoints).unwrap())
        .env("SYNKRO_OUTBOUND_ALLOW", "127.0.0.1")
        .env("SYNKRO_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();

    // Wait until the child is inside the job, then kill it without warning.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let current = store.get_job(job.id).await.unwrap();
        if current.status == JobStatus::Running && current.progress >= 5 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the child never started the job: {current:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed_at = store.get_job(job.id).await.unwrap();
    assert_eq!((killed_at.status, killed_at.attempt), (JobStatus::Running, 1), "the job was mid-run");

    // This process takes over once the dead worker's lease has run out.
    let finished = loop {
        if let Some(j) = survivor.run_next("survivor").await.unwrap()
            && j.id == job.id
            && j.status.is_finished()
        {
            break j;
        }
        assert!(std::time::Instant::now() < deadline, "the job was never taken over");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(finished.status, JobStatus::Success, "{:?}", finished.error);
    assert_eq!(finished.attempt, 2, "claimed again after the lease ran out");
    let reports = store.list_reports(tenant.id, &synkro::PageRequest::first(10).unwrap()).await.unwrap();
    assert_eq!(reports.items.len(), 1, "exactly one report");
    assert_eq!(reports.items[0].status, ReportStatus::Sent);
    let sent = sandbox.telegram_sent();
    let headers = sent.iter().filter(|m| m.text.contains(&tenant.name)).count();
    assert_eq!(headers, 1, "delivered exactly once");
}

//! Log lines written while a job runs name the job and its tenant, down to a connector's
//! failed request. A test binary of its own: tracing caches which log calls are enabled, so
//! tests running beside it without a subscriber would hide its lines.

#![allow(clippy::unwrap_used)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use synkro::{
    Keyring,
    connector::{HttpSettings, OutboundPolicy, Registry},
    domain::{ReportMode, TriggerType},
    pipeline::{ReportRequest, Service, WorkerConfig, Workers},
};
use synkro_sandbox::{Fault, Sandbox, SandboxConfig, Service as Fake, TenantSetup};

/// Collects everything the tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// One thread: the subscriber below is this thread's, and the job runs on it.
#[tokio::test(flavor = "current_thread")]
async fn a_connectors_failed_request_names_the_job_and_the_tenant() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let test = synkro::testing::sqlite().await;
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let keyring = Keyring::generate();
    let setup = TenantSetup { mode: ReportMode::CrmOnly, ..TenantSetup::full("acme") };
    let tenant = sandbox.provision_tenant(&test.store, &keyring, &setup).await.unwrap();
    let mut builder = Service::builder(test.store.clone(), Registry::from_linked().unwrap(), keyring)
        .outbound(OutboundPolicy::loopback())
        .http(HttpSettings { backoff_base: Duration::from_millis(10), max_attempts: 2, ..Default::default() });
    for (kind, url) in sandbox.endpoints() {
        builder = builder.endpoint(kind, url);
    }
    let service = builder.build().await.unwrap();
    let workers = Workers::new(&service, WorkerConfig { workers: 1, ..Default::default() });
    sandbox.inject(Fake::Amocrm, "/api/v4/leads", Fault::Status(500), 1000);
    let c = sandbox.config();
    let request = ReportRequest { trigger: TriggerType::System, ..ReportRequest::manual(tenant.id) };
    let job = service.enqueue_report(request.window(c.window_start, c.window_end())).await.unwrap();
    workers.run_next("w").await.unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let failed: Vec<&str> = logs.lines().filter(|l| l.contains("request failed")).collect();
    assert!(!failed.is_empty(), "the amoCRM failure is logged: {logs}");
    for line in failed {
        assert!(line.contains(&format!("job={}", job.id)), "{line}");
        assert!(line.contains(&format!("tenant={}", tenant.id)), "{line}");
    }
    test.finish().await;
}

//! Synkro as a library, without the HTTP server: open a store, build the service from the store
//! and the connector registry, start workers, enqueue a report, follow its progress and wait for it — here
//! against the sandbox of fake services, so it runs anywhere.
//!
//! `cargo run --example embed`

#![allow(clippy::print_stdout)]

use synkro::{
    Keyring, Store,
    pipeline::{ReportRequest, Service, WorkerConfig, Workers},
};
use synkro_sandbox::{Sandbox, SandboxConfig, TenantSetup};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A store (any SQLite or PostgreSQL URL) and a keyring for the integrations' secrets.
    let dir = tempfile::tempdir()?;
    let store = Store::connect(&format!("sqlite://{}/synkro.db?mode=rwc", dir.path().display())).await?;
    store.migrate().await?;
    let keyring = Keyring::generate();

    // Fake amoCRM, Radist, Supabase, AI and Telegram, and a tenant wired to them.
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let tenant = sandbox.provision_tenant(&store, &keyring, &TenantSetup::full("acme")).await?;

    // The service: no global state; everything it uses is passed in.
    // The sandbox listens on loopback, which outbound requests reach only when allowed.
    let mut builder = Service::builder(store.clone(), synkro::connector::Registry::from_linked()?, keyring)
        .outbound(synkro::connector::OutboundPolicy::loopback());
    for (kind, url) in sandbox.endpoints() {
        builder = builder.endpoint(kind, url);
    }
    let service = builder.build().await?;
    // Workers run the jobs, here in this process.
    let workers = Workers::new(&service, WorkerConfig::default());
    workers.start().await;

    let mut updates = service.subscribe();
    let window = (sandbox.config().window_start, sandbox.config().window_end());
    let request = ReportRequest { trigger: synkro::domain::TriggerType::System, ..ReportRequest::manual(tenant.id) }
        .window(window.0, window.1);
    let job = service.enqueue_report(request).await?;
    println!("job {} enqueued for {}", job.id, tenant.name);

    let printer = tokio::spawn(async move {
        while let Ok(update) = updates.recv().await {
            if let Some(event) = update.event {
                println!("{:>3}%  {:<13} {}", update.progress, event.step.unwrap_or_default(), event.message);
            }
            if update.status.is_finished() {
                break;
            }
        }
    });
    let done = service.wait(job.id).await?;
    let _ = printer.await;
    println!("job finished: {}", done.status);
    if let Some(report) = store.report_for_job(done.id).await? {
        println!("\n{}\n", report.summary_text);
        println!(
            "report {} is {}; {} message(s) reached Telegram",
            report.id,
            report.status,
            sandbox.telegram_sent().len()
        );
    }
    workers.shutdown().await;
    Ok(())
}

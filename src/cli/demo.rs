//! `synkro demo`: the whole product against the built-in fake services. Starts the sandbox,
//! creates a demo tenant wired to it, an admin and a client login, runs the tenant's daily
//! report for its last closed business day with its progress on the terminal, then keeps
//! serving the dashboard and the API (unless `--no-serve`), printing the dashboard's URL and the
//! demo logins.
//!
//! The demo never takes over an installation: by default it has its own data directory
//! ([`DEMO_DATA_DIR`](crate::config::DEMO_DATA_DIR)); it refuses a database that holds tenants
//! it did not create (its workers and scheduler would run their reports against the fake
//! services); it never changes an existing account; and it replaces only the tenant and logins
//! of its own earlier runs.

mod own;

use std::{path::Path, time::Duration};

use crate::{
    Config,
    bootstrap::Opened,
    config::DEMO_DATA_DIR,
    domain::{NewUserRole, Role, TenantRuntimeConfig, TriggerType},
    ids::TenantId,
    pipeline::{ReportRequest, Service, WorkerConfig, Workers, window::latest_due},
    time::{TimeZoneName, Timestamp},
};
use anyhow::Context;
use synkro_sandbox::{Sandbox, SandboxConfig, TenantSetup};

const TENANT: &str = "demo";

/// The log filter unless `SYNKRO_LOG` is set: the fake services speak up only when something
/// is wrong.
pub(crate) const LOG_FILTER: &str = "info,synkro_sandbox=warn,poem::server=warn";

/// Where the demo's data lives, and whose choice that was.
fn describe_data(config: &Config) -> String {
    let own = config.data_dir == Path::new(DEMO_DATA_DIR)
        && config.database_url.sqlite_path() == Some(config.data_dir.join("synkro.db"));
    let whose = if own {
        "the demo's own; `synkro serve` keeps its data in ./data".to_owned()
    } else {
        "as configured (SYNKRO_DATA_DIR / SYNKRO_DATABASE_URL): the demo adds its own tenant and logins there \
         and changes nothing else"
            .to_owned()
    };
    format!("Data:    {}, keys in {} ({whose})", config.database_url, config.data_dir.display())
}

/// Runs the demo.
pub async fn run(config: &Config, opened: &Opened, serve: bool) -> anyhow::Result<()> {
    let store = &opened.store;
    let record_path = own::Record::path(&config.data_dir);
    let earlier = own::Record::read(&record_path)?;
    let foreign = earlier.foreign_tenants(store).await?;
    if !foreign.is_empty() {
        anyhow::bail!(
            "the database {} holds tenants the demo did not create ({}); the demo's workers and scheduler \
             would run their reports against fake services, so it does not start here. Unset SYNKRO_DATA_DIR \
             and SYNKRO_DATABASE_URL (the demo then uses {DEMO_DATA_DIR}), or point SYNKRO_DATA_DIR at an empty \
             directory",
            config.database_url,
            foreign.join(", ")
        );
    }
    // Each run's sandbox issues new credentials: the demo's earlier tenant and logins go.
    earlier.remove(store).await?;

    // The report is the tenant's scheduled run for the window the scheduler considers due now
    // (the last closed business day), with the scheduler's idempotency key: the scheduler finds
    // that window done and does not post its report a second time.
    let tz = TimeZoneName::new("Europe/Berlin")?;
    let schedule = TenantRuntimeConfig::defaults(TenantId::new(), tz.clone());
    let (_, day) = latest_due(Timestamp::now(), &tz, schedule.scheduled_run_time, schedule.business_day_start);
    // The sandbox's data is that day's, so the report reads like a real one.
    let sandbox = Sandbox::start(SandboxConfig { window_start: day.start(), ..Default::default() }).await;
    let setup = TenantSetup { name: "Demo Furniture".into(), timezone: tz.to_string(), ..TenantSetup::full(TENANT) };
    let tenant = sandbox.provision_tenant(store, &opened.keyring, &setup).await?;
    let mut record = own::Record { tenant: Some(tenant.id), users: Vec::new() };
    record.write(&record_path)?;
    let admin = own::create_login(store, "admin", true).await?;
    record.users.push(admin.user.id);
    record.write(&record_path)?;
    let client = own::create_login(store, "client", false).await?;
    record.users.push(client.user.id);
    record.write(&record_path)?;
    store.grant_role(&NewUserRole { user_id: client.user.id, tenant_id: Some(tenant.id), role: Role::User }).await?;

    let mut builder =
        Service::builder(store.clone(), crate::connector::Registry::from_linked()?, opened.keyring.clone())
            // The fake services listen on loopback, which only the operator's allowance reaches.
            .outbound(crate::connector::OutboundPolicy::loopback());
    for (kind, url) in sandbox.endpoints() {
        builder = builder.endpoint(kind, url);
    }
    let service = builder.build().await?;
    let workers = Workers::new(&service, WorkerConfig { workers: 4, ..Default::default() });
    workers.start().await;

    println!("Synkro demo: tenant {:?} with fake amoCRM, Radist, Supabase, AI and Telegram", tenant.name);
    println!("{}\n", describe_data(config));
    let mut updates = service.subscribe();
    let request = ReportRequest { trigger: TriggerType::Scheduled, ..ReportRequest::manual(tenant.id) };
    let job = match service.enqueue_report(request.window(day.start(), day.end())).await {
        Ok(job) => job,
        Err(crate::pipeline::EngineError::ActiveJob(id)) => store.get_job(id).await?,
        Err(e) => return Err(e.into()),
    };
    let printer = tokio::spawn(async move {
        while let Ok(update) = updates.recv().await {
            if update.job_id != job.id {
                continue;
            }
            if let Some(event) = update.event {
                println!("{:>4}%  {:<13} {}", update.progress, event.step.unwrap_or_default(), event.message);
            }
            if update.status.is_finished() {
                break;
            }
        }
    });
    let done = tokio::time::timeout(Duration::from_secs(300), service.wait(job.id))
        .await
        .context("the report took too long")??;
    let _ = tokio::time::timeout(Duration::from_secs(1), printer).await;
    println!("\njob {}: {}", done.id, done.status);
    if let Some(report) = store.report_for_job(done.id).await? {
        println!(
            "report {} ({}), {} message(s) delivered to the fake Telegram\n",
            report.id,
            report.status,
            sandbox.telegram_sent().len()
        );
        println!("{}\n", report.summary_text);
    }

    if !serve {
        print_logins(store, tenant.id, &[admin, client]).await?;
        workers.shutdown().await;
        return Ok(());
    }
    workers.start_scheduler().await;
    let http = crate::http::HttpConfig::from_config(config).context("HTTP settings")?;
    let state = crate::http::AppState::new(service.clone(), http);
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {} (set SYNKRO_BIND to a free address)", config.bind))?;
    let address = listener.local_addr()?;
    println!("\nDashboard: http://{address}/   (API: http://{address}/api/v1, docs: http://{address}/api/docs)");
    print_logins(store, tenant.id, &[admin, client]).await?;
    println!("Stop with Ctrl-C.");
    crate::http::serve(listener, state, super::shutdown_signal()).await.context("http server")?;
    workers.shutdown().await;
    Ok(())
}

/// The demo's logins with what each may do (from the stored account), and the existing
/// accounts that kept a name the demo wanted.
async fn print_logins(store: &crate::Store, tenant: TenantId, logins: &[own::Login]) -> anyhow::Result<()> {
    for (n, login) in logins.iter().enumerate() {
        let user = store.get_user(login.user.id).await?;
        let on_tenant = store.list_user_roles(user.id).await?.into_iter().find(|r| r.tenant_id == Some(tenant));
        let rights = match (user.is_superuser, on_tenant) {
            (true, _) => "superuser".to_owned(),
            (false, Some(role)) => format!("role {} on tenant {TENANT}", role.role),
            (false, None) => "no access yet".to_owned(),
        };
        let lead = if n == 0 { "Logins:" } else { "" };
        println!("{lead:<8} {} / {}   ({rights})", user.username, login.password);
    }
    for login in logins {
        if let Some(taken) = &login.taken {
            println!(
                "         (an account named {taken} already existed: left as it is, password unchanged; the demo's is {})",
                login.user.username
            );
        }
    }
    Ok(())
}

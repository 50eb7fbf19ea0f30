//! `synkro demo`: the whole product against the built-in fake services. Starts the sandbox,
//! creates a demo tenant wired to it, an admin and a client user, runs yesterday's report with
//! its progress on the terminal, then keeps serving the API (unless `--no-serve`), printing the
//! URL and the demo logins.

use std::time::Duration;

use anyhow::Context;
use synkro::{
    Config, StoreError,
    bootstrap::Opened,
    domain::{NewUser, NewUserRole, Role, Slug, TriggerType, UserUpdate},
    pipeline::{Engine, EngineConfig, ReportRequest, window::last_closed_business_day},
    time::{TimeZoneName, Timestamp},
};
use synkro_sandbox::{Sandbox, SandboxConfig, TenantSetup};

const TENANT: &str = "demo";

/// A fresh random password: 16 letters and digits.
fn password() -> String {
    let alphabet: Vec<char> = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789".chars().collect();
    (0..16).map(|_| alphabet[fastrand::usize(..alphabet.len())]).collect()
}

/// Creates `username` (or resets its password) and returns the new password.
async fn demo_user(opened: &Opened, username: &str, superuser: bool) -> anyhow::Result<String> {
    let store = &opened.store;
    let secret = password();
    let hash = synkro::http::auth::password::hash(&secret)?;
    match store.get_user_by_username(username).await {
        Ok(user) => {
            store.update_user(user.id, &UserUpdate { password_hash: Some(hash), ..Default::default() }).await?;
        }
        Err(StoreError::NotFound { .. }) => {
            let mut new = NewUser::new(username)?;
            new.password_hash = Some(hash);
            new.is_superuser = superuser;
            store.create_user(&new).await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(secret)
}

/// Runs the demo.
pub async fn run(config: &Config, opened: &Opened, serve: bool) -> anyhow::Result<()> {
    let store = &opened.store;
    // The sandbox's data is yesterday's business day, so the report reads like a real one.
    let tz = TimeZoneName::new("Europe/Berlin")?;
    let day = last_closed_business_day(Timestamp::now(), &tz, time::macros::time!(22:01));
    let sandbox = Sandbox::start(SandboxConfig { window_start: day.start(), ..Default::default() }).await;
    // Each run's sandbox issues new credentials: an earlier run's demo tenant is replaced.
    match store.get_tenant_by_slug(&Slug::new(TENANT)?).await {
        Ok(old) => store.delete_tenant(old.id).await?,
        Err(StoreError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let setup = TenantSetup { name: "Demo Furniture".into(), ..TenantSetup::full(TENANT) };
    let tenant = sandbox.provision_tenant(store, &opened.keyring, &setup).await?;
    let admin = demo_user(opened, "admin", true).await?;
    let client = demo_user(opened, "client", false).await?;
    if let Ok(user) = store.get_user_by_username("client").await
        && store.list_user_roles(user.id).await?.is_empty()
    {
        store.grant_role(&NewUserRole { user_id: user.id, tenant_id: Some(tenant.id), role: Role::User }).await?;
    }

    let mut builder = Engine::builder(store.clone(), synkro::pipeline::connectors::registry()?, opened.keyring.clone())
        .config(EngineConfig { workers: 4, ..Default::default() });
    for (kind, url) in sandbox.endpoints() {
        builder = builder.endpoint(kind, url);
    }
    let engine = builder.build().await?;
    engine.start_workers().await;

    println!("Synkro demo: tenant {:?} with fake amoCRM, Radist, Supabase, AI and Telegram\n", tenant.name);
    let mut updates = engine.subscribe();
    let request = ReportRequest { trigger: TriggerType::Manual, ..ReportRequest::manual(tenant.id) };
    let job = match engine.enqueue_report(request.window(day.start(), day.end())).await {
        Ok(job) => job,
        Err(synkro::pipeline::EngineError::ActiveJob(id)) => store.get_job(id).await?,
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
    let done = tokio::time::timeout(Duration::from_secs(300), engine.wait(job.id))
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

    println!("Logins:  admin / {admin}   (superuser)");
    println!("         client / {client}   (client of tenant {TENANT})");
    if !serve {
        engine.shutdown().await;
        return Ok(());
    }
    engine.start_scheduler().await;
    let http = synkro::http::HttpConfig::from_config(config).context("HTTP settings")?;
    let state = synkro::http::AppState::new(store.clone(), engine.clone(), opened.keyring.clone(), http);
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {} (set SYNKRO_BIND to a free address)", config.bind))?;
    let address = listener.local_addr()?;
    println!("\nServing http://{address}/api/docs (API: http://{address}/api/v1) — stop with Ctrl-C");
    synkro::http::serve(listener, state, crate::shutdown_signal()).await.context("http server")?;
    engine.shutdown().await;
    Ok(())
}

//! The `synkro` command line as a library (feature `cli`): serves the API (with workers), runs
//! report workers and single reports, migrates, manages secret keys, tenants, users and roles,
//! and runs the demo. The `synkro` binary is `synkro::cli::main()`; a team's own binary is the
//! same call with its connector crates linked:
//!
//! ```no_run
//! // use my_connector as _; // each linked connector registers itself
//! fn main() -> std::process::ExitCode {
//!     synkro::cli::main()
//! }
//! ```
#![allow(clippy::print_stdout)]

mod admin;
mod demo;
mod keys;
mod probe;
mod report;

use std::{io::IsTerminal, process::ExitCode};

use crate::{Config, bootstrap, config::LogFormat, secrets::KeySource};
use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "synkro", version, about = "Daily AI management reports from sales conversations")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the linked connectors and their settings.
    #[command(subcommand)]
    Connectors(ConnectorsCommand),
    /// Ask the server on SYNKRO_BIND whether it is ready (exit code 0 if so), for containers and
    /// systemd.
    Healthcheck,
    /// Run the whole product against built-in fake services, on its own data (./demo-data unless
    /// SYNKRO_DATA_DIR is set): a demo tenant, new admin and client logins, the last business
    /// day's report with its progress, then the API (until Ctrl-C). Never changes existing
    /// accounts; refuses a database that holds tenants it did not create.
    Demo {
        /// Exit after the report instead of serving the API.
        #[arg(long)]
        no_serve: bool,
    },
    /// Serve the JSON API on SYNKRO_BIND, with report workers, the scheduler and follow-ups
    /// unless --no-workers. Stops gracefully on Ctrl-C or SIGTERM.
    Serve {
        /// Serve the API only (for API nodes when separate `synkro worker` processes run jobs).
        #[arg(long)]
        no_workers: bool,
        /// Jobs run at once by this process.
        #[arg(long, default_value_t = 8)]
        workers: usize,
        /// Seconds a claimed job stays claimed without a heartbeat.
        #[arg(long, default_value_t = 30)]
        lease_seconds: u64,
    },
    /// Print the OpenAPI document of the JSON API.
    Openapi,
    /// Manage tenants, users and roles.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Apply pending database migrations (also done at every start).
    Migrate,
    /// Open the database, load the keys and run the start-up self-test.
    Check,
    /// Manage the Fernet keys that encrypt integration secrets.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Run reports from the terminal.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Run report workers (and, unless --no-scheduler, the scheduler) until interrupted. With
    /// SYNKRO_REDIS_URL, any number of workers on any machines share the work.
    Worker {
        /// Jobs run at once by this process.
        #[arg(long, default_value_t = 8)]
        workers: usize,
        /// Seconds a claimed job stays claimed without a heartbeat (a crashed worker's job is
        /// picked up again after this long).
        #[arg(long, default_value_t = 30)]
        lease_seconds: u64,
        /// Do not run the scheduler in this process.
        #[arg(long)]
        no_scheduler: bool,
    },
}

#[derive(Subcommand)]
enum ConnectorsCommand {
    /// Every connector: kind, name, capabilities, public and secret fields.
    List,
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Run a manual report for a tenant now (on workers in this process), wait for it and say
    /// how it ended; --follow shows a progress bar and the step log.
    Run(report::RunArgs),
    /// Send a report to the tenant's messenger again: the only way a delivery that is unknown
    /// (a worker stopped mid-send) or failed for good is sent again.
    Resend(report::ResendArgs),
}

/// Logs to stderr, filtered by `SYNKRO_LOG` (else `default_filter`); colours only when stderr
/// is a terminal and `NO_COLOR` is unset, never in JSON.
fn init_logging(format: LogFormat, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SYNKRO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().with_ansi(false).init(),
        LogFormat::Text => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            builder.with_ansi(std::io::stderr().is_terminal() && !no_color).init();
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Keys(keys::KeysCommand::Generate) = cli.command {
        keys::generate();
        return Ok(());
    }
    if let Command::Openapi = cli.command {
        println!("{}", crate::http::openapi_json());
        return Ok(());
    }
    if let Command::Connectors(ConnectorsCommand::List) = cli.command {
        return probe::list_connectors();
    }
    if let Command::Healthcheck = cli.command {
        let config = Config::from_env().context("configuration")?;
        return probe::healthcheck(config.bind).await;
    }
    let demo = matches!(cli.command, Command::Demo { .. });
    let config = if demo {
        // The demo keeps its own database and keys, never `serve`'s.
        Config::from_env_with_data_dir(std::path::Path::new(crate::config::DEMO_DATA_DIR))
    } else {
        Config::from_env()
    }
    .context("configuration")?;
    // The demo's fake services only speak up when something is wrong.
    init_logging(config.log_format, if demo { demo::LOG_FILTER } else { "info" });
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    if let Command::Keys(keys::KeysCommand::Rotate) = cli.command {
        return keys::rotate(&config);
    }
    let opened = bootstrap::open(&config).await?;
    match cli.command {
        Command::Migrate => println!("migrations applied to {}", config.database_url),
        Command::Check => {
            let keys = match &opened.key_source {
                KeySource::Environment => "SYNKRO_SECRET_KEYS".to_owned(),
                KeySource::File(path) | KeySource::Generated(path) => path.display().to_string(),
            };
            println!(
                "ok: database {} is current; {} key(s) from {keys}; {} of {} stored secrets under the primary key",
                config.database_url,
                opened.keyring.len(),
                opened.secrets.current,
                opened.secrets.total
            );
        }
        Command::Keys(keys::KeysCommand::Reencrypt { drop_old }) => keys::reencrypt(&config, &opened, drop_old).await?,
        Command::Report(ReportCommand::Run(args)) => {
            let workers = worker_pool(&config, &opened, 2, 30).await?;
            let result = report::run(&opened, &workers, args).await;
            workers.shutdown().await;
            result?;
        }
        Command::Report(ReportCommand::Resend(args)) => {
            let workers = worker_pool(&config, &opened, 1, 30).await?;
            let result = report::resend(&opened, &workers, args).await;
            workers.shutdown().await;
            result?;
        }
        Command::Keys(keys::KeysCommand::Generate | keys::KeysCommand::Rotate)
        | Command::Openapi
        | Command::Connectors(ConnectorsCommand::List)
        | Command::Healthcheck => {}
        Command::Demo { no_serve } => demo::run(&config, &opened, !no_serve).await?,
        Command::Admin(command) => admin::run(&opened.store, command).await?,
        Command::Serve { no_workers, workers, lease_seconds } => {
            let pool = worker_pool(&config, &opened, workers, lease_seconds).await?;
            if !no_workers {
                pool.start().await;
                pool.start_scheduler().await;
                pool.start_followups(followups(&config)).await;
            }
            crate::http::auth::settle_temp_login(&opened.store, config.temp_login.as_ref())
                .await
                .map_err(anyhow::Error::msg)?;
            let http = crate::http::HttpConfig::from_config(&config).context("HTTP settings")?;
            let state = crate::http::AppState::new(pool.service().clone(), http);
            let listener = tokio::net::TcpListener::bind(config.bind)
                .await
                .with_context(|| format!("cannot listen on {} (SYNKRO_BIND)", config.bind))?;
            let address = listener.local_addr().context("listener address")?;
            tracing::info!(%address, workers = if no_workers { 0 } else { workers }, "serving http://{address}/api/v1");
            // On Ctrl-C / SIGTERM the workers hand their jobs back at once, while the server lets
            // running requests finish (at most 30 s).
            let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
            let stopper = tokio::spawn({
                let pool = pool.clone();
                async move {
                    shutdown_signal().await;
                    let _ = stop_http.send(());
                    tracing::info!("shutting down: running jobs are handed back");
                    pool.shutdown().await;
                }
            });
            let served = crate::http::serve(listener, state, async {
                let _ = http_stopped.await;
            })
            .await;
            if served.is_err() {
                stopper.abort();
                pool.shutdown().await;
            }
            let _ = stopper.await;
            served.context("http server")?;
        }
        Command::Worker { workers, lease_seconds, no_scheduler } => {
            let pool = worker_pool(&config, &opened, workers, lease_seconds).await?;
            pool.start().await;
            if !no_scheduler {
                pool.start_scheduler().await;
                pool.start_followups(followups(&config)).await;
            }
            tracing::info!(workers, "workers running; stop with Ctrl-C or SIGTERM");
            shutdown_signal().await;
            tracing::info!("shutting down: running jobs are handed back");
            pool.shutdown().await;
        }
    }
    opened.store.close().await;
    Ok(())
}

/// The service and a worker pool over it (not started): Redis when configured, connector
/// endpoints overridden by SYNKRO_CONNECTOR_ENDPOINTS (a JSON object of kind → base URL, for the
/// sandbox and tests).
async fn worker_pool(
    config: &Config,
    opened: &bootstrap::Opened,
    workers: usize,
    lease_seconds: u64,
) -> anyhow::Result<crate::pipeline::Workers> {
    let registry = crate::connector::Registry::from_linked()?;
    let defaults = crate::pipeline::WorkerConfig::default();
    let delivery_retry_for = match std::env::var("SYNKRO_DELIVERY_RETRY_MINUTES") {
        Ok(text) => {
            let minutes = text.trim().parse::<u64>().ok().filter(|m| (1..=7 * 24 * 60).contains(m));
            let minutes = minutes.with_context(|| {
                format!("SYNKRO_DELIVERY_RETRY_MINUTES must be a whole number of minutes from 1 to 10080, got {text:?}")
            })?;
            std::time::Duration::from_secs(minutes * 60)
        }
        Err(_) => defaults.delivery_retry_for,
    };
    let worker_config = crate::pipeline::WorkerConfig {
        workers: workers.max(1),
        lease: std::time::Duration::from_secs(lease_seconds.max(1)),
        delivery_retry_for,
        ..defaults
    };
    let mut builder = crate::pipeline::Service::builder(opened.store.clone(), registry, opened.keyring.clone())
        .outbound(config.outbound_allow.clone())
        .public_url(config.public_url.clone());
    if let Some(redis) = &config.redis_url {
        builder = builder.redis(redis.expose());
    }
    if let Ok(endpoints) = std::env::var("SYNKRO_CONNECTOR_ENDPOINTS") {
        let map: std::collections::HashMap<String, String> = serde_json::from_str(&endpoints)
            .context("SYNKRO_CONNECTOR_ENDPOINTS must be a JSON object of connector kind to base URL")?;
        for (kind, url) in map {
            builder = builder.endpoint(&kind, url);
        }
    }
    Ok(crate::pipeline::Workers::new(&builder.build().await?, worker_config))
}

/// Telegram follow-ups: every 5 s, with replies linking to the dashboard at SYNKRO_PUBLIC_URL.
fn followups(config: &Config) -> crate::pipeline::followup::TelegramFollowups {
    crate::pipeline::followup::TelegramFollowups::new(std::time::Duration::from_secs(5))
        .with_public_url(config.public_url.clone())
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutdown requested");
}

/// Runs the command line given to this process: parses the arguments, runs the command on a
/// multi-threaded runtime and says how it ended (an error is printed with its causes).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

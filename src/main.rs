//! The `synkro` command: runs migrations, manages secret keys and checks the configuration.
//! (`serve`, `worker`, `report` and `demo` arrive with the pipeline and HTTP issues.)

#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use synkro::{Config, Keyring, bootstrap, config::LogFormat, secrets::KeySource};

#[derive(Parser)]
#[command(name = "synkro", version, about = "Daily AI management reports from sales conversations")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending database migrations (also done at every start).
    Migrate,
    /// Open the database, load the keys and run the start-up self-test.
    Check,
    /// Manage the Fernet keys that encrypt integration secrets.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print a new key. Put it first in SYNKRO_SECRET_KEYS (comma-separated, old keys after it),
    /// then run `synkro keys reencrypt`.
    Generate,
    /// Re-encrypt every stored secret under the first key of SYNKRO_SECRET_KEYS, so older keys
    /// can be removed.
    Reencrypt,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SYNKRO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Keys(KeysCommand::Generate) = cli.command {
        println!("{}", Keyring::generate_key().expose());
        return Ok(());
    }
    let config = Config::from_env().context("configuration")?;
    init_logging(config.log_format);
    for warning in &config.warnings {
        tracing::warn!("{warning}");
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
        Command::Keys(KeysCommand::Reencrypt) => {
            let done = opened.store.reencrypt_secrets(&opened.keyring).await?;
            println!(
                "re-encrypted {} of {} stored secrets under the primary key; older keys may now be removed",
                done.reencrypted, done.total
            );
        }
        Command::Keys(KeysCommand::Generate) => {}
    }
    opened.store.close().await;
    Ok(())
}

fn main() -> ExitCode {
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

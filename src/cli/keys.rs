//! `synkro keys`: generate, rotate and re-encrypt the Fernet keys that protect integration
//! secrets, without downtime.

use crate::{
    Config, Keyring,
    bootstrap::Opened,
    secrets::{self, KeySource},
};
use anyhow::Context;
use clap::Subcommand;

/// Key tasks.
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Print a new key. Put it first in SYNKRO_SECRET_KEYS (comma-separated, old keys after it),
    /// then run `synkro keys reencrypt`.
    Generate,
    /// Add a new primary key in front of the current ones. With the key file in the data
    /// directory, the file is rewritten; with SYNKRO_SECRET_KEYS, the new list is printed to
    /// set on every node. Then restart every synkro process and run `synkro keys reencrypt`.
    Rotate,
    /// Re-encrypt every stored secret under the primary key, so older keys can be removed.
    Reencrypt {
        /// Afterwards, remove the older keys from the key file (key file only; with
        /// SYNKRO_SECRET_KEYS, drop them from the variable yourself).
        #[arg(long)]
        drop_old: bool,
    },
}

/// `synkro keys generate` (needs no database).
#[allow(clippy::print_stdout)]
pub fn generate() {
    println!("{}", Keyring::generate_key().expose());
}

/// `synkro keys rotate` (needs no database: it changes only the key list).
#[allow(clippy::print_stdout)]
pub fn rotate(config: &Config) -> anyhow::Result<()> {
    let env = config.secret_keys.as_ref().map(|k| k.expose());
    let rotation = secrets::rotate_keys(env, &config.data_dir).context("rotating the keys")?;
    match rotation.source {
        KeySource::Environment => {
            println!("Set SYNKRO_SECRET_KEYS on every node to ({} keys, the new one first):\n", rotation.count);
            println!("{}\n", rotation.keys.expose());
            println!("then restart every synkro process and run `synkro keys reencrypt`;");
            println!("after that, remove the old key(s) from the list and restart again.");
        }
        KeySource::File(path) | KeySource::Generated(path) => {
            println!("new primary key written to {} ({} keys, the new one first)", path.display(), rotation.count);
            println!("next: restart every synkro process, then run `synkro keys reencrypt --drop-old`");
        }
    }
    Ok(())
}

/// `synkro keys reencrypt [--drop-old]`.
#[allow(clippy::print_stdout)]
pub async fn reencrypt(config: &Config, opened: &Opened, drop_old: bool) -> anyhow::Result<()> {
    let done = opened.store.reencrypt_secrets(&opened.keyring).await?;
    println!("re-encrypted {} of {} stored secrets under the primary key", done.reencrypted, done.total);
    if !drop_old {
        println!("older keys may now be removed");
        return Ok(());
    }
    match &opened.key_source {
        KeySource::Environment => {
            println!("keys come from SYNKRO_SECRET_KEYS: keep only its first key, then restart every synkro process")
        }
        KeySource::File(path) | KeySource::Generated(path) => {
            let before = opened.keyring.len();
            secrets::retire_old_keys(&opened.keyring, &config.data_dir).context("rewriting the key file")?;
            println!("removed {} older key(s) from {}", before - 1, path.display());
        }
    }
    Ok(())
}

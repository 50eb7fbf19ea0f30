//! Start-up: open the configured database, apply migrations, load the keyring and refuse to go
//! on when stored secrets cannot be decrypted.

use crate::{
    Config, Error, Keyring, Store,
    secrets::KeySource,
    store::{SecretsCheck, StoreOptions},
};

/// What [`open`] produced.
#[derive(Debug)]
pub struct Opened {
    /// The migrated store.
    pub store: Store,
    /// The keyring every secret read and write uses.
    pub keyring: Keyring,
    /// Where the keys came from.
    pub key_source: KeySource,
    /// The secrets self-test's findings.
    pub secrets: SecretsCheck,
}

/// Opens the database named by `config`, applies pending migrations, loads the keyring
/// (`SYNKRO_SECRET_KEYS`, else `secret.key` in the data directory, which the first start
/// creates: see [`Keyring::create_key_file`]) and
/// runs the secrets self-test.
///
/// Fails with [`SecretError::Undecryptable`](crate::secrets::SecretError::Undecryptable), whose
/// message names `SYNKRO_SECRET_KEYS`, when a stored secret does not decrypt: starting anyway
/// would show empty secrets that the next save would write back.
pub async fn open(config: &Config) -> Result<Opened, Error> {
    let store = Store::connect_with(&config.database_url, StoreOptions::default()).await?;
    store.migrate().await?;
    let env_keys = config.secret_keys.as_ref().map(|keys| keys.expose());
    let (keyring, key_source) = match Keyring::load(env_keys, &config.data_dir)? {
        Some(loaded) => loaded,
        None => Keyring::create_key_file(&config.data_dir)?,
    };
    let secrets = store.verify_secrets(&keyring).await?;
    if secrets.current < secrets.total {
        tracing::warn!(
            stale = secrets.total - secrets.current,
            "some secrets are encrypted under an older key; run `synkro keys reencrypt` before removing it"
        );
    }
    tracing::info!(database = %config.database_url, keys = keyring.len(), integrations_with_secrets = secrets.total, "store ready");
    Ok(Opened { store, keyring, key_source, secrets })
}

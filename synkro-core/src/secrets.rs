//! Secret values and their Fernet keyring: redacting types, encryption at rest and key rotation.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use fernet::{Fernet, MultiFernet};

/// Name of the key file created in the data directory when no keys are configured.
const KEY_FILE_NAME: &str = "secret.key";

/// A secret string: `Debug` and `Display` print `***` (never the value); the value only
/// comes out through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value as a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Every call site is a place where the secret leaves its wrapper.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The decrypted JSON object of one integration's secret fields.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretMap(BTreeMap<String, Secret>);

impl SecretMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The secret stored under `field`, if any.
    pub fn get(&self, field: &str) -> Option<&Secret> {
        self.0.get(field)
    }

    /// Sets `field` to `value`, replacing any previous value.
    pub fn insert(&mut self, field: impl Into<String>, value: Secret) {
        self.0.insert(field.into(), value);
    }

    /// Removes `field` and returns its value, if it was set.
    pub fn remove(&mut self, field: &str) -> Option<Secret> {
        self.0.remove(field)
    }

    /// Whether `field` is set.
    pub fn contains(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// The names of the fields that are set, in sorted order.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Field names and their secrets, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.0.iter().map(|(field, value)| (field.as_str(), value))
    }

    /// Number of fields that are set.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, Secret)> for SecretMap {
    fn from_iter<I: IntoIterator<Item = (String, Secret)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Debug for SecretMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values are `Secret`s, whose Debug prints `***`.
        f.debug_map().entries(self.0.iter()).finish()
    }
}

/// A Fernet token of a JSON object of secret fields, as stored in the database.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedSecrets(String);

impl EncryptedSecrets {
    /// Wraps a token read from storage.
    pub fn from_token(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token, for writing to storage.
    pub fn as_token(&self) -> &str {
        &self.0
    }

    /// The token, by value.
    pub fn into_token(self) -> String {
        self.0
    }
}

impl fmt::Debug for EncryptedSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptedSecrets(<{} bytes>)", self.0.len())
    }
}

/// Why secrets or keys could not be loaded, decrypted or stored. No variant carries a key
/// or a secret value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// A keyring entry is not a valid Fernet key.
    #[error(
        "secret key at position {index} (0-based, blank entries skipped) is not a valid fernet key: \
         it must be 32 url-safe base64-encoded bytes; generate one with `synkro keys generate`"
    )]
    InvalidKey {
        /// Position of the bad key among the non-blank entries, counting from 0.
        index: usize,
    },
    /// The key list is empty.
    #[error("no secret keys configured: set SYNKRO_SECRET_KEYS")]
    NoKeys,
    /// The token cannot be decrypted with any configured key.
    #[error(
        "stored secrets cannot be decrypted with any key in SYNKRO_SECRET_KEYS: add the key they \
         were written with (old keys may follow the primary, comma-separated)"
    )]
    Undecryptable,
    /// The token decrypted, but the plaintext is not a JSON object of strings. The detail
    /// names the problem and field names only, never values.
    #[error("decrypted secrets are not a json object of strings: {0}")]
    Malformed(String),
    /// Reading or writing the key file in the data directory failed.
    #[error("cannot access secret key file {}: {source}", .path.display())]
    KeyFile {
        /// The file (or directory) that could not be read, created or written.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
}

/// Where the keyring came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The `SYNKRO_SECRET_KEYS` environment variable.
    Environment,
    /// An existing key file.
    File(PathBuf),
    /// A key file generated just now, because no keys were configured.
    Generated(PathBuf),
}

/// Fernet keyring: the first key is the primary (used for all new writes); every key is
/// tried on read.
#[derive(Clone)]
pub struct Keyring {
    primary_key: Secret,
    primary: Fernet,
    all: MultiFernet,
    len: usize,
}

impl Keyring {
    /// Builds a keyring from keys in order, primary first. Each key is trimmed; an empty
    /// list is [`SecretError::NoKeys`].
    pub fn from_keys<S: AsRef<str>>(keys: &[S]) -> Result<Self, SecretError> {
        let mut fernets = Vec::with_capacity(keys.len());
        for (index, key) in keys.iter().enumerate() {
            let fernet = Fernet::new(key.as_ref().trim()).ok_or(SecretError::InvalidKey { index })?;
            fernets.push(fernet);
        }
        let (Some(first_key), Some(primary)) = (keys.first(), fernets.first().cloned()) else {
            return Err(SecretError::NoKeys);
        };
        Ok(Self {
            primary_key: Secret::new(first_key.as_ref().trim()),
            primary,
            len: fernets.len(),
            all: MultiFernet::new(fernets),
        })
    }

    /// Parses a comma-separated key list (as in `SYNKRO_SECRET_KEYS`): whitespace around
    /// each key is trimmed and blank entries are skipped.
    pub fn parse(list: &str) -> Result<Self, SecretError> {
        let keys: Vec<&str> = list.split(',').map(str::trim).filter(|key| !key.is_empty()).collect();
        Self::from_keys(&keys)
    }

    /// A keyring of one freshly generated key.
    pub fn generate() -> Self {
        let key = Self::generate_key();
        let primary = Fernet::new(key.expose()).expect("a generated fernet key is valid");
        Self { primary_key: key, all: MultiFernet::new(vec![primary.clone()]), primary, len: 1 }
    }

    /// A fresh random Fernet key.
    pub fn generate_key() -> Secret {
        Secret::new(Fernet::generate_key())
    }

    /// Number of keys, primary included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a keyring holds at least one key.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The primary key as a Secret (for writing to a key file or printing in
    /// `synkro keys generate`).
    pub fn primary_key(&self) -> Secret {
        self.primary_key.clone()
    }

    /// Loads the keyring, writing nothing: from `env_value` (the value of `SYNKRO_SECRET_KEYS`)
    /// when it is set and not blank, otherwise from `data_dir/secret.key` (keys one per line or
    /// comma-separated). `None` when neither holds keys: see [`Keyring::create_key_file`].
    pub fn load(env_value: Option<&str>, data_dir: &Path) -> Result<Option<(Self, KeySource)>, SecretError> {
        if let Some(list) = env_value.filter(|value| !value.trim().is_empty()) {
            return Ok(Some((Self::parse(list)?, KeySource::Environment)));
        }
        let path = data_dir.join(KEY_FILE_NAME);
        match read_key_file(&path) {
            Err(SecretError::KeyFile { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(None),
            result => result.map(|keyring| Some((keyring, KeySource::File(path)))),
        }
    }

    /// Generates a key and writes it to `data_dir/secret.key` (created with mode 0600): the keys
    /// of a first start. When another process created the file first, its keys are loaded.
    pub fn create_key_file(data_dir: &Path) -> Result<(Self, KeySource), SecretError> {
        let path = data_dir.join(KEY_FILE_NAME);
        fs::create_dir_all(data_dir).map_err(|source| SecretError::KeyFile { path: data_dir.to_path_buf(), source })?;
        let keyring = Self::generate();
        match write_new_key_file(&path, &keyring.primary_key) {
            Ok(()) => {}
            // Another process created it first: use theirs.
            Err(source) if source.kind() == io::ErrorKind::AlreadyExists => {
                return read_key_file(&path).map(|keyring| (keyring, KeySource::File(path)));
            }
            Err(source) => return Err(SecretError::KeyFile { path, source }),
        }
        tracing::warn!(
            path = %path.display(),
            "generated a new secret key; back it up, or set SYNKRO_SECRET_KEYS"
        );
        Ok((keyring, KeySource::Generated(path)))
    }

    /// Encrypts the map as a JSON object of strings under the primary key.
    pub fn encrypt(&self, secrets: &SecretMap) -> EncryptedSecrets {
        let object: serde_json::Map<String, serde_json::Value> = secrets
            .iter()
            .map(|(field, value)| (field.to_owned(), serde_json::Value::String(value.expose().to_owned())))
            .collect();
        let json = serde_json::Value::Object(object).to_string();
        EncryptedSecrets(self.all.encrypt(json.as_bytes()))
    }

    /// Decrypts a token, trying every key. Failure is an error, never an empty map.
    pub fn decrypt(&self, token: &EncryptedSecrets) -> Result<SecretMap, SecretError> {
        let plaintext = self.all.decrypt(token.as_token()).map_err(|_| SecretError::Undecryptable)?;
        parse_secret_map(&plaintext)
    }

    /// True when the primary key alone decrypts the token (it is already current).
    pub fn is_current(&self, token: &EncryptedSecrets) -> bool {
        self.primary.decrypt(token.as_token()).is_ok()
    }

    /// Decrypts with any key and encrypts again under the primary. The new token gets a
    /// new timestamp.
    pub fn reencrypt(&self, token: &EncryptedSecrets) -> Result<EncryptedSecrets, SecretError> {
        let secrets = self.decrypt(token)?;
        Ok(self.encrypt(&secrets))
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring").field("keys", &self.len).finish()
    }
}

/// Reads a key file: keys one per line or comma-separated.
/// A new key list after [`rotate_keys`]: the new key first, the old ones after it.
pub struct Rotation {
    /// The new list, comma-separated (the value `SYNKRO_SECRET_KEYS` should get).
    pub keys: Secret,
    /// Keys in the list, the new one included.
    pub count: usize,
    /// Where the keys came from; for a key file, the file now holds the new list.
    pub source: KeySource,
}

/// Adds a fresh primary key in front of the configured ones. With `SYNKRO_SECRET_KEYS`
/// (`env_value`) nothing is written: the caller shows the new list to set. With the key file in
/// `data_dir`, the file is rewritten (atomically, mode 0600) with the new key first. Stored
/// secrets stay readable under the old keys until `reencrypt_secrets` moves them.
pub fn rotate_keys(env_value: Option<&str>, data_dir: &Path) -> Result<Rotation, SecretError> {
    let new = Keyring::generate_key();
    if let Some(list) = env_value.filter(|value| !value.trim().is_empty()) {
        Keyring::parse(list)?;
        let old: Vec<&str> = list.split(',').map(str::trim).filter(|k| !k.is_empty()).collect();
        let keys = Secret::new(format!("{},{}", new.expose(), old.join(",")));
        return Ok(Rotation { keys, count: old.len() + 1, source: KeySource::Environment });
    }
    let source = match Keyring::load(None, data_dir)? {
        Some((_, source)) => source,
        None => Keyring::create_key_file(data_dir)?.1,
    };
    let path = data_dir.join(KEY_FILE_NAME);
    let key_error = |source| SecretError::KeyFile { path: path.clone(), source };
    let contents = fs::read_to_string(&path).map_err(key_error)?;
    let old: Vec<&str> = contents.split(['\n', ',']).map(str::trim).filter(|k| !k.is_empty()).collect();
    let list = Secret::new(format!("{},{}", new.expose(), old.join(",")));
    write_key_file(&path, &list).map_err(key_error)?;
    let source = match source {
        KeySource::Generated(p) => KeySource::File(p),
        other => other,
    };
    Ok(Rotation { keys: list, count: old.len() + 1, source })
}

/// Rewrites the key file in `data_dir` to hold only `keyring`'s primary key (after every secret
/// was re-encrypted under it).
pub fn retire_old_keys(keyring: &Keyring, data_dir: &Path) -> Result<(), SecretError> {
    let path = data_dir.join(KEY_FILE_NAME);
    write_key_file(&path, &keyring.primary_key).map_err(|source| SecretError::KeyFile { path, source })
}

/// Replaces `path` with the comma-separated `keys`, one per line, through a private temporary
/// file renamed over it.
fn write_key_file(path: &Path, keys: &Secret) -> io::Result<()> {
    let tmp = path.with_extension("key.new");
    let _ = fs::remove_file(&tmp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    let lines: Vec<&str> = keys.expose().split(',').collect();
    let written = writeln!(file, "{}", lines.join("\n")).and_then(|()| file.sync_all());
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path)
}

fn read_key_file(path: &Path) -> Result<Keyring, SecretError> {
    let contents =
        fs::read_to_string(path).map_err(|source| SecretError::KeyFile { path: path.to_path_buf(), source })?;
    Keyring::parse(&contents.replace('\n', ","))
}

/// Creates `path` (failing if it exists), readable by the owner only, and writes `key` to it.
fn write_new_key_file(path: &Path, key: &Secret) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let written = writeln!(file, "{}", key.expose()).and_then(|()| file.sync_all());
    if written.is_err() {
        // Leave no empty key file behind: the next start would fail with `NoKeys`.
        let _ = fs::remove_file(path);
    }
    written
}

/// Parses decrypted plaintext into a map. Error details never include values.
fn parse_secret_map(plaintext: &[u8]) -> Result<SecretMap, SecretError> {
    let value: serde_json::Value =
        serde_json::from_slice(plaintext).map_err(|_| SecretError::Malformed("not valid json".to_owned()))?;
    let object = match value {
        serde_json::Value::Object(object) => object,
        _ => return Err(SecretError::Malformed("expected an object".to_owned())),
    };
    let mut secrets = SecretMap::new();
    for (field, value) in object {
        match value {
            serde_json::Value::String(value) => secrets.insert(field, Secret::new(value)),
            _ => {
                return Err(SecretError::Malformed(format!("field {field:?} is not a string")));
            }
        }
    }
    Ok(secrets)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn sample() -> SecretMap {
        let mut map = SecretMap::new();
        map.insert("api_key", Secret::new("sk-live-123"));
        map.insert("client_secret", Secret::from("s3cr3t"));
        map.insert("refresh_token", Secret::from("rt-456".to_owned()));
        map
    }

    #[test]
    fn round_trip_keeps_every_field() {
        let keyring = Keyring::generate();
        let token = keyring.encrypt(&sample());
        assert!(!token.as_token().contains("sk-live-123"));
        let back = keyring.decrypt(&token).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back.get("api_key").unwrap().expose(), "sk-live-123");
        assert_eq!(back.get("client_secret").unwrap().expose(), "s3cr3t");
        assert_eq!(back, sample());
    }

    #[test]
    fn rotation_moves_tokens_to_the_new_primary() {
        let (a, b) = (Keyring::generate_key(), Keyring::generate_key());
        let only_a = Keyring::from_keys(&[a.expose()]).unwrap();
        let only_b = Keyring::from_keys(&[b.expose()]).unwrap();
        let b_then_a = Keyring::from_keys(&[b.expose(), a.expose()]).unwrap();
        assert_eq!(b_then_a.len(), 2);
        assert_eq!(b_then_a.primary_key(), b);

        let old = only_a.encrypt(&sample());
        assert_eq!(b_then_a.decrypt(&old).unwrap(), sample());
        assert!(!b_then_a.is_current(&old));

        let rotated = b_then_a.reencrypt(&old).unwrap();
        assert!(b_then_a.is_current(&rotated));
        assert_eq!(only_b.decrypt(&rotated).unwrap(), sample());
        assert!(matches!(only_a.decrypt(&rotated), Err(SecretError::Undecryptable)));
    }

    #[test]
    fn wrong_key_is_an_error_not_an_empty_map() {
        let token = Keyring::generate().encrypt(&sample());
        let result = Keyring::generate().decrypt(&token);
        assert!(matches!(result, Err(SecretError::Undecryptable)), "{result:?}");
        let garbage = Keyring::generate().decrypt(&EncryptedSecrets::from_token("not-a-token"));
        assert!(matches!(garbage, Err(SecretError::Undecryptable)), "{garbage:?}");
    }

    #[test]
    fn invalid_key_names_its_position_but_not_its_value() {
        let valid = Keyring::generate_key();
        let err = Keyring::parse(&format!("{},garbage", valid.expose())).unwrap_err();
        assert!(matches!(err, SecretError::InvalidKey { index: 1 }), "{err:?}");
        let text = err.to_string();
        assert!(!text.contains("garbage"), "{text}");
        assert!(text.contains("synkro keys generate"), "{text}");
        assert!(text.contains("32 url-safe base64-encoded bytes"), "{text}");
    }

    #[test]
    fn parse_trims_and_skips_blank_entries() {
        let (a, b) = (Keyring::generate_key(), Keyring::generate_key());
        let keyring = Keyring::parse(&format!(" , {} ,, \t{}\n,", a.expose(), b.expose())).unwrap();
        assert_eq!(keyring.len(), 2);
        assert_eq!(keyring.primary_key(), a);
        assert!(matches!(Keyring::parse(" , ,"), Err(SecretError::NoKeys)));
        let empty: [&str; 0] = [];
        assert!(matches!(Keyring::from_keys(&empty), Err(SecretError::NoKeys)));
    }

    #[test]
    fn secret_redacts_itself() {
        let secret = Secret::new("hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert!(!format!("{secret}").contains("hunter2"));
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(secret.expose(), "hunter2");
        let parsed: Secret = serde_json::from_str("\"hunter2\"").unwrap();
        assert_eq!(parsed, secret);
    }

    #[test]
    fn map_keyring_and_token_debug_hide_values() {
        let map = sample();
        let debug = format!("{map:?}");
        assert!(debug.contains("api_key"), "{debug}");
        assert!(!debug.contains("sk-live-123") && !debug.contains("s3cr3t"), "{debug}");

        let keyring = Keyring::generate();
        let debug = format!("{keyring:?}");
        assert_eq!(debug, "Keyring { keys: 1 }");
        assert!(!debug.contains(keyring.primary_key().expose()));

        let token = keyring.encrypt(&map);
        assert!(!format!("{token:?}").contains(token.as_token()));
    }

    #[test]
    fn loading_writes_nothing_and_a_created_key_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let path = data_dir.join("secret.key");

        assert!(Keyring::load(None, &data_dir).unwrap().is_none(), "no keys anywhere");
        assert!(!data_dir.exists(), "loading created nothing");
        let (first, source) = Keyring::create_key_file(&data_dir).unwrap();
        assert_eq!(source, KeySource::Generated(path.clone()));
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let (second, source) = Keyring::load(Some("  "), &data_dir).unwrap().unwrap();
        assert_eq!(source, KeySource::File(path.clone()));
        assert_eq!(second.primary_key(), first.primary_key());

        let old = Keyring::generate_key();
        let contents = format!("{}\n{}\n", first.primary_key().expose(), old.expose());
        fs::write(&path, contents).unwrap();
        let (third, _) = Keyring::load(None, &data_dir).unwrap().unwrap();
        let (again, _) = Keyring::create_key_file(&data_dir).unwrap();
        assert_eq!(again.len(), 2, "an existing file is loaded, never replaced");
        assert_eq!(third.len(), 2);
        assert_eq!(third.primary_key(), first.primary_key());
    }

    #[test]
    fn rotation_puts_a_new_key_first_and_keeps_old_secrets_readable() {
        let dir = tempfile::tempdir().unwrap();
        let (old, _) = Keyring::create_key_file(dir.path()).unwrap();
        let token = old.encrypt(&sample());
        let rotation = rotate_keys(None, dir.path()).unwrap();
        assert_eq!(rotation.count, 2);
        assert_eq!(rotation.source, KeySource::File(dir.path().join("secret.key")));
        let path = dir.path().join("secret.key");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let (rotated, _) = Keyring::load(None, dir.path()).unwrap().unwrap();
        assert_eq!(rotated.len(), 2);
        assert_ne!(rotated.primary_key().expose(), old.primary_key().expose(), "a new primary");
        assert_eq!(rotated.decrypt(&token).unwrap(), sample(), "old secrets still decrypt");
        assert!(!rotated.is_current(&token));
        retire_old_keys(&rotated, dir.path()).unwrap();
        let (retired, _) = Keyring::load(None, dir.path()).unwrap().unwrap();
        assert_eq!((retired.len(), retired.primary_key().expose()), (1, rotated.primary_key().expose()));

        let env = format!("{}, {}", old.primary_key().expose(), Keyring::generate_key().expose());
        let from_env = rotate_keys(Some(&env), dir.path()).unwrap();
        assert_eq!((from_env.count, from_env.source), (3, KeySource::Environment));
        let keys: Vec<&str> = from_env.keys.expose().split(',').collect();
        assert_eq!(keys[1], old.primary_key().expose(), "the old keys follow the new one");
        assert!(Keyring::parse(from_env.keys.expose()).is_ok());
        assert!(!format!("{:?}", from_env.keys).contains(keys[0]), "the list is a secret");
        assert!(matches!(rotate_keys(Some("not-a-key"), dir.path()), Err(SecretError::InvalidKey { .. })));
    }

    #[test]
    fn environment_takes_precedence_over_the_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let (from_file, _) = Keyring::create_key_file(dir.path()).unwrap();
        let env_key = Keyring::generate_key();
        let (keyring, source) = Keyring::load(Some(env_key.expose()), dir.path()).unwrap().unwrap();
        assert_eq!(source, KeySource::Environment);
        assert_eq!(keyring.primary_key(), env_key);
        assert_ne!(keyring.primary_key(), from_file.primary_key());
    }

    #[test]
    fn decrypted_non_object_is_malformed() {
        let keyring = Keyring::generate();
        let fernet = Fernet::new(keyring.primary_key().expose()).unwrap();

        let array = EncryptedSecrets::from_token(fernet.encrypt(b"[1,2]"));
        let result = keyring.decrypt(&array);
        assert!(matches!(result, Err(SecretError::Malformed(_))), "{result:?}");

        let number_field = EncryptedSecrets::from_token(fernet.encrypt(br#"{"pin":987654}"#));
        let err = keyring.decrypt(&number_field).unwrap_err();
        assert!(matches!(err, SecretError::Malformed(_)), "{err:?}");
        assert!(!err.to_string().contains("987654"), "{err}");
    }
}

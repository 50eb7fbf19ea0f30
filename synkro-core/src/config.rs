//! Process configuration: environment variables over an optional TOML file over defaults.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{connector::OutboundPolicy, secrets::Secret};

const DATABASE_URL: &str = "SYNKRO_DATABASE_URL";
const REDIS_URL: &str = "SYNKRO_REDIS_URL";
const SECRET_KEYS: &str = "SYNKRO_SECRET_KEYS";
const BIND: &str = "SYNKRO_BIND";
const DATA_DIR: &str = "SYNKRO_DATA_DIR";
const LOG_FORMAT: &str = "SYNKRO_LOG_FORMAT";
const PUBLIC_URL: &str = "SYNKRO_PUBLIC_URL";
const OUTBOUND_ALLOW: &str = "SYNKRO_OUTBOUND_ALLOW";
const CONFIG: &str = "SYNKRO_CONFIG";
const TEMP_USER: &str = "TEMP_LOGIN_USER";
const TEMP_PASSWORD: &str = "TEMP_LOGIN_PASSWORD";

/// The data directory when neither `SYNKRO_DATA_DIR` nor the config file names one.
pub const DEFAULT_DATA_DIR: &str = "./data";
/// `synkro demo`'s default data directory: its own, so the demo never opens `serve`'s database.
pub const DEMO_DATA_DIR: &str = "./demo-data";

/// Every `SYNKRO_*` name this process understands; anything else gets a warning.
#[rustfmt::skip]
const KNOWN: &[&str] = &[
    DATABASE_URL, REDIS_URL, SECRET_KEYS, BIND, DATA_DIR, LOG_FORMAT, PUBLIC_URL, OUTBOUND_ALLOW, CONFIG, "SYNKRO_LOG",
    "SYNKRO_TEST_DATABASE_URL", "SYNKRO_TEST_REDIS_URL", "SYNKRO_TEST_REQUIRE_SERVICES", "SYNKRO_CONNECTOR_ENDPOINTS",
    "SYNKRO_BENCH", "SYNKRO_BENCH_DEALS", "SYNKRO_BENCH_SECONDS", "SYNKRO_BENCH_DB", "SYNKRO_BENCH_PERF",
    "SYNKRO_BENCH_REDIS_URL", "SYNKRO_BENCH_BUSY", "SYNKRO_BENCH_FLUSH_SECONDS", "SYNKRO_BENCH_MARGIN",
    "SYNKRO_TRUSTED_PROXIES", "SYNKRO_AUTH_CACHE_MS", "SYNKRO_PAGE_CACHE_MS", "SYNKRO_DELIVERY_RETRY_MINUTES", "SYNKRO_BLESS",
];

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A setting has a value that cannot be used.
    #[error("invalid {setting}: {message}")]
    Invalid {
        /// The environment variable name of the setting.
        setting: &'static str,
        /// What is wrong and how to fix it; never contains a secret.
        message: String,
    },
    /// The TOML config file could not be read or parsed.
    #[error("cannot read config file {path}: {message}")]
    File {
        /// The file that was named by `SYNKRO_CONFIG`.
        path: PathBuf,
        /// What went wrong, without echoing the file's contents.
        message: String,
    },
}

/// Which database engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// A SQLite file or in-memory database.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Replaces the password of a URL with `***`; URLs without one come back unchanged.
fn masked(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            if url.set_password(Some("***")).is_ok() {
                url.to_string()
            } else {
                "<url with hidden password>".to_owned()
            }
        }
        _ => raw.to_owned(),
    }
}

/// Checks that a server URL parses; the url error text never contains the input.
fn checked(s: &str, setting: &'static str, what: &str) -> Result<String, ConfigError> {
    match url::Url::parse(s) {
        Ok(_) => Ok(s.to_owned()),
        Err(e) => Err(ConfigError::Invalid {
            setting,
            message: format!("not a valid {what} url ({e}); percent-encode special characters in the password"),
        }),
    }
}

/// Debug and Display for a URL newtype, both with the password masked.
macro_rules! masked_fmt {
    ($ty:ident) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($ty)).field(&masked(&self.0)).finish()
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&masked(&self.0))
            }
        }
    };
}
masked_fmt!(DatabaseUrl);
masked_fmt!(RedisUrl);

/// A database or Redis URL whose Debug and Display hide the password (user:***@host); the full value comes out only through expose().
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Accepts `sqlite:...`, `postgres://...` and `postgresql://...` URLs.
    pub fn parse(s: &str) -> Result<Self, ConfigError> {
        if s.starts_with("sqlite:") {
            return Ok(Self(s.to_owned()));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return checked(s, DATABASE_URL, "postgres").map(Self);
        }
        Err(ConfigError::Invalid { setting: DATABASE_URL, message: "expected a sqlite: or postgres:// url".to_owned() })
    }

    /// Which engine this URL points at.
    pub fn kind(&self) -> DatabaseKind {
        if self.0.starts_with("sqlite:") { DatabaseKind::Sqlite } else { DatabaseKind::Postgres }
    }

    /// The full URL, password included; pass it only to the database driver.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// For sqlite file urls, the file path (None for memory/postgres).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self.0.strip_prefix("sqlite:")?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let in_memory = query.split('&').any(|pair| pair == "mode=memory");
        if rest.is_empty() || rest == ":memory:" || in_memory {
            return None;
        }
        Some(PathBuf::from(rest))
    }
}

/// Same masking, for SYNKRO_REDIS_URL (redis:// or rediss://).
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(String);

impl RedisUrl {
    /// Accepts `redis://...` and `rediss://...` URLs.
    pub fn parse(s: &str) -> Result<Self, ConfigError> {
        if !(s.starts_with("redis://") || s.starts_with("rediss://")) {
            return Err(ConfigError::Invalid {
                setting: REDIS_URL,
                message: "expected a redis:// or rediss:// url".to_owned(),
            });
        }
        checked(s, REDIS_URL, "redis").map(Self)
    }

    /// The full URL, password included; pass it only to the Redis client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The address people open the dashboard at (`SYNKRO_PUBLIC_URL`): an http(s) URL with a host
/// and no query, fragment or credentials, kept without a trailing slash.
fn parse_public_url(raw: &str) -> Result<String, ConfigError> {
    let invalid = |message: &str| ConfigError::Invalid {
        setting: PUBLIC_URL,
        message: format!("{message}; use the dashboard's address, such as https://synkro.example.com"),
    };
    let url = url::Url::parse(raw.trim()).map_err(|e| invalid(&format!("not a valid url ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("must be an http:// or https:// address with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not have a query, a fragment or a user name"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The fallback login from TEMP_LOGIN_USER / TEMP_LOGIN_PASSWORD (both must be set).
#[derive(Debug, Clone, PartialEq)]
pub struct TempLogin {
    /// The login name.
    pub username: String,
    /// The password, redacted in Debug and Display.
    pub password: Secret,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The settings a Synkro process starts with.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `SYNKRO_DATABASE_URL`, default `sqlite://{data_dir}/synkro.db?mode=rwc`.
    pub database_url: DatabaseUrl,
    /// `SYNKRO_REDIS_URL`; without it queues and rate limits stay in-process.
    pub redis_url: Option<RedisUrl>,
    /// `SYNKRO_SECRET_KEYS`: the raw comma-separated keyring, parsed by the secrets module.
    pub secret_keys: Option<Secret>,
    /// `SYNKRO_BIND`, default `127.0.0.1:8080`.
    pub bind: SocketAddr,
    /// `SYNKRO_DATA_DIR`, default `./data` ([`DEFAULT_DATA_DIR`]; `synkro demo`: [`DEMO_DATA_DIR`]).
    pub data_dir: PathBuf,
    /// `TEMP_LOGIN_USER` + `TEMP_LOGIN_PASSWORD`, only if both are set and non-empty.
    pub temp_login: Option<TempLogin>,
    /// `SYNKRO_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `SYNKRO_PUBLIC_URL`: where people open the dashboard, without a trailing slash (messages
    /// such as the bot's replies link to it); unset, they only name it.
    pub public_url: Option<String>,
    /// `SYNKRO_OUTBOUND_ALLOW`: host names, addresses and networks (`10.0.0.0/8`) that outbound
    /// requests may reach although they are not public, and over plain http. Unset, requests
    /// reach public addresses over https only (tenant admins set URLs: see docs/security.md).
    pub outbound_allow: OutboundPolicy,
    /// Human-readable warnings collected while loading.
    pub warnings: Vec<String>,
}

/// The TOML file's shape. No `Debug`: it holds raw URLs and secrets.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    redis_url: Option<String>,
    secret_keys: Option<Secret>,
    bind: Option<String>,
    data_dir: Option<PathBuf>,
    log_format: Option<LogFormat>,
    public_url: Option<String>,
    outbound_allow: Option<String>,
    temp_login_user: Option<String>,
    temp_login_password: Option<Secret>,
}

impl FileConfig {
    fn read(path: &Path) -> Result<Self, ConfigError> {
        let file_error = |message: String| ConfigError::File { path: path.to_owned(), message };
        let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        toml::from_str(&text).map_err(|e| {
            // Only the message and line: the full error quotes the source, which may hold secrets.
            let line = e.span().map(|span| {
                let before = &text.as_bytes()[..span.start.min(text.len())];
                before.iter().filter(|b| **b == b'\n').count() + 1
            });
            match line {
                Some(line) => file_error(format!("line {line}: {}", e.message())),
                None => file_error(e.message().to_owned()),
            }
        })
    }
}

impl Config {
    /// From the process environment; the optional TOML file is named by SYNKRO_CONFIG. Logs each warning with tracing::warn!.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with_data_dir(Path::new(DEFAULT_DATA_DIR))
    }

    /// [`Config::from_env`] with another default data directory (`synkro demo` uses
    /// [`DEMO_DATA_DIR`]); `SYNKRO_DATA_DIR` or the file's `data_dir` still win.
    pub fn from_env_with_data_dir(default_data_dir: &Path) -> Result<Self, ConfigError> {
        // vars() would panic on a non-unicode variable; such variables are skipped instead.
        let env: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        let file = env
            .iter()
            .find(|(name, value)| name == CONFIG && !value.trim().is_empty())
            .map(|(_, value)| PathBuf::from(value));
        let config = Self::load_with_data_dir(env, file.as_deref(), default_data_dir)?;
        for warning in &config.warnings {
            tracing::warn!(warning = %warning, "configuration warning");
        }
        Ok(config)
    }

    /// Pure, testable core: `env` is the full list of (name, value) pairs; `file` an optional TOML file path (if given and unreadable or invalid => error naming the file and the TOML error).
    pub fn load(env: impl IntoIterator<Item = (String, String)>, file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_data_dir(env, file, Path::new(DEFAULT_DATA_DIR))
    }

    /// [`Config::load`] with another default data directory.
    pub fn load_with_data_dir(
        env: impl IntoIterator<Item = (String, String)>,
        file: Option<&Path>,
        default_data_dir: &Path,
    ) -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = env.into_iter().filter(|(_, value)| !value.trim().is_empty()).collect();
        let file = match file {
            Some(path) => FileConfig::read(path)?,
            None => FileConfig::default(),
        };
        let mut warnings = unknown_setting_warnings(&env);
        let get = |name: &str| env.get(name).cloned();

        let data_dir = get(DATA_DIR)
            .map(PathBuf::from)
            .or(file.data_dir)
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or_else(|| default_data_dir.to_owned());
        let database_url = match get(DATABASE_URL).or(file.database_url).filter(|s| !s.is_empty()) {
            Some(raw) => DatabaseUrl::parse(&raw)?,
            None => DatabaseUrl(format!("sqlite://{}/synkro.db?mode=rwc", data_dir.display())),
        };
        let redis_url = match get(REDIS_URL).or(file.redis_url).filter(|s| !s.is_empty()) {
            Some(raw) => Some(RedisUrl::parse(&raw)?),
            None => None,
        };
        let secret_keys =
            get(SECRET_KEYS).map(Secret::new).or(file.secret_keys).filter(|keys| !keys.expose().trim().is_empty());
        let bind = match get(BIND).or(file.bind) {
            Some(raw) => raw.trim().parse::<SocketAddr>().map_err(|_| ConfigError::Invalid {
                setting: BIND,
                message: "expected host:port such as 127.0.0.1:8080".to_owned(),
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let log_format = match get(LOG_FORMAT) {
            Some(raw) => match raw.trim().to_ascii_lowercase().as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    return Err(ConfigError::Invalid {
                        setting: LOG_FORMAT,
                        message: "expected \"text\" or \"json\"".to_owned(),
                    });
                }
            },
            None => file.log_format.unwrap_or_default(),
        };
        let public_url = get(PUBLIC_URL).or(file.public_url).filter(|s| !s.trim().is_empty());
        let public_url = public_url.as_deref().map(parse_public_url).transpose()?;
        let outbound_allow = match get(OUTBOUND_ALLOW).or(file.outbound_allow) {
            Some(raw) => OutboundPolicy::parse(&raw).map_err(|message| ConfigError::Invalid {
                setting: OUTBOUND_ALLOW,
                message: format!(
                    "{message}; list host names, addresses or networks, e.g. \"127.0.0.0/8, sandbox.local\""
                ),
            })?,
            None => OutboundPolicy::strict(),
        };

        let username = get(TEMP_USER).or(file.temp_login_user).filter(|s| !s.trim().is_empty());
        let password =
            get(TEMP_PASSWORD).map(Secret::new).or(file.temp_login_password).filter(|s| !s.expose().is_empty());
        let half = |warnings: &mut Vec<String>, set: &str, unset: &str| -> Option<TempLogin> {
            warnings.push(format!("{set} is set without {unset}: the fallback login stays off"));
            None
        };
        let temp_login = match (username, password) {
            (Some(username), Some(password)) => {
                crate::domain::check_password(TEMP_PASSWORD, password.expose()).map_err(|e| ConfigError::Invalid {
                    setting: TEMP_PASSWORD,
                    message: format!("{}; the fallback login has superuser rights", e.message),
                })?;
                Some(TempLogin { username, password })
            }
            (Some(_), None) => half(&mut warnings, TEMP_USER, TEMP_PASSWORD),
            (None, Some(_)) => half(&mut warnings, TEMP_PASSWORD, TEMP_USER),
            (None, None) => None,
        };

        Ok(Self {
            database_url,
            redis_url,
            secret_keys,
            bind,
            data_dir,
            temp_login,
            log_format,
            public_url,
            outbound_allow,
            warnings,
        })
    }
}

/// One warning per unknown `SYNKRO_*` variable, sorted by name, with a suggestion when close.
fn unknown_setting_warnings(env: &HashMap<String, String>) -> Vec<String> {
    let mut unknown: Vec<&String> =
        env.keys().filter(|name| name.starts_with("SYNKRO_") && !KNOWN.contains(&name.as_str())).collect();
    unknown.sort();
    unknown
        .into_iter()
        .map(|name| {
            let nearest = KNOWN
                .iter()
                .map(|known| (levenshtein(name, known), *known))
                .filter(|(distance, _)| *distance <= 3)
                .min();
            match nearest {
                Some((_, known)) => {
                    format!("unknown setting {name} ignored (did you mean {known}?)")
                }
                None => format!("unknown setting {name} ignored"),
            }
        })
        .collect()
}

/// Edit distance between two strings, counted in chars.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::load(env(pairs), None)
    }

    fn toml_file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn defaults_with_empty_env() {
        let config = load(&[("SYNKRO_BIND", ""), ("PATH", "/bin")]).unwrap();
        assert_eq!(config.bind, "127.0.0.1:8080".parse::<SocketAddr>().unwrap());
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(config.database_url.kind(), DatabaseKind::Sqlite);
        assert_eq!(config.database_url.sqlite_path(), Some(PathBuf::from("./data/synkro.db")));
        assert!(config.redis_url.is_none());
        assert!(config.temp_login.is_none());
        assert!(config.secret_keys.is_none());
        assert_eq!(config.log_format, LogFormat::Text);
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    }

    #[test]
    fn the_demo_default_data_dir_applies_only_when_none_is_set() {
        let demo = |pairs: &[(&str, &str)], file: Option<&Path>| {
            Config::load_with_data_dir(env(pairs), file, Path::new(DEMO_DATA_DIR)).unwrap()
        };
        let config = demo(&[], None);
        assert_eq!(config.data_dir, PathBuf::from("./demo-data"));
        assert_eq!(config.database_url.sqlite_path(), Some(PathBuf::from("./demo-data/synkro.db")));
        assert_eq!(demo(&[("SYNKRO_DATA_DIR", "/srv/x")], None).data_dir, PathBuf::from("/srv/x"));
        let file = toml_file("data_dir = \"/from/file\"\n");
        assert_eq!(demo(&[], Some(file.path())).data_dir, PathBuf::from("/from/file"));
        let config = demo(&[("SYNKRO_DATABASE_URL", "postgres://h/db")], None);
        assert_eq!(
            (config.data_dir, config.database_url.kind()),
            (PathBuf::from("./demo-data"), DatabaseKind::Postgres)
        );
    }

    #[test]
    fn env_overrides_defaults() {
        let config = load(&[
            ("SYNKRO_DATABASE_URL", "postgres://u:p@db:5432/synkro"),
            ("SYNKRO_REDIS_URL", "redis://cache:6379"),
            ("SYNKRO_SECRET_KEYS", "k1,k2"),
            ("SYNKRO_BIND", "0.0.0.0:9000"),
            ("SYNKRO_DATA_DIR", "/var/lib/synkro"),
            ("SYNKRO_LOG_FORMAT", "json"),
        ])
        .unwrap();
        assert_eq!(config.database_url.expose(), "postgres://u:p@db:5432/synkro");
        assert_eq!(config.redis_url.unwrap().expose(), "redis://cache:6379");
        assert_eq!(config.secret_keys.unwrap().expose(), "k1,k2");
        assert_eq!(config.bind, "0.0.0.0:9000".parse::<SocketAddr>().unwrap());
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/synkro"));
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn file_values_used_and_env_wins() {
        let file = toml_file(
            "bind = \"0.0.0.0:7000\"\nlog_format = \"json\"\ndata_dir = \"/from/file\"\n\
             temp_login_user = \"admin\"\ntemp_login_password = \"filepass\"\n",
        );
        let config = Config::load(env(&[]), Some(file.path())).unwrap();
        assert_eq!(config.bind, "0.0.0.0:7000".parse::<SocketAddr>().unwrap());
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.data_dir, PathBuf::from("/from/file"));
        assert_eq!(config.database_url.expose(), "sqlite:///from/file/synkro.db?mode=rwc");
        assert_eq!(config.temp_login.unwrap().password.expose(), "filepass");

        let config = Config::load(env(&[("SYNKRO_BIND", "127.0.0.1:1234")]), Some(file.path())).unwrap();
        assert_eq!(config.bind, "127.0.0.1:1234".parse::<SocketAddr>().unwrap());
        assert_eq!(config.data_dir, PathBuf::from("/from/file"));
    }

    #[test]
    fn unknown_toml_key_is_an_error_naming_it() {
        let file = toml_file("databse_url = \"postgres://u:hunter2@h/db\"\n");
        let err = Config::load(env(&[]), Some(file.path())).unwrap_err().to_string();
        assert!(err.contains("databse_url"), "{err}");
        assert!(err.contains(&file.path().display().to_string()), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn database_url_hides_password() {
        let url = DatabaseUrl::parse("postgres://u:hunter2@h/db").unwrap();
        assert_eq!(format!("{url:?}"), "DatabaseUrl(\"postgres://u:***@h/db\")");
        assert_eq!(url.to_string(), "postgres://u:***@h/db");
        assert_eq!(url.expose(), "postgres://u:hunter2@h/db");
        let redis = RedisUrl::parse("rediss://:hunter2@cache:6380").unwrap();
        assert!(!format!("{redis:?} {redis}").contains("hunter2"));
        assert_eq!(redis.expose(), "rediss://:hunter2@cache:6380");
    }

    #[test]
    fn kind_and_accepted_forms() {
        let kind = |s: &str| DatabaseUrl::parse(s).unwrap().kind();
        assert_eq!(kind("sqlite://relative/path.db"), DatabaseKind::Sqlite);
        assert_eq!(kind("sqlite:///abs/path.db?mode=rwc"), DatabaseKind::Sqlite);
        assert_eq!(kind("sqlite::memory:"), DatabaseKind::Sqlite);
        assert_eq!(kind("postgres://h/db"), DatabaseKind::Postgres);
        assert_eq!(kind("postgresql://h/db"), DatabaseKind::Postgres);
        let path = |s: &str| DatabaseUrl::parse(s).unwrap().sqlite_path();
        assert_eq!(path("sqlite://relative/path.db"), Some(PathBuf::from("relative/path.db")));
        assert_eq!(path("sqlite:///abs/path.db?mode=rwc"), Some(PathBuf::from("/abs/path.db")));
        assert_eq!(path("sqlite::memory:"), None);
        assert_eq!(path("postgres://h/db"), None);
    }

    #[test]
    fn bad_scheme_names_the_setting() {
        let err = load(&[("SYNKRO_DATABASE_URL", "mysql://u:hunter2@h/db")]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("SYNKRO_DATABASE_URL"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        let err = load(&[("SYNKRO_REDIS_URL", "http://u:hunter2@h")]).unwrap_err().to_string();
        assert!(err.contains("SYNKRO_REDIS_URL") && !err.contains("hunter2"), "{err}");
    }

    #[test]
    fn unknown_setting_warns_with_suggestion() {
        let config = load(&[("SYNKRO_DATABSE_URL", "sqlite::memory:")]).unwrap();
        assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
        assert!(config.warnings[0].contains("did you mean SYNKRO_DATABASE_URL"));
        let config = load(&[("SYNKRO_ZZZZZZZZZZZZ", "1")]).unwrap();
        assert_eq!(config.warnings, vec!["unknown setting SYNKRO_ZZZZZZZZZZZZ ignored"]);
    }

    #[test]
    fn known_extra_settings_do_not_warn() {
        let config = load(&[
            ("SYNKRO_TEST_DATABASE_URL", "postgres://h/db"),
            ("SYNKRO_TEST_REQUIRE_SERVICES", "1"),
            ("SYNKRO_LOG", "debug"),
            ("SYNKRO_CONFIG", "/etc/synkro.toml"),
        ])
        .unwrap();
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    }

    #[test]
    fn half_temp_login_warns_and_stays_off() {
        let config = load(&[("TEMP_LOGIN_USER", "admin")]).unwrap();
        assert!(config.temp_login.is_none());
        assert_eq!(
            config.warnings,
            vec!["TEMP_LOGIN_USER is set without TEMP_LOGIN_PASSWORD: the fallback login stays off"]
        );
        let config = load(&[("TEMP_LOGIN_USER", "admin"), ("TEMP_LOGIN_PASSWORD", "")]).unwrap();
        assert!(config.temp_login.is_none());
        assert_eq!(config.warnings.len(), 1);
    }

    #[test]
    fn full_temp_login_is_on_and_redacted() {
        let config = load(&[("TEMP_LOGIN_USER", "admin"), ("TEMP_LOGIN_PASSWORD", "hunter2 is long")]).unwrap();
        let login = config.temp_login.clone().unwrap();
        assert_eq!(login.username, "admin");
        assert_eq!(login.password.expose(), "hunter2 is long");
        assert!(config.warnings.is_empty());
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn a_weak_temp_login_password_is_refused() {
        for weak in ["x", "password", "Passw0rd", "aaaaaaaaaa"] {
            let err = load(&[("TEMP_LOGIN_USER", "admin"), ("TEMP_LOGIN_PASSWORD", weak)]).unwrap_err().to_string();
            assert!(err.contains("TEMP_LOGIN_PASSWORD"), "{weak:?}: {err}");
        }
    }

    #[test]
    fn outbound_allowances_are_strict_unless_the_operator_lists_some() {
        assert!(load(&[]).unwrap().outbound_allow.is_strict());
        let config = load(&[("SYNKRO_OUTBOUND_ALLOW", "127.0.0.0/8, sandbox.local")]).unwrap();
        assert!(config.outbound_allow.allows_address("127.0.0.1".parse().unwrap()));
        assert!(config.outbound_allow.allows_host("sandbox.local"));
        assert!(!config.outbound_allow.allows_address("10.0.0.1".parse().unwrap()));
        let err = load(&[("SYNKRO_OUTBOUND_ALLOW", "10.0.0.0/8, http://x")]).unwrap_err().to_string();
        assert!(err.contains("SYNKRO_OUTBOUND_ALLOW") && err.contains("http://x"), "{err}");
    }

    #[test]
    fn public_url_is_an_http_address_without_a_trailing_slash() {
        assert_eq!(load(&[]).unwrap().public_url, None);
        let url = |raw: &str| load(&[("SYNKRO_PUBLIC_URL", raw)]).map(|c| c.public_url.unwrap());
        assert_eq!(url("https://synkro.example.com/").unwrap(), "https://synkro.example.com");
        assert_eq!(url(" http://10.0.0.5:8080 ").unwrap(), "http://10.0.0.5:8080");
        assert_eq!(url("https://example.com/synkro/").unwrap(), "https://example.com/synkro");
        let file = toml_file("public_url = \"https://from.file\"\n");
        assert_eq!(Config::load(env(&[]), Some(file.path())).unwrap().public_url.as_deref(), Some("https://from.file"));
        for bad in ["synkro.example.com", "ftp://example.com", "https://example.com/?a=1", "https://u:p@example.com"] {
            let err = url(bad).unwrap_err().to_string();
            assert!(err.contains("SYNKRO_PUBLIC_URL") && err.contains("https://synkro.example.com"), "{bad}: {err}");
            assert!(!err.contains("u:p"), "{err}");
        }
    }

    #[test]
    fn invalid_bind_and_log_format_name_the_setting() {
        let err = load(&[("SYNKRO_BIND", "localhost")]).unwrap_err().to_string();
        assert!(err.contains("SYNKRO_BIND") && err.contains("host:port"), "{err}");
        let err = load(&[("SYNKRO_LOG_FORMAT", "xml")]).unwrap_err().to_string();
        assert!(err.contains("SYNKRO_LOG_FORMAT") && err.contains("json"), "{err}");
    }
}

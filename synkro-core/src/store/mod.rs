//! The store: one API over two sqlx backends, SQLite (the embedded default) and PostgreSQL.
//!
//! Each operation is written once; [`on_pool!`] expands it for the backend the store was opened
//! on. The SQL is shared: both engines accept `$n` placeholders, `RETURNING`, `ON CONFLICT`,
//! partial unique indexes and row-value comparisons. Where the schemas differ (UUID vs blob,
//! timestamptz vs integer microseconds) the Rust types hide it, see [`crate::time::Timestamp`].
//! The invariants live in the migrations, so the database enforces them whichever code writes.

mod alerts;
mod audit;
mod auth;
mod deliveries;
mod error;
mod integrations;
mod jobs;
mod leases;
#[cfg(all(test, feature = "testing"))]
mod migration_tests;
mod page;
mod reports;
mod telegram;
mod tenants;
mod throttle;
mod tokens;
mod users;
mod warehouse;

use std::{str::FromStr, time::Duration};

#[cfg(feature = "postgres")]
use sqlx::{PgPool, postgres::PgPoolOptions};
use sqlx::{
    SqlitePool,
    migrate::Migrator,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

pub use alerts::{ALERT_SENDING_FOR, Alert, AlertKind, AlertState};
pub use auth::{NewSession, Session};
pub use deliveries::{Delivery, DeliveryStart, DeliveryState};
pub use error::{Constraint, StoreError};
pub use integrations::SecretsCheck;
pub use jobs::JobCreated;
pub use leases::{LeaseState, QueueDepth};
pub use page::{Cursor, Page, PageRequest};
pub use telegram::TelegramPoller;
pub use throttle::LoginCounter;
pub use tokens::{ApiToken, NewApiToken};
pub use warehouse::BuiltinWarehouse;

use crate::config::{DatabaseKind, DatabaseUrl};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
#[cfg(feature = "postgres")]
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// Runs `$body` with `$pool` bound to the store's pool, for whichever backend it is.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => $body,
            #[cfg(feature = "postgres")]
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
}

/// Pool settings for [`Store::connect_with`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most connections held open (default: 8 for PostgreSQL, 4 for SQLite).
    pub max_connections: Option<u32>,
    /// How long to wait for a connection or a SQLite write lock (default 10 s).
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { max_connections: None, acquire_timeout: Duration::from_secs(10) }
    }
}

/// Synkro's database: tenants, users, integrations, jobs, reports and the audit log.
///
/// Cheap to clone (it holds a connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) backend: Backend,
}

/// Bytes the SQLite WAL is truncated to after a checkpoint (64 MiB).
const WAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// Makes the SQLite database at `path` readable by its owner only, whatever the umask: created
/// with mode 0600 when missing, tightened when it (or its WAL and shared-memory files) allows
/// anyone else. SQLite gives the WAL and shared-memory files the database's mode.
fn owner_only(path: &std::path::Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let failed = |e: std::io::Error| StoreError::Connect(format!("cannot secure {}: {e}", path.display()));
        if !path.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
                .map_err(failed)?;
        }
        let mut files = vec![path.to_path_buf()];
        for suffix in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            files.push(name.into());
        }
        for file in files.iter().filter(|f| f.exists()) {
            let mode = std::fs::metadata(file).map_err(failed)?.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).map_err(failed)?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl Store {
    /// Opens the database at `url` (`sqlite:...` or `postgres://...`) with default options.
    /// Does not apply migrations: call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let url = DatabaseUrl::parse(url).map_err(|e| StoreError::Connect(e.to_string()))?;
        Self::connect_with(&url, StoreOptions::default()).await
    }

    /// Opens the database at `url` with `options`.
    ///
    /// SQLite files are created if missing (with their directory) and opened in WAL mode with
    /// foreign keys enforced.
    pub async fn connect_with(url: &DatabaseUrl, options: StoreOptions) -> Result<Self, StoreError> {
        let connect_error = |e: sqlx::Error| {
            StoreError::Connect(format!(
                "cannot open {url}: {e}; check that the database is reachable and SYNKRO_DATABASE_URL is right"
            ))
        };
        let backend = match url.kind() {
            DatabaseKind::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url.expose())
                    .map_err(connect_error)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    // The WAL is truncated back to this after each checkpoint, so a burst of
                    // writes (a login flood's audit rows) cannot leave a huge file behind.
                    .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string())
                    // A whole page (and its look-ahead row) crosses from SQLite's thread at once.
                    .row_buffer_size(256)
                    .busy_timeout(options.acquire_timeout);
                let path = url.sqlite_path();
                if let Some(dir) = path.as_deref().and_then(std::path::Path::parent)
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| StoreError::Connect(format!("cannot create {}: {e}", dir.display())))?;
                }
                if let Some(path) = path.as_deref() {
                    owner_only(path)?;
                }
                let pool = SqlitePoolOptions::new()
                    .max_connections(options.max_connections.unwrap_or(4))
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(opts)
                    .await
                    .map_err(connect_error)?;
                Backend::Sqlite(pool)
            }
            #[cfg(not(feature = "postgres"))]
            DatabaseKind::Postgres => {
                return Err(StoreError::Connect(
                    "this build has no PostgreSQL support; build Synkro with the `postgres` feature, or use a \
                     sqlite: URL"
                        .to_owned(),
                ));
            }
            #[cfg(feature = "postgres")]
            DatabaseKind::Postgres => {
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections.unwrap_or(8))
                    .acquire_timeout(options.acquire_timeout)
                    .connect(url.expose())
                    .await
                    .map_err(connect_error)?;
                Backend::Postgres(pool)
            }
        };
        Ok(Self { backend })
    }

    /// Wraps an existing SQLite pool (it must enforce foreign keys).
    pub fn from_sqlite_pool(pool: SqlitePool) -> Self {
        Self { backend: Backend::Sqlite(pool) }
    }

    /// Wraps an existing PostgreSQL pool.
    #[cfg(feature = "postgres")]
    pub fn from_postgres_pool(pool: PgPool) -> Self {
        Self { backend: Backend::Postgres(pool) }
    }

    /// Which engine this store runs on.
    pub fn kind(&self) -> DatabaseKind {
        match self.backend {
            Backend::Sqlite(_) => DatabaseKind::Sqlite,
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => DatabaseKind::Postgres,
        }
    }

    pub(crate) fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite(_) => &SQLITE_MIGRATIONS,
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies every pending migration; safe to call on every start and from several nodes.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = self.migrator();
        on_pool!(self, |pool| migrator.run(pool).await).map_err(|e| StoreError::Migrate(e.to_string()))?;
        self.ensure_runtime_configs().await?;
        Ok(())
    }

    /// Whether every migration this build knows has been applied.
    pub async fn migrations_current(&self) -> Result<bool, StoreError> {
        let latest = self.migrator().iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<i64> = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success").fetch_one(pool).await
        })
        .map_err(error::map)?;
        Ok(applied.unwrap_or(0) >= latest)
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(|_| ())).map_err(error::map)?;
        Ok(())
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}

#[cfg(all(test, unix))]
mod file_mode_tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).map(|m| m.permissions().mode() & 0o777).unwrap_or_default()
    }

    #[tokio::test]
    async fn the_sqlite_database_and_its_wal_are_for_the_owner_only() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("synkro.db");
        let url = DatabaseUrl::parse(&format!("sqlite://{}?mode=rwc", db.display())).expect("a url");
        let store = Store::connect_with(&url, StoreOptions::default()).await.expect("opens");
        store.migrate().await.expect("migrates");
        let wal = dir.path().join("synkro.db-wal");
        assert_eq!(mode(&db), 0o600, "the database");
        assert!(wal.exists(), "WAL mode writes a WAL");
        assert_eq!(mode(&wal), 0o600, "the WAL");
        store.close().await;

        // A database left readable by others is tightened when opened.
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let store = Store::connect_with(&url, StoreOptions::default()).await.expect("opens");
        assert_eq!(mode(&db), 0o600);
        store.close().await;
    }
}

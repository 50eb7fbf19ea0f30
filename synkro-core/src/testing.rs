//! Test stores for Synkro's own suites and for embedders' tests (feature `testing`): a fresh
//! SQLite file per test, and a fresh PostgreSQL schema per test when SYNKRO_TEST_DATABASE_URL
//! is set, so tests run in parallel without seeing each other.

#![allow(clippy::unwrap_used)]

use std::io::Write;
#[cfg(feature = "postgres")]
use std::str::FromStr;

#[cfg(feature = "postgres")]
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::Store;

/// A migrated store plus whatever must be cleaned up after it.
pub struct TestStore {
    /// The store.
    pub store: Store,
    // Kept for its drop (the SQLite directory) and, with PostgreSQL, read by `finish`.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(unused)] tempfile::TempDir),
    #[cfg(feature = "postgres")]
    Postgres {
        admin_url: String,
        schema: String,
    },
}

impl std::ops::Deref for TestStore {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

impl TestStore {
    /// Closes the store and drops its schema (PostgreSQL) or directory (SQLite).
    pub async fn finish(self) {
        self.store.close().await;
        #[cfg(feature = "postgres")]
        if let Cleanup::Postgres { admin_url, schema } = self.cleanup {
            let pool = PgPoolOptions::new().max_connections(1).connect(&admin_url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE"))).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// A migrated SQLite store in a temporary directory (a real file, WAL mode).
pub async fn sqlite() -> TestStore {
    sqlite_at(None).await
}

async fn sqlite_at(version: Option<i64>) -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/synkro.db?mode=rwc", dir.path().display());
    let store = Store::connect(&url).await.unwrap();
    migrate(&store, version).await;
    TestStore { store, cleanup: Cleanup::Sqlite(dir) }
}

/// Applies every migration, or those up to `version`.
async fn migrate(store: &Store, version: Option<i64>) {
    match version {
        None => store.migrate().await.unwrap(),
        Some(version) => {
            let migrator = store.migrator();
            crate::store::on_pool!(store, |pool| migrator.run_to(version, pool).await).unwrap();
        }
    }
}

/// A store on `kind` with the migrations up to `version` only, to test a later migration on
/// the data an older release wrote; `None` when PostgreSQL is not configured.
pub async fn store_at(kind: &str, test: &str, version: i64) -> Option<TestStore> {
    match kind {
        "sqlite" => Some(sqlite_at(Some(version)).await),
        _ => postgres_at(test, Some(version)).await,
    }
}

/// A migrated PostgreSQL store in a schema of its own, or `None` (after saying so, past the
/// test harness's capture) when SYNKRO_TEST_DATABASE_URL is not set. With
/// SYNKRO_TEST_REQUIRE_SERVICES=1 a missing URL is a failure instead, so CI cannot pass by
/// skipping.
pub async fn postgres(test: &str) -> Option<TestStore> {
    #[cfg(not(feature = "postgres"))]
    {
        assert!(
            std::env::var("SYNKRO_TEST_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "SYNKRO_TEST_REQUIRE_SERVICES=1 but this build has no PostgreSQL support (feature `postgres`)"
        );
        let _ = writeln!(std::io::stderr(), "skipped: postgres::{test} (built without the `postgres` feature)");
        None
    }
    #[cfg(feature = "postgres")]
    postgres_at(test, None).await
}

#[cfg(not(feature = "postgres"))]
async fn postgres_at(test: &str, _version: Option<i64>) -> Option<TestStore> {
    postgres(test).await
}

#[cfg(feature = "postgres")]
async fn postgres_at(test: &str, version: Option<i64>) -> Option<TestStore> {
    let Some(admin_url) = std::env::var("SYNKRO_TEST_DATABASE_URL").ok().filter(|v| !v.is_empty()) else {
        assert!(
            std::env::var("SYNKRO_TEST_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "SYNKRO_TEST_REQUIRE_SERVICES=1 but SYNKRO_TEST_DATABASE_URL is not set"
        );
        let _ = writeln!(std::io::stderr(), "skipped: postgres::{test} (set SYNKRO_TEST_DATABASE_URL to run it)");
        return None;
    };
    let schema = format!("synkro_test_{}", uuid::Uuid::new_v4().simple());
    let admin = PgPoolOptions::new().max_connections(1).connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\""))).execute(&admin).await.unwrap();
    admin.close().await;
    let options = PgConnectOptions::from_str(&admin_url).unwrap().options([("search_path", schema.as_str())]);
    let pool = PgPoolOptions::new().max_connections(8).connect_with(options).await.unwrap();
    let store = Store::from_postgres_pool(pool);
    migrate(&store, version).await;
    Some(TestStore { store, cleanup: Cleanup::Postgres { admin_url, schema } })
}

/// A migrated store on `kind` (`"sqlite"` or `"postgres"`); `None` when PostgreSQL is not
/// configured.
pub async fn store(kind: &str, test: &str) -> Option<TestStore> {
    match kind {
        "sqlite" => Some(sqlite().await),
        _ => postgres(test).await,
    }
}

/// Moves `tenant`'s [`schedule_from`](crate::domain::TenantRuntimeConfig::schedule_from) to
/// `at`, as if its schedule had been in effect since then (a long-standing tenant), for tests of
/// the scheduler's catch-up.
pub async fn backdate_schedule(store: &Store, tenant: crate::ids::TenantId, at: crate::time::Timestamp) {
    const SQL: &str = "UPDATE tenant_runtime_configs SET schedule_from = $2 WHERE tenant_id = $1";
    crate::store::on_pool!(store, |pool| sqlx::query(SQL).bind(tenant).bind(at).execute(pool).await.map(|_| ()))
        .unwrap();
}

/// Declares each listed `async fn case(fixture: &F)` as a test on SQLite (module `sqlite`) and
/// on PostgreSQL (module `postgres`). `start` is an `async fn(kind, test) -> Option<F>` (`kind`
/// is `"sqlite"` or `"postgres"`; `None` skips the test) whose `F` has an `async fn finish(self)`;
/// without it the fixture is a migrated [`store`], which cases take as `&Store`.
///
/// ```ignore
/// synkro_core::on_both_backends!(tenants_round_trip);
/// async fn tenants_round_trip(store: &synkro_core::Store) { /* ... */ }
/// ```
#[macro_export]
macro_rules! on_both_backends {
    (start = $start:path; $($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fixture = $start("sqlite", stringify!($case)).await.expect("SQLite always runs");
                    super::$case(&fixture).await;
                    fixture.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(fixture) = $start("postgres", stringify!($case)).await else { return };
                    super::$case(&fixture).await;
                    fixture.finish().await;
                }
            )*
        }
    };
    ($($case:ident),* $(,)?) => {
        $crate::on_both_backends!(start = $crate::testing::store; $($case),*);
    };
}

//! Test backends: a fresh SQLite file per test, and (when SYNKRO_TEST_DATABASE_URL is set) a
//! fresh PostgreSQL schema per test, so tests run in parallel without seeing each other.

#![allow(dead_code, clippy::unwrap_used)]

pub use synkro::testing::{postgres, sqlite};

/// Declares each listed `async fn name(store: &Store)` as a test on SQLite (module `sqlite`)
/// and on PostgreSQL (module `postgres`).
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = $crate::support::sqlite().await;
                    super::$case(&backend.store).await;
                    backend.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(backend) = $crate::support::postgres(stringify!($case)).await else { return };
                    super::$case(&backend.store).await;
                    backend.finish().await;
                }
            )*
        }
    };
}

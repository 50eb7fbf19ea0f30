//! Synkro's core: the domain model, storage on SQLite and PostgreSQL, encrypted secrets and
//! configuration.
//!
//! Everything here is usable without the HTTP server: open a [`Store`], apply its migrations,
//! and read or write tenants, jobs and reports from Rust.
//!
//! Features: `store` (default) is the [`Store`] on SQLite and the start-up helpers
//! ([`bootstrap`]); `postgres` adds PostgreSQL to it; `testing` gives test stores. Without
//! `store` the crate is the domain model, secrets, configuration and the connector API
//! ([`connector`]) alone, with no database driver: what a connector crate depends on.
//!
//! ```no_run
//! # #[cfg(feature = "store")]
//! # async fn demo() -> Result<(), synkro_core::Error> {
//! use synkro_core::{Store, domain::NewTenant};
//!
//! let store = Store::connect("sqlite://synkro.db?mode=rwc").await?;
//! store.migrate().await?;
//! let tenant = store.create_tenant(&NewTenant::new("Acme", "acme", "Europe/Berlin")?).await?;
//! println!("created {}", tenant.slug);
//! # Ok(()) }
//! ```

#[cfg(feature = "store")]
pub mod bootstrap;
pub mod config;
pub mod connector;
pub mod domain;
pub mod error;
pub mod ids;
pub mod secrets;
#[cfg(feature = "store")]
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;

pub use config::Config;
pub use error::{Error, Result, ValidationError};
pub use secrets::{Keyring, Secret};
#[cfg(feature = "store")]
pub use store::{Page, PageRequest, Store, StoreError};

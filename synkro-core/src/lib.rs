//! Synkro's core: the domain model, storage on SQLite and PostgreSQL, encrypted secrets and
//! configuration.
//!
//! Everything here is usable without the HTTP server: open a [`Store`], apply its migrations,
//! and read or write tenants, jobs and reports from Rust.
//!
//! ```no_run
//! # async fn demo() -> Result<(), synkro_core::Error> {
//! use synkro_core::{Store, domain::NewTenant};
//!
//! let store = Store::connect("sqlite://synkro.db?mode=rwc").await?;
//! store.migrate().await?;
//! let tenant = store.create_tenant(&NewTenant::new("Acme", "acme", "Europe/Berlin")?).await?;
//! println!("created {}", tenant.slug);
//! # Ok(()) }
//! ```

pub mod bootstrap;
pub mod config;
pub mod connector;
pub mod domain;
pub mod error;
pub mod ids;
pub mod secrets;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;

pub use config::Config;
pub use error::{Error, Result, ValidationError};
pub use secrets::{Keyring, Secret};
pub use store::{Page, PageRequest, Store, StoreError};

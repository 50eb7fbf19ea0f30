//! Synkro's report pipeline and job engine.
//!
//! - [`Service`]: the handle everything else holds — enqueue reports and follow their progress,
//!   save and check integrations, ask follow-up questions, read and change runtime settings.
//! - [`Workers`]: a pool started from the service that runs jobs on durable workers (leases,
//!   retries, stop), the scheduler and Telegram follow-ups; with Redis (feature `redis`), any
//!   number of `synkro worker` processes share the work.
//! - The report run itself, step by step as DESIGN.md section 7 describes ([`report`]).
//! - Deliveries that never vanish: sent once, retried when a retry can fix them, re-sent only
//!   when a person asks ([`delivery`]).
//! - [`scheduler`]: one job per tenant and window, caught up after downtime.
//! - [`followup`]: follow-up questions on the web and in Telegram; [`telegram`]: chats that
//!   moved, and tenants grouped by the bot they share.
//! - Pure building blocks: business-day [`window`]s, the deal/dialog [`merge`], the
//!   [`summary`], the AI texts ([`ai_text`]).
//!
//! Library use needs no HTTP server and no global state:
//!
//! ```no_run
//! # async fn demo(store: synkro_core::Store, keyring: synkro_core::Keyring, tenant: synkro_core::ids::TenantId)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use synkro_pipeline::{ReportRequest, Service, WorkerConfig, Workers};
//!
//! let service = Service::builder(store, synkro_core::connector::Registry::from_linked()?, keyring).build().await?;
//! let workers = Workers::new(&service, WorkerConfig::default());
//! workers.start().await;
//! let mut progress = service.subscribe();
//! let job = service.enqueue_report(ReportRequest::manual(tenant)).await?;
//! let done = service.wait(job.id).await?;
//! println!("{}: {:?}", done.id, done.status);
//! # let _ = progress.try_recv();
//! # Ok(()) }
//! ```

pub mod ai_text;
pub mod alerts;
pub mod analytics;
pub mod delivery;
pub mod error;
pub mod events;
pub mod export;
pub mod followup;
pub mod merge;
#[cfg(feature = "redis")]
pub mod redis;
pub mod report;
pub mod scheduler;
pub mod service;
pub mod settings;
pub mod summary;
pub mod telegram;
pub mod window;
pub mod wiring;
mod words;
pub mod workers;

pub use error::{EngineError, JobFailure};
pub use events::{EventHub, JobUpdate};
pub use service::{ReportRequest, Service, ServiceBuilder, WorkerStats};
pub use workers::{WorkerConfig, Workers};

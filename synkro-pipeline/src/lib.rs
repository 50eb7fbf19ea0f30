//! Synkro's report pipeline and job engine.
//!
//! This crate will hold report runs (windows, steps, the amoCRM/Radist merge, summary, AI text,
//! delivery), the durable job engine (leases, retries, scheduler) and follow-ups. It depends on
//! `synkro-core` and the bundled connectors; see ARCHITECTURE.md for the dependency direction.

pub use synkro_connectors as connectors;
pub use synkro_core as core;

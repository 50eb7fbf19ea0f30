//! Synkro's HTTP layer: the JSON API under `/api/v1`, authentication and the web dashboard.
//!
//! It holds no business rules: handlers call the pipeline and the store. See ARCHITECTURE.md.

pub use synkro_pipeline as pipeline;

//! Synkro turns a company's sales conversations into a daily management report.
//!
//! This facade re-exports the workspace's crates so an embedding service needs one dependency:
//! everything in [`synkro_core`] is available at the top level (`synkro::Store`,
//! `synkro::domain::Tenant`, ...), and the pipeline and HTTP crates as [`pipeline`] and [`http`].

// Links the bundled connectors, so `connector::Registry::from_linked()` lists them.
use synkro_connectors as _;
pub use synkro_core::*;
pub use synkro_http as http;
pub use synkro_pipeline as pipeline;
#[cfg(feature = "sandbox")]
pub use synkro_sandbox as sandbox;

#[cfg(feature = "cli")]
pub mod cli;

/// The README's Rust snippets, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

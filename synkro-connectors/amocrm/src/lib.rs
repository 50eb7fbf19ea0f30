//! The amoCRM connector: a read-only CRM source.
//!
//! It reads pipelines (stage names), leads updated inside a window with their contacts (in
//! batches by id, never one request per contact), contact phones (normalised), and the users
//! map where the token may read users. Every request goes through a
//! [`ReadOnlyClient`](synkro_connector_kit::ReadOnlyClient), so nothing but GET can reach the
//! amoCRM API; the one other request, the OAuth token refresh, goes to the token endpoint
//! through a type that can do nothing else.
//!
//! Authentication: a long-lived token, or an OAuth access + refresh pair that is refreshed
//! before it expires or on the first 401, one refresh at a time per integration, with the new
//! pair handed to the host's [`TokenSink`](synkro_core::connector::TokenSink) before use.

mod client;
mod config;
mod connector;
mod model;
mod source;

use std::sync::Arc;

pub use config::{AmoConfig, AmoSettings, Auth, parse_domain};
pub use connector::AmoCrmConnector;

inventory::submit! {
    synkro_core::connector::Registration::new(|| Arc::new(AmoCrmConnector))
}

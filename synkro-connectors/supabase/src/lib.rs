//! The Supabase connector: the tenant's own warehouse of deal rows and report archive, over
//! PostgREST.
//!
//! Deal rows are upserted in batches of at most 500 with `on_conflict=tenant_id,deal_id` and
//! `Prefer: resolution=merge-duplicates`, so re-running a window never duplicates a deal.
//! Reading a window pages with `limit`/`offset` until the data runs out, never trusting one
//! response (Supabase silently caps responses, at 1,000 rows by default). Reports are archived
//! with their own `source_report_id`, so several reports a day stay distinct.
//!
//! Keys: legacy JWT keys (`eyJ…`) go in `apikey` and `Authorization: Bearer`; new secret keys
//! (`sb_secret_…`) in `apikey` only.

mod config;
mod connector;
mod rest;

use std::sync::Arc;

pub use config::{SupabaseConfig, SupabaseSettings};
pub use connector::SupabaseConnector;
pub use rest::{MAX_PAGE_ROWS, UPSERT_BATCH};

inventory::submit! {
    synkro_core::connector::Registration::new(|| Arc::new(SupabaseConnector))
}

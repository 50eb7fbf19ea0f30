//! Reads 20,000 leads with their contacts from the sandbox at amoCRM's real limit of 7
//! requests per second per account, with no added latency and with 150 ms per response.
//! Reports requests made, 429s received (must be 0), the achieved request rate as a fraction
//! of the limit (target ≥ 0.97), and the request count of the original one-request-per-contact
//! approach on the same data.
//!
//! `cargo bench --bench amocrm_read` (about a minute); `SYNKRO_BENCH_DEALS=2000` for a
//! shorter run. Figures in docs/benchmarks.md.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use futures::TryStreamExt;
use serde_json::json;
use synkro::connector::{Connector, ConnectorConfig, ConnectorContext};
use synkro::domain::Window;
use synkro::secrets::SecretMap;
use synkro_connector_amocrm::AmoCrmConnector;
use synkro_sandbox::{Sandbox, SandboxConfig, Service};

struct Run {
    latency_ms: u64,
    deals: usize,
    requests: u64,
    rejected: u64,
    elapsed: Duration,
    original_requests: u64,
}

async fn run(deals: usize, latency: Duration) -> Run {
    let sandbox = Sandbox::start(SandboxConfig { deals, latency, ..Default::default() }).await;
    let creds = sandbox.credentials();
    let secrets: SecretMap =
        [("long_lived_token".to_owned(), creds.amocrm_long_lived_token.clone().into())].into_iter().collect();
    let config = ConnectorConfig::new(json!({"domain": creds.amocrm_subdomain, "max_pages": 1000}), secrets);
    let ctx = ConnectorContext::default()
        .with_endpoint("amocrm", sandbox.url(Service::Amocrm))
        .with_outbound(synkro::connector::OutboundPolicy::loopback());
    let crm = AmoCrmConnector.build(&config, &ctx).unwrap().crm.unwrap();
    let window = Window::new(sandbox.config().window_start, sandbox.config().window_end()).unwrap();

    let started = Instant::now();
    let batches: Vec<_> = crm.deals(window).try_collect().await.unwrap();
    let elapsed = started.elapsed();
    let read: Vec<_> = batches.into_iter().flat_map(|b| b.items).collect();
    let expected = sandbox.data().leads_updated_in(window.start(), window.end());
    assert_eq!(read.len(), expected.len(), "every lead of the window was read");

    // The original: pipelines, then every lead page, then one GET per contact of every lead.
    let lead_pages = read.len().div_ceil(250) as u64;
    let contact_refs: u64 = read.iter().map(|d| d.contacts.len() as u64).sum();
    let unique: HashSet<i64> = read.iter().flat_map(|d| d.contacts.iter().map(|c| c.id)).collect();
    assert!(unique.len() as u64 <= contact_refs);
    Run {
        latency_ms: latency.as_millis() as u64,
        deals: read.len(),
        requests: sandbox.request_count(Service::Amocrm),
        rejected: sandbox.rate_limited_count(Service::Amocrm),
        elapsed,
        original_requests: 1 + lead_pages + contact_refs,
    }
}

fn main() {
    let deals = std::env::var("SYNKRO_BENCH_DEALS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    println!(
        "| added latency | deals in window | requests | 429s | wall time | rate ÷ 7/s | original requests | ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for latency in [Duration::ZERO, Duration::from_millis(150)] {
        let r = rt.block_on(run(deals, latency));
        let fraction = r.requests as f64 / r.elapsed.as_secs_f64() / 7.0;
        println!(
            "| {} ms | {} | {} | {} | {:.1} s | {:.3} | {} | {:.1}× fewer |",
            r.latency_ms,
            r.deals,
            r.requests,
            r.rejected,
            r.elapsed.as_secs_f64(),
            fraction,
            r.original_requests,
            r.original_requests as f64 / r.requests as f64
        );
        assert_eq!(r.rejected, 0, "no request may be refused with 429");
    }
}

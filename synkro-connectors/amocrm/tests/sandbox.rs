//! The amoCRM connector against the sandbox's fake amoCRM: complete reads at the real rate
//! limit, faults survived without losing data, OAuth rotation — and, after every test, proof
//! that nothing but GET ever reached the amoCRM API.

#![allow(clippy::unwrap_used)]

use std::{
    collections::{BTreeSet, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use futures::TryStreamExt;
use serde_json::json;
use synkro_connector_amocrm::AmoCrmConnector;
use synkro_core::{
    Secret,
    connector::{Connector, ConnectorConfig, ConnectorContext, ConnectorError, Deal, TokenSink, run_check},
    domain::Window,
    secrets::SecretMap,
    time::Timestamp,
};
use synkro_sandbox::{Fault, Sandbox, SandboxConfig, Service};

fn ctx(sandbox: &Sandbox) -> ConnectorContext {
    let mut ctx = ConnectorContext::default()
        .with_endpoint("amocrm", sandbox.url(Service::Amocrm))
        .with_endpoint("amocrm_oauth", sandbox.url(Service::AmocrmOauth))
        .with_outbound(synkro_core::connector::OutboundPolicy::loopback());
    ctx.http.backoff_base = Duration::from_millis(20);
    ctx
}

fn long_lived(sandbox: &Sandbox) -> ConnectorConfig {
    let creds = sandbox.credentials();
    let secrets: SecretMap =
        [("long_lived_token".to_owned(), Secret::new(creds.amocrm_long_lived_token.clone()))].into_iter().collect();
    ConnectorConfig::new(json!({"domain": creds.amocrm_subdomain}), secrets)
}

fn window(sandbox: &Sandbox) -> Window {
    Window::new(sandbox.config().window_start, sandbox.config().window_end()).unwrap()
}

async fn read(sandbox: &Sandbox, config: &ConnectorConfig, ctx: &ConnectorContext, window: Window) -> Vec<Deal> {
    let crm = AmoCrmConnector.build(config, ctx).unwrap().crm.unwrap();
    let batches: Vec<_> = crm.deals(window).try_collect().await.unwrap();
    let _ = sandbox;
    batches.into_iter().flat_map(|b| b.items).collect()
}

/// The suite-wide rule: the fake amoCRM API saw GET and nothing else.
fn assert_only_get(sandbox: &Sandbox) {
    let methods = sandbox.methods_seen(Service::Amocrm);
    assert_eq!(methods, BTreeSet::from(["GET".to_owned()]), "only GET may ever reach amoCRM");
}

/// Checks `deals` against the sandbox's truth for `window`.
fn assert_matches_truth(sandbox: &Sandbox, deals: &[Deal], window: Window) {
    let data = sandbox.data();
    let expected: HashSet<i64> = data.leads_updated_in(window.start(), window.end()).iter().map(|l| l.id).collect();
    let got: HashSet<i64> = deals.iter().map(|d| d.id).collect();
    assert_eq!(got.len(), deals.len(), "no deal twice");
    assert_eq!(got, expected, "exactly the leads updated inside the window");
    for deal in deals {
        let lead = data.lead(deal.id).unwrap();
        let stage = data.status(lead.pipeline_id, lead.status_id).unwrap();
        assert_eq!(deal.status.as_deref(), Some(stage.name.as_str()), "stage name of {}", deal.id);
        assert_eq!(deal.responsible.as_deref(), Some(data.user(lead.responsible_user_id).unwrap().name.as_str()));
        let ids: Vec<i64> = lead.contacts.iter().map(|c| c.id).collect();
        assert_eq!(deal.contacts.iter().map(|c| c.id).collect::<Vec<_>>(), ids, "contacts of {}", deal.id);
        for contact in &deal.contacts {
            assert_eq!(contact.phones, data.contact(contact.id).unwrap().phones, "phones of contact {}", contact.id);
        }
    }
}

#[tokio::test]
async fn a_multi_page_window_is_read_completely_at_the_real_rate_limit() {
    let sandbox = Sandbox::start(SandboxConfig { deals: 700, ..Default::default() }).await;
    let window = window(&sandbox);
    let deals = read(&sandbox, &long_lived(&sandbox), &ctx(&sandbox), window).await;
    assert!(deals.len() > 500, "the window spans several pages: {}", deals.len());
    assert_matches_truth(&sandbox, &deals, window);
    assert_eq!(sandbox.rate_limited_count(Service::Amocrm), 0, "paced under 7 requests/s: no 429");

    let requests = sandbox.requests(Service::Amocrm);
    let contact_requests = requests.iter().filter(|r| r.path == "/api/v4/contacts").count();
    let lead_pages = requests.iter().filter(|r| r.path == "/api/v4/leads").count();
    assert!(contact_requests <= 2 * lead_pages, "contacts come in batches: {contact_requests} for {lead_pages} pages");
    let contact_refs: usize = deals.iter().map(|d| d.contacts.len()).sum();
    assert!(contact_requests * 50 < contact_refs, "far fewer requests than contacts");
    assert_only_get(&sandbox);
}

#[tokio::test]
async fn rate_limits_server_errors_resets_and_malformed_bodies_lose_nothing() {
    let sandbox = Sandbox::start(SandboxConfig { deals: 300, ..Default::default() }).await;
    sandbox.inject(Service::Amocrm, "/api/v4/leads", Fault::RateLimited, 3);
    sandbox.inject(Service::Amocrm, "/api/v4/contacts", Fault::Status(500), 2);
    sandbox.inject(Service::Amocrm, "/api/v4/contacts", Fault::Reset, 1);
    sandbox.inject(Service::Amocrm, "/api/v4/leads/pipelines", Fault::Malformed, 1);
    sandbox.inject(Service::Amocrm, "/api/v4/users", Fault::Slow(Duration::from_millis(300)), 1);
    let ctx = ctx(&sandbox);
    let window = window(&sandbox);
    let deals = read(&sandbox, &long_lived(&sandbox), &ctx, window).await;
    assert_matches_truth(&sandbox, &deals, window);
    let counters = ctx.metrics.get("amocrm");
    assert!(counters.rate_limited >= 3 && counters.retries >= 7, "{counters:?}");
    assert_eq!(counters.failures, 0);
    assert_only_get(&sandbox);
}

#[tokio::test]
async fn a_persistent_outage_ends_in_a_retryable_upstream_error() {
    let sandbox = Sandbox::start(SandboxConfig { deals: 20, ..Default::default() }).await;
    sandbox.inject(Service::Amocrm, "/api/v4/leads", Fault::Status(502), 100);
    let mut ctx = ctx(&sandbox);
    ctx.http.max_attempts = 3;
    let crm = AmoCrmConnector.build(&long_lived(&sandbox), &ctx).unwrap().crm.unwrap();
    let err = crm.deals(window(&sandbox)).try_collect::<Vec<_>>().await.unwrap_err();
    assert_eq!((err.class.as_str(), err.retryable), ("upstream", true));
    assert!(err.message.contains("502"), "{err}");
    assert_only_get(&sandbox);
}

#[tokio::test]
async fn an_empty_window_reads_no_deals_and_asks_for_no_contacts() {
    let sandbox = Sandbox::start(SandboxConfig { deals: 50, ..Default::default() }).await;
    let long_ago =
        Window::new(Timestamp::from_unix_seconds(1_000_000).unwrap(), Timestamp::from_unix_seconds(1_086_400).unwrap())
            .unwrap();
    let deals = read(&sandbox, &long_lived(&sandbox), &ctx(&sandbox), long_ago).await;
    assert!(deals.is_empty());
    assert!(sandbox.requests(Service::Amocrm).iter().all(|r| r.path != "/api/v4/contacts"));
    assert_only_get(&sandbox);
}

#[tokio::test]
async fn a_bad_token_and_a_forbidden_users_list() {
    let sandbox = Sandbox::start(SandboxConfig { deals: 30, ..Default::default() }).await;
    let secrets: SecretMap =
        [("long_lived_token".to_owned(), Secret::new("eyJ-not-a-real-token"))].into_iter().collect();
    let bad = ConnectorConfig::new(json!({"domain": "acme"}), secrets);
    let report = run_check(&AmoCrmConnector, &bad, &ctx(&sandbox)).await;
    assert_eq!(report.class.map(|c| c.as_str()), Some("auth"));
    assert!(!serde_json::to_string(&report).unwrap().contains("eyJ-not-a-real-token"));

    let ok = run_check(&AmoCrmConnector, &long_lived(&sandbox), &ctx(&sandbox)).await;
    assert!(ok.ok, "{ok:?}");
    assert_eq!(ok.details["subdomain"], "acme");

    sandbox.forbid_amocrm_users(true);
    let deals = read(&sandbox, &long_lived(&sandbox), &ctx(&sandbox), window(&sandbox)).await;
    assert!(!deals.is_empty());
    assert!(deals.iter().all(|d| d.responsible.is_none() && d.responsible_user_id.is_some()), "managers stay as ids");
    assert_only_get(&sandbox);
}

#[derive(Default)]
struct Store(Mutex<Vec<SecretMap>>);

#[async_trait]
impl TokenSink for Store {
    async fn store(&self, secrets: &SecretMap) -> Result<(), ConnectorError> {
        self.0.lock().unwrap().push(secrets.clone());
        Ok(())
    }
    async fn latest(&self) -> Result<Option<SecretMap>, ConnectorError> {
        Ok(self.0.lock().unwrap().last().cloned())
    }
}

#[tokio::test]
async fn oauth_tokens_rotate_on_401_and_the_api_still_only_sees_get() {
    let sandbox = Sandbox::start(SandboxConfig { deals: 30, ..Default::default() }).await;
    let creds = sandbox.credentials();
    let secrets: SecretMap = [
        ("access_token", creds.amocrm_access_token.as_str()),
        ("refresh_token", creds.amocrm_refresh_token.as_str()),
        ("client_secret", creds.amocrm_client_secret.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Secret::new(v)))
    .collect();
    let config = ConnectorConfig::new(
        json!({"domain": "acme", "client_id": creds.amocrm_client_id, "redirect_uri": creds.amocrm_redirect_uri}),
        secrets,
    );
    let sink = Arc::new(Store::default());
    let ctx = ctx(&sandbox).with_tokens(sink.clone());
    assert!(run_check(&AmoCrmConnector, &config, &ctx).await.ok);

    sandbox.expire_amocrm_access_tokens();
    let deals = read(&sandbox, &config, &ctx, window(&sandbox)).await;
    assert_matches_truth(&sandbox, &deals, window(&sandbox));
    let stored = sink.0.lock().unwrap().clone();
    assert_eq!(stored.len(), 1, "one refresh for the whole read");
    assert_ne!(stored[0].get("refresh_token").unwrap().expose(), creds.amocrm_refresh_token, "the pair rotated");
    assert_eq!(sandbox.methods_seen(Service::AmocrmOauth), BTreeSet::from(["POST".to_owned()]));
    assert_only_get(&sandbox);
}

#[tokio::test]
async fn stage_and_manager_names_are_reused_between_reports_of_one_account() {
    let sandbox = Sandbox::start(SandboxConfig { deals: 30, ..Default::default() }).await;
    let ctx = ctx(&sandbox);
    let first = read(&sandbox, &long_lived(&sandbox), &ctx, window(&sandbox)).await;
    sandbox.reset_counters();
    let second = read(&sandbox, &long_lived(&sandbox), &ctx, window(&sandbox)).await;
    assert_eq!(first, second);
    let paths: Vec<_> = sandbox.requests(Service::Amocrm).into_iter().map(|r| r.path).collect();
    assert!(!paths.iter().any(|p| p == "/api/v4/leads/pipelines" || p == "/api/v4/users"), "{paths:?}");
    assert_only_get(&sandbox);
}

//! The credential check against the sandbox: what it sends with each key kind, and how bad
//! keys, missing tables, server errors, malformed bodies and rate limits come back.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{assert_redacted, assert_report_redacted, config, deal, legacy, sandbox, warehouse};
use serde_json::json;
use synkro_connector_supabase::SupabaseConnector;
use synkro_core::connector::{Connector, FailureClass, run_check};
use synkro_sandbox::{Fault, Service};

#[tokio::test]
async fn check_with_a_legacy_jwt_sends_apikey_and_bearer_and_selects_one_key_column() {
    let (sandbox, ctx) = sandbox().await;
    let key = sandbox.credentials().supabase_service_key.clone();
    assert!(key.starts_with("eyJ"));
    let report = run_check(&SupabaseConnector, &legacy(&sandbox), &ctx).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(
        report.details,
        json!({"table": "deals", "readable": true, "has_rows": false, "key_kind": "legacy_jwt"})
    );
    let requests = sandbox.requests(Service::Supabase);
    assert_eq!(requests.len(), 1, "one read proves key, table and grants");
    let r = &requests[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/rest/v1/deals"), "never the REST root");
    assert_eq!(r.query, [("select".to_owned(), "deal_id".to_owned()), ("limit".to_owned(), "1".to_owned())]);
    assert_eq!(r.header("apikey"), Some(key.as_str()));
    assert_eq!(r.header("authorization"), Some(format!("Bearer {key}").as_str()));
    assert_eq!(r.body, None, "a check writes nothing");
}

#[tokio::test]
async fn check_with_a_secret_key_sends_apikey_only_and_sees_existing_rows() {
    let (sandbox, ctx) = sandbox().await;
    let key = sandbox.credentials().supabase_secret_key.clone();
    assert!(key.starts_with("sb_secret_"));
    let config = config(&key, json!({}));
    warehouse(&config, &ctx).upsert_deals(&[deal("acme", 1, None, None)]).await.unwrap();
    sandbox.reset_counters();

    let details = SupabaseConnector.check(&config, &ctx).await.unwrap();
    assert_eq!(details, json!({"table": "deals", "readable": true, "has_rows": true, "key_kind": "secret_key"}));
    let requests = sandbox.requests(Service::Supabase);
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/rest/v1/deals"));
    assert_eq!((r.query_value("select"), r.query_value("limit")), (Some("deal_id"), Some("1")));
    assert_eq!(r.header("apikey"), Some(key.as_str()));
    assert_eq!(r.header("authorization"), None, "an sb_secret_ key is not a JWT: no Bearer header");
    assert!(
        !details.to_string().contains(&key) && !details.to_string().contains("sb_secret_"),
        "no secret in the details"
    );
}

#[tokio::test]
async fn a_wrong_key_of_either_kind_is_an_auth_failure_that_is_not_retried_and_never_shown() {
    let (sandbox, ctx) = sandbox().await;
    for wrong in
        ["eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.not-the-signature", "sb_secret_wrongwrongwrong42"]
    {
        sandbox.reset_counters();
        let err = SupabaseConnector.check(&config(wrong, json!({})), &ctx).await.unwrap_err();
        assert_eq!((err.class, err.retryable, err.status), (FailureClass::Auth, false, Some(401)), "{err:?}");
        assert!(err.message.ends_with("HTTP 401"), "the status, not the gateway's words: {}", err.message);
        assert!(err.hint.as_deref().unwrap().contains("key"), "{err:?}");
        assert_redacted(&err, wrong);
        assert_eq!(sandbox.request_count(Service::Supabase), 1, "no retry can fix a wrong key");

        let report = run_check(&SupabaseConnector, &config(wrong, json!({})), &ctx).await;
        assert_eq!((report.ok, report.class, report.retryable), (false, Some(FailureClass::Auth), false));
        assert_report_redacted(&report, wrong);
    }
}

#[tokio::test]
async fn a_deals_table_that_does_not_exist_is_a_config_failure_with_a_hint() {
    let (sandbox, ctx) = sandbox().await;
    let key = sandbox.credentials().supabase_secret_key.clone();
    let config = config(&key, json!({"deals_table": "deals_2024"}));
    let err = SupabaseConnector.check(&config, &ctx).await.unwrap_err();
    assert_eq!((err.class, err.retryable, err.status), (FailureClass::Config, false, Some(404)), "{err:?}");
    assert!(err.message.contains("deals_2024"), "the message names the table: {}", err.message);
    assert!(err.hint.as_deref().unwrap().contains("table"), "{err:?}");
    let requests = sandbox.requests(Service::Supabase);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/rest/v1/deals_2024", "the configured table is the one checked");
}

#[tokio::test]
async fn a_table_name_that_is_not_plain_is_refused_before_anything_is_sent() {
    let (sandbox, ctx) = sandbox().await;
    let key = sandbox.credentials().supabase_secret_key.clone();
    for bad in ["deals?select=*", "public.deals", "9deals", "deals/../x"] {
        let err = SupabaseConnector.check(&config(&key, json!({"deals_table": bad})), &ctx).await.unwrap_err();
        assert_eq!(err.class, FailureClass::Config, "{bad}");
        assert!(err.message.starts_with("deals_table"), "the field is named: {}", err.message);
    }
    assert_eq!(sandbox.request_count(Service::Supabase), 0);
}

#[tokio::test]
async fn server_errors_are_retried_and_persistent_ones_are_retryable_upstream_failures() {
    let (sandbox, ctx) = sandbox().await;
    let config = legacy(&sandbox);
    sandbox.inject(Service::Supabase, "/rest/v1/deals", Fault::Status(503), 2);
    let report = run_check(&SupabaseConnector, &config, &ctx).await;
    assert!(report.ok, "two 503s are survived: {report:?}");
    let statuses: Vec<u16> = sandbox.requests(Service::Supabase).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 200]);

    sandbox.reset_counters();
    sandbox.inject(Service::Supabase, "", Fault::Reset, 1);
    assert!(SupabaseConnector.check(&config, &ctx).await.is_ok(), "a connection reset is retried");
    assert_eq!(sandbox.request_count(Service::Supabase), 2);

    sandbox.reset_counters();
    sandbox.inject(Service::Supabase, "/rest/v1/deals", Fault::Status(503), 100);
    let err = SupabaseConnector.check(&config, &ctx).await.unwrap_err();
    assert_eq!((err.class, err.retryable, err.status), (FailureClass::Upstream, true, Some(503)), "{err:?}");
    assert_eq!(sandbox.request_count(Service::Supabase), u64::from(ctx.http.max_attempts));
    assert_redacted(&err, &sandbox.credentials().supabase_service_key);
}

#[tokio::test]
async fn a_malformed_body_is_retried_and_reported_as_upstream_when_it_persists() {
    let (sandbox, ctx) = sandbox().await;
    let config = legacy(&sandbox);
    sandbox.inject(Service::Supabase, "", Fault::Malformed, 1);
    assert!(SupabaseConnector.check(&config, &ctx).await.is_ok());
    assert_eq!(sandbox.request_count(Service::Supabase), 2);

    sandbox.reset_counters();
    sandbox.inject(Service::Supabase, "", Fault::Malformed, 100);
    let err = SupabaseConnector.check(&config, &ctx).await.unwrap_err();
    assert_eq!((err.class, err.retryable), (FailureClass::Upstream, true), "{err:?}");
    assert!(err.message.contains("malformed"), "{}", err.message);
    assert_eq!(sandbox.request_count(Service::Supabase), u64::from(ctx.http.max_attempts));
}

#[tokio::test]
async fn a_429_is_counted_as_rate_limiting_and_retried_after_the_servers_delay() {
    let (sandbox, ctx) = sandbox().await;
    sandbox.inject(Service::Supabase, "/rest/v1/deals", Fault::RateLimited, 1);
    let started = Instant::now();
    let report = run_check(&SupabaseConnector, &legacy(&sandbox), &ctx).await;
    assert!(report.ok, "{report:?}");
    assert!(started.elapsed() >= Duration::from_millis(900), "Retry-After: 1 is honoured");
    assert_eq!(sandbox.rate_limited_count(Service::Supabase), 1);
    assert_eq!(sandbox.request_count(Service::Supabase), 2);
    let counters = ctx.metrics.get("supabase");
    assert_eq!((counters.rate_limited, counters.retries, counters.failures), (1, 1, 0), "{counters:?}");
}

//! Against a scripted PostgREST: a project whose row cap is below the page size, privilege
//! errors, keys echoed back, persistent rate limiting and refused writes.
#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_redacted, assert_report_redacted, at, batches, config, ctx, day, deal, ids, sizes, warehouse};
use serde_json::{Value, json};
use synkro_connector_supabase::SupabaseConnector;
use synkro_core::connector::{Connector, FailureClass, RowTime, run_check};
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{header, method, path},
};

const KEY: &str = "sb_secret_wiremockwiremockwiremock01";

/// Answers a select with at most `cap` rows from `offset`, whatever `limit` asked for.
struct Capped {
    rows: Vec<Value>,
    cap: usize,
}

impl Respond for Capped {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let param = |name: &str| request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
        let offset: usize = param("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
        let limit: usize = param("limit").and_then(|v| v.parse().ok()).unwrap_or(usize::MAX);
        let page: Vec<Value> = self.rows.iter().skip(offset).take(limit.min(self.cap)).cloned().collect();
        ResponseTemplate::new(200).set_body_json(page)
    }
}

/// Reads the day from a server holding `n` rows that answers at most `cap` per request; returns
/// the batch sizes, the deal ids and the offsets requested.
async fn read_capped(n: i64, cap: usize) -> (Vec<usize>, Vec<i64>, Vec<usize>) {
    let server = MockServer::start().await;
    let rows = (0..n).map(|i| serde_json::to_value(deal("acme", i, Some(at(i)), Some(at(i)))).unwrap()).collect();
    Mock::given(method("GET"))
        .and(path("/rest/v1/deals"))
        .and(header("apikey", KEY))
        .respond_with(Capped { rows, cap })
        .mount(&server)
        .await;
    let ctx = ctx(&server.uri());
    let warehouse = warehouse(&config(KEY, json!({})), &ctx);
    let read = batches(warehouse.as_ref(), "acme", day(), RowTime::UpdatedAt).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    let offsets =
        requests.iter().map(|r| r.url.query_pairs().find(|(k, _)| k == "offset").unwrap().1.parse().unwrap()).collect();
    assert!(requests.iter().all(|r| !r.headers.contains_key("authorization")), "a secret key is never a Bearer");
    (sizes(&read), ids(&read), offsets)
}

#[tokio::test]
async fn a_project_capping_responses_below_the_page_size_still_yields_every_row() {
    let (sizes, ids, offsets) = read_capped(1000, 300).await;
    assert_eq!(sizes, [300, 300, 300, 100], "a short page is not taken for the end");
    assert_eq!(ids, (0..1000).collect::<Vec<_>>());
    assert_eq!(offsets, [0, 300, 600, 900]);

    let (sizes, ids, offsets) = read_capped(900, 300).await;
    assert_eq!(sizes, [300, 300, 300]);
    assert_eq!(ids.len(), 900);
    assert_eq!(offsets, [0, 300, 600, 900], "an empty page ends a read of whole pages");

    let (sizes, _, offsets) = read_capped(250, 300).await;
    assert_eq!(sizes, [250]);
    assert_eq!(offsets, [0, 250], "a short first page is confirmed by one more request");
}

fn postgrest_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"code": code, "details": null, "hint": null, "message": message}))
}

#[tokio::test]
async fn a_key_without_privileges_on_the_table_is_a_permission_failure() {
    for status in [401, 403] {
        let server = MockServer::start().await;
        Mock::given(path("/rest/v1/deals"))
            .respond_with(postgrest_error(status, "42501", "permission denied for table deals"))
            .mount(&server)
            .await;
        let err = SupabaseConnector.check(&config(KEY, json!({})), &ctx(&server.uri())).await.unwrap_err();
        assert_eq!((err.class, err.retryable, err.status), (FailureClass::Permission, false, Some(status)), "{err:?}");
        assert!(err.message.ends_with(&format!("HTTP {status} 42501")), "{}", err.message);
        assert!(!err.message.contains("permission denied"), "the server's words stay out: {}", err.message);
        assert!(err.hint.as_deref().unwrap().contains("service key"), "{err:?}");
        assert_eq!(server.received_requests().await.unwrap().len(), 1, "no retry can grant a privilege");
    }
}

#[tokio::test]
async fn the_servers_answer_never_reaches_an_error_text() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"message": format!("Invalid API key {KEY}"), "hint": null})),
        )
        .mount(&server)
        .await;
    let ctx = ctx(&server.uri());
    let err = SupabaseConnector.check(&config(KEY, json!({})), &ctx).await.unwrap_err();
    assert_eq!(err.class, FailureClass::Auth);
    assert!(!format!("{err:?}").contains("Invalid API key"), "the server's words stay out: {err:?}");
    assert_redacted(&err, KEY);
    let report = run_check(&SupabaseConnector, &config(KEY, json!({})), &ctx).await;
    assert_eq!(report.class, Some(FailureClass::Auth));
    assert_report_redacted(&report, KEY);
}

#[tokio::test]
async fn persistent_rate_limiting_is_reported_as_rate_limited_after_every_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(postgrest_error(429, "PGRST000", "Too many requests").insert_header("retry-after", "0"))
        .mount(&server)
        .await;
    let ctx = ctx(&server.uri());
    let err = SupabaseConnector.check(&config(KEY, json!({})), &ctx).await.unwrap_err();
    assert_eq!((err.class, err.retryable, err.status), (FailureClass::RateLimited, true, Some(429)), "{err:?}");
    let attempts = ctx.http.max_attempts as usize;
    assert_eq!(server.received_requests().await.unwrap().len(), attempts);
    assert_eq!(ctx.metrics.get("supabase").rate_limited, attempts as u64);
}

#[tokio::test]
async fn writes_the_table_refuses_are_config_failures_that_say_what_to_fix_and_are_not_retried() {
    let cases = [
        (409, "23505", "duplicate key value violates unique constraint \"deals_pkey\"", "constraints"),
        (400, "PGRST204", "Could not find the 'dialog_norm' column of 'deals' in the schema cache", "column"),
        (404, "PGRST205", "Could not find the table 'public.deals' in the schema cache", "table"),
    ];
    for (status, code, message, hint) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/rest/v1/deals"))
            .respond_with(postgrest_error(status, code, message))
            .mount(&server)
            .await;
        let warehouse = warehouse(&config(KEY, json!({})), &ctx(&server.uri()));
        let err = warehouse.upsert_deals(&[deal("acme", 1, None, None)]).await.unwrap_err();
        assert_eq!((err.class, err.retryable, err.status), (FailureClass::Config, false, Some(status)), "{code}");
        assert!(err.message.contains(code) && !err.message.contains(message), "{}", err.message);
        assert!(err.hint.as_deref().unwrap().contains(hint), "{code}: {err:?}");
        assert_eq!(server.received_requests().await.unwrap().len(), 1, "{code} is not retried");
    }
}

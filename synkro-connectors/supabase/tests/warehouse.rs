//! The warehouse against the sandbox's PostgREST: batched upserts that merge, rows that round
//! trip, windows read page by page to the end, and reports archived under their own id.
#![allow(clippy::unwrap_used)]

mod common;

use common::{at, batches, day, deal, ids, legacy, many, offsets, requests, sandbox, sizes, ts, warehouse};
use futures::StreamExt;
use serde_json::{Value, json};
use synkro_connector_supabase::UPSERT_BATCH;
use synkro_core::{
    connector::{ArchivedReport, DealRow, FailureClass, RowTime},
    domain::Window,
};
use synkro_sandbox::{Fault, Service};

fn count_where(rows: &[Value], f: impl Fn(&Value) -> bool) -> usize {
    rows.iter().filter(|r| f(r)).count()
}

#[tokio::test]
async fn upserting_1234_rows_sends_three_batches_and_a_second_run_merges_instead_of_duplicating() {
    let (sandbox, ctx) = sandbox().await;
    let key = sandbox.credentials().supabase_service_key.clone();
    let warehouse = warehouse(&legacy(&sandbox), &ctx);
    let rows = many(1234);
    assert_eq!(warehouse.upsert_deals(&rows).await.unwrap(), 1234);

    let posts = requests(&sandbox, "POST");
    assert_eq!(posts.len(), 3, "1,234 rows in batches of at most {UPSERT_BATCH}");
    assert_eq!(sandbox.request_count(Service::Supabase), 3, "nothing but the three upserts");
    let mut sent = Vec::new();
    for post in &posts {
        assert_eq!(post.path, "/rest/v1/deals");
        assert_eq!(post.query, [("on_conflict".to_owned(), "tenant_id,deal_id".to_owned())]);
        assert_eq!(post.header("prefer"), Some("resolution=merge-duplicates,return=minimal"));
        assert_eq!(post.header("apikey"), Some(key.as_str()));
        assert_eq!(post.header("authorization"), Some(format!("Bearer {key}").as_str()));
        assert!(post.header("content-type").unwrap().starts_with("application/json"));
        let body: Value = serde_json::from_str(post.body.as_deref().unwrap()).unwrap();
        sent.push(body.as_array().unwrap().len());
    }
    assert_eq!(sent, [500, 500, 234]);
    let stored = sandbox.supabase_rows("deals");
    assert_eq!(stored.len(), 1234);
    assert_eq!(count_where(&stored, |r| r["status"] == "Won"), 1234);

    let changed: Vec<DealRow> = rows
        .iter()
        .map(|r| DealRow { status: Some("Lost".into()), messages_count: r.messages_count + 4, ..r.clone() })
        .collect();
    assert_eq!(warehouse.upsert_deals(&changed).await.unwrap(), 1234);
    let stored = sandbox.supabase_rows("deals");
    assert_eq!(stored.len(), 1234, "re-running a window never duplicates a deal");
    assert_eq!(count_where(&stored, |r| r["status"] == "Lost" && r["messages_count"] == 7), 1234);
    assert_eq!(stored[1233]["deal_id"], 1233);

    let other_tenant: Vec<DealRow> =
        rows[..10].iter().map(|r| DealRow { tenant_id: "globex".into(), ..r.clone() }).collect();
    warehouse.upsert_deals(&other_tenant).await.unwrap();
    assert_eq!(sandbox.supabase_rows("deals").len(), 1244, "the key is (tenant_id, deal_id), not deal_id alone");

    sandbox.reset_counters();
    assert_eq!(warehouse.upsert_deals(&[]).await.unwrap(), 0);
    assert_eq!(sandbox.request_count(Service::Supabase), 0, "nothing to write, nothing sent");
}

#[tokio::test]
async fn an_upsert_batch_that_fails_once_is_sent_again_without_duplicating_rows() {
    let (sandbox, ctx) = sandbox().await;
    let warehouse = warehouse(&legacy(&sandbox), &ctx);
    sandbox.inject(Service::Supabase, "on_conflict", Fault::Status(503), 1);
    assert_eq!(warehouse.upsert_deals(&many(600)).await.unwrap(), 600);
    let statuses: Vec<u16> = requests(&sandbox, "POST").iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 201, 201]);
    assert_eq!(sandbox.supabase_rows("deals").len(), 600);

    sandbox.inject(Service::Supabase, "on_conflict", Fault::Status(503), 100);
    let err = warehouse.upsert_deals(&many(3)).await.unwrap_err();
    assert_eq!((err.class, err.retryable, err.status), (FailureClass::Upstream, true, Some(503)));
}

#[tokio::test]
async fn a_deal_given_twice_in_one_call_is_written_once_with_its_later_values() {
    let (sandbox, ctx) = sandbox().await;
    let warehouse = warehouse(&legacy(&sandbox), &ctx);
    let first = deal("acme", 7, Some(at(10)), None);
    let later = DealRow { status: Some("Lost".into()), messages_count: 9, ..first.clone() };
    let other = deal("acme", 8, Some(at(20)), None);
    assert_eq!(warehouse.upsert_deals(&[first, other, later]).await.unwrap(), 2);
    let stored = sandbox.supabase_rows("deals");
    assert_eq!(stored.len(), 2);
    let seven = stored.iter().find(|r| r["deal_id"] == 7).unwrap();
    assert_eq!((&seven["status"], &seven["messages_count"]), (&json!("Lost"), &json!(9)), "the later values win");
    assert_eq!(sandbox.request_count(Service::Supabase), 1, "one request, accepted at once");
}

#[tokio::test]
async fn deal_rows_round_trip_with_timestamps_json_and_negative_ids() {
    let (sandbox, ctx) = sandbox().await;
    let warehouse = warehouse(&legacy(&sandbox), &ctx);
    let radist_only = DealRow {
        tenant_id: "acme".into(),
        deal_id: -4_611_686_018_427_387_904,
        deal_name: Some("Чат «Ромашка» \"quoted\"".into()),
        status_id: None,
        status: None,
        responsible: None,
        phone: Some("79001234567".into()),
        chat_id: Some("wa:79001234567@c.us".into()),
        first_message_at: Some(ts("2026-03-01T06:00:00.000001Z")),
        last_message_at: Some(ts("2026-03-01T23:59:59.999999Z")),
        messages_count: 2,
        deal_attrs_json: json!({}),
        contact_attrs_json: json!({"name": "Мария", "tags": ["vip", null], "score": 4.5}),
        dialog_raw: json!([
            {"id": "m1", "at": "2026-03-01T06:00:00Z", "direction": "inbound", "text": "Здравствуйте!\nЦена?", "files": []},
            {"id": "m2", "at": "2026-03-01T23:59:59Z", "direction": "outbound", "text": "", "files": ["price.pdf"]}
        ]),
        dialog_norm: "2026-03-01 09:00  client: Здравствуйте! Цена?\n2026-03-02 02:59  agent: [files: price.pdf]\n"
            .into(),
        updated_at: None,
    };
    let crm = DealRow {
        deal_id: 31_000_123,
        status_id: Some(142),
        status: Some("Успешно реализовано".into()),
        responsible: Some("Olga".into()),
        deal_attrs_json: json!({"price": 150_000, "custom": {"source": "site", "utm": null}}),
        last_message_at: Some(ts("2026-03-01T12:30:00.5Z")),
        updated_at: Some(ts("2026-02-27T08:00:00Z")),
        ..radist_only.clone()
    };
    warehouse.upsert_deals(&[radist_only.clone(), crm.clone()]).await.unwrap();
    let read = batches(warehouse.as_ref(), "acme", day(), RowTime::LastMessageAt).await.unwrap();
    let rows: Vec<DealRow> = read.into_iter().flat_map(|b| b.items).collect();
    assert_eq!(rows, [crm, radist_only], "every field comes back as written, oldest last message first");
}

#[tokio::test]
async fn an_empty_window_is_one_request_and_no_error() {
    let (sandbox, ctx) = sandbox().await;
    let warehouse = warehouse(&legacy(&sandbox), &ctx);
    let read = batches(warehouse.as_ref(), "acme", day(), RowTime::UpdatedAt).await.unwrap();
    assert!(read.is_empty());
    let gets = requests(&sandbox, "GET");
    assert_eq!(gets.len(), 1);
    let query: Vec<(&str, &str)> = gets[0].query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        query,
        [
            ("select", "*"),
            ("tenant_id", "eq.acme"),
            ("updated_at", "gte.2026-03-01T00:00:00Z"),
            ("updated_at", "lt.2026-03-02T00:00:00Z"),
            ("order", "updated_at.asc,deal_id.asc"),
            ("limit", "1000"),
            ("offset", "0"),
        ]
    );
    assert_eq!(gets[0].path, "/rest/v1/deals");
}

#[tokio::test]
async fn exactly_1000_rows_are_all_read_and_the_end_is_confirmed_by_one_empty_page() {
    let (sandbox, ctx) = sandbox().await;
    let warehouse = warehouse(&legacy(&sandbox), &ctx);
    warehouse.upsert_deals(&many(1000)).await.unwrap();
    sandbox.reset_counters();
    let read = batches(warehouse.as_ref(), "acme", day(), RowTime::UpdatedAt).await.unwrap();
    assert_eq!(sizes(&read), [1000]);
    assert_eq!(ids(&read), (0..1000).collect::<Vec<_>>());
    let gets = requests(&sandbox, "GET");
    assert_eq!(offsets(&gets), ["0", "1000"], "a full page never ends the read");
    assert_eq!(sandbox.request_count(Service::Supabase), 2);
}

#[tokio::test]
async fn more_than_the_server_cap_is_read_page_by_page() {
    let (sandbox, ctx) = sandbox().await;
    let warehouse = warehouse(&legacy(&sandbox), &ctx);
    warehouse.upsert_deals(&many(2500)).await.unwrap();
    sandbox.reset_counters();
    let read = batches(warehouse.as_ref(), "acme", day(), RowTime::LastMessageAt).await.unwrap();
    assert_eq!(sizes(&read), [1000, 1000, 500], "one batch per page");
    assert_eq!(ids(&read), (0..2500).collect::<Vec<_>>(), "every row once, in order");
    let gets = requests(&sandbox, "GET");
    assert_eq!(offsets(&gets), ["0", "1000", "2000"]);
    assert!(gets.iter().all(|r| r.query_value("limit") == Some("1000")));
}

#[tokio::test]
async fn a_failing_page_is_retried_and_a_persistent_failure_ends_the_stream_with_the_error() {
    let (sandbox, ctx) = sandbox().await;
    let warehouse = warehouse(&legacy(&sandbox), &ctx);
    warehouse.upsert_deals(&many(1500)).await.unwrap();
    sandbox.inject(Service::Supabase, "offset=1000", Fault::Malformed, 1);
    let read = batches(warehouse.as_ref(), "acme", day(), RowTime::UpdatedAt).await.unwrap();
    assert_eq!(sizes(&read), [1000, 500]);

    sandbox.inject(Service::Supabase, "offset=1000", Fault::Status(503), 100);
    let mut stream = warehouse.rows_in_window("acme", day(), RowTime::UpdatedAt);
    assert_eq!(stream.next().await.unwrap().unwrap().items.len(), 1000);
    let err = stream.next().await.unwrap().unwrap_err();
    assert_eq!((err.class, err.status), (FailureClass::Upstream, Some(503)));
    assert!(stream.next().await.is_none(), "nothing after the error");
}

#[tokio::test]
async fn a_window_selects_by_updated_at_or_last_message_at_and_only_the_tenants_rows() {
    let (sandbox, ctx) = sandbox().await;
    let warehouse = warehouse(&legacy(&sandbox), &ctx);
    let end = 86_400;
    let rows = [
        deal("acme", 1, Some(at(3600)), None),
        deal("acme", 2, Some(at(-1)), Some(at(7200))),
        deal("acme", 3, Some(at(0)), Some(at(end))),
        deal("acme", 4, Some(at(end)), Some(at(0))),
        deal("acme", 5, Some(at(end - 1)), Some(at(end - 1))),
        deal("acme", 6, None, Some(at(-3600))),
        deal("globex", 7, Some(at(60)), Some(at(60))),
    ];
    warehouse.upsert_deals(&rows).await.unwrap();
    let read = |tenant: &'static str, by| {
        let warehouse = warehouse.clone();
        async move { ids(&batches(warehouse.as_ref(), tenant, day(), by).await.unwrap()) }
    };
    assert_eq!(read("acme", RowTime::UpdatedAt).await, [3, 1, 5], "start included, end excluded");
    assert_eq!(read("acme", RowTime::LastMessageAt).await, [4, 2, 5]);
    assert_eq!(read("globex", RowTime::UpdatedAt).await, [7]);
    assert_eq!(read("initech", RowTime::LastMessageAt).await, Vec::<i64>::new());

    let hour = Window::new(at(3600), at(7201)).unwrap();
    let read = batches(warehouse.as_ref(), "acme", hour, RowTime::LastMessageAt).await.unwrap();
    assert_eq!(ids(&read), [2]);
}

fn report(id: &str, text: &str) -> ArchivedReport {
    ArchivedReport {
        tenant_id: "acme".into(),
        source_report_id: id.into(),
        period_start: "2026-03-01".into(),
        period_end: "2026-03-01".into(),
        summary_text: text.into(),
        metadata: json!({"deals": 40, "ai": {"model": "gpt-4o-mini", "error": null}}),
        created_at: ts("2026-03-02T06:00:00Z"),
    }
}

#[tokio::test]
async fn a_report_archived_twice_is_one_row_and_another_report_the_same_day_is_a_second() {
    let (sandbox, ctx) = sandbox().await;
    let warehouse = warehouse(&legacy(&sandbox), &ctx);
    warehouse.archive_report(&report("0190a1b2-report-1", "first draft")).await.unwrap();
    warehouse.archive_report(&report("0190a1b2-report-1", "final text")).await.unwrap();
    let stored = sandbox.supabase_rows("reports");
    assert_eq!(stored.len(), 1, "a re-run does not archive the same report twice");
    assert_eq!(stored[0]["summary_text"], "final text");
    assert_eq!(stored[0]["metadata"]["ai"]["model"], "gpt-4o-mini");

    warehouse.archive_report(&report("0190a1b2-report-2", "forced run")).await.unwrap();
    let stored = sandbox.supabase_rows("reports");
    assert_eq!(stored.len(), 2, "two reports of one day stay distinct");
    let ids: Vec<&Value> = stored.iter().map(|r| &r["source_report_id"]).collect();
    assert_eq!(ids, [&json!("0190a1b2-report-1"), &json!("0190a1b2-report-2")]);
    assert!(stored.iter().all(|r| r["period_start"] == "2026-03-01"));

    let posts = requests(&sandbox, "POST");
    assert_eq!(posts.len(), 3);
    for post in &posts {
        assert_eq!(post.path, "/rest/v1/reports");
        assert_eq!(post.query_value("on_conflict"), Some("tenant_id,source_report_id"));
        assert_eq!(post.header("prefer"), Some("resolution=merge-duplicates,return=minimal"));
    }
}

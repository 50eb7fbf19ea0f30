//! `/healthz`, `/readyz`, `/metrics` and the OpenAPI document.

use serde_json::{Value, json};

use crate::support::World;

synkro_core::on_both_backends!(
    start = crate::support::World::start;
    health_readiness_and_metrics,
    the_openapi_document_lists_every_route,
    unknown_paths_share_one_metrics_label
);

/// 2,100 anonymous requests to paths that exist nowhere add one series, not 2,100, and the real
/// routes keep their own labels afterwards.
async fn unknown_paths_share_one_metrics_label(w: &World) {
    for i in 0..2_100 {
        let answer = w.get(&format!("/probe/{i}/x{i}"), None).await;
        assert_eq!(answer.status, 404);
    }
    w.get("/healthz", None).await;
    let text = w.get("/metrics", None).await.text;
    assert!(
        text.contains("synkro_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 2100"),
        "{text}"
    );
    assert!(text.contains("synkro_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"), "{text}");
    assert!(!text.contains("/probe/"), "no path of a request becomes a label");
    let series = text.lines().filter(|l| l.starts_with("synkro_http_requests_total{")).count();
    assert!(series <= 3, "{series} series after one real route and many unknown paths:\n{text}");
}

async fn health_readiness_and_metrics(w: &World) {
    let health = w.get("/healthz", None).await;
    assert_eq!((health.status, health.text.as_str()), (200, "ok"));
    let ready = w.get("/readyz", None).await;
    assert_eq!(ready.status, 200);
    let body = ready.json();
    assert_eq!(
        (&body["status"], &body["database"], &body["migrations"]),
        (&json!("ready"), &json!("ok"), &json!("current"))
    );
    assert_eq!(body["workers"], "none_here", "this server started no workers");
    w.workers.start().await;
    let body = w.get("/readyz", None).await.json();
    assert_eq!(
        (&body["workers"], &body["workers_alive"], &body["workers_started"]),
        (&json!("alive"), &json!(2), &json!(2))
    );

    let plain = w.login("plain").await;
    w.get(&format!("/api/v1/jobs/{}", w.cast.acme_job.id.as_uuid()), Some(&plain)).await;
    let metrics = w.get("/metrics", None).await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.header("content-type").unwrap().starts_with("text/plain"));
    let text = metrics.text;
    for line in [
        "# TYPE synkro_http_requests_total counter",
        "synkro_http_requests_total{method=\"GET\",route=\"/api/v1/jobs/{id}\",status=\"200\"} 1",
        "synkro_http_requests_total{method=\"POST\",route=\"/api/v1/auth/login\",status=\"200\"} 1",
        "# TYPE synkro_http_request_seconds histogram",
        "synkro_http_request_seconds_bucket{method=\"GET\",route=\"/api/v1/jobs/{id}\",status=\"200\",le=\"+Inf\"} 1",
        "synkro_http_request_seconds_count{method=\"GET\",route=\"/api/v1/jobs/{id}\",status=\"200\"} 1",
        "# TYPE synkro_jobs gauge",
        "synkro_jobs{status=\"running\"} 0",
        "# TYPE synkro_jobs_finished_total counter",
        "synkro_jobs_finished_total{status=\"success\"} 0",
        "synkro_workers{state=\"alive\"} 2",
        "# TYPE synkro_connector_requests_total counter",
        "# TYPE synkro_connector_rate_limited_total counter",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }

    // A tenant whose reports are all drafts has no good report yet; one sent report is.
    let acme = format!("synkro_report_last_success_timestamp_seconds{{tenant=\"{}\"}}", w.cast.acme.slug);
    assert!(text.contains(&format!("{acme} 0\n")), "{text}");
    let report = &w.cast.acme_report;
    w.store.set_report_status(report.id, synkro_core::domain::ReportStatus::Sent).await.unwrap();
    let text = w.get("/metrics", None).await.text;
    assert!(text.contains(&format!("{acme} {}\n", report.created_at.unix_seconds())), "{text}");

    // Alerts to tenants' admins are counted by kind and by how sending went.
    let missed = "synkro_report_alerts{kind=\"missed\",state=\"no_messenger\"}";
    assert!(text.contains(&format!("{missed} 0\n")), "{text}");
    let window = synkro_core::domain::Window::new(report.window_start, report.window_end).unwrap();
    let (kind, now) = (synkro_core::store::AlertKind::Missed, synkro_core::time::Timestamp::now());
    assert!(w.store.claim_alert(w.cast.acme.id, window, kind, "no report", now).await.unwrap());
    let state = synkro_core::store::AlertState::NoMessenger;
    w.store.finish_alert(w.cast.acme.id, window, state, None).await.unwrap();
    assert!(w.get("/metrics", None).await.text.contains(&format!("{missed} 1\n")));

    w.workers.shutdown().await;
    let stopped = w.get("/readyz", None).await;
    assert_eq!((stopped.status, stopped.json()["workers"].clone()), (503, json!("stopped")), "{}", stopped.text);

    w.store.close().await;
    let down = w.get("/readyz", None).await;
    assert_eq!(down.status, 503);
    assert_eq!(down.json()["database"], "unreachable");
}

async fn the_openapi_document_lists_every_route(w: &World) {
    let doc: Value = serde_json::from_str(&synkro_http::openapi_json()).unwrap();
    let served = w.get("/api/v1/openapi.json", None).await;
    assert_eq!(served.status, 200);
    assert_eq!(served.json(), doc, "the served document is the printed one");
    // That every operation is exercised is checked by the access matrix (access.rs).
    assert!(doc["paths"].as_object().unwrap().len() >= 20, "the document lists the API");
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    assert_eq!(doc["components"]["securitySchemes"]["SessionCookie"]["in"], "cookie");
    assert_eq!(doc["components"]["securitySchemes"]["ApiToken"]["scheme"], "bearer");
    let me = &doc["paths"]["/auth/me"]["get"]["security"];
    assert_eq!(me, &json!([{"SessionCookie": []}, {"ApiToken": []}]), "either credential works");
    let mint = &doc["paths"]["/auth/tokens"]["post"]["security"];
    assert_eq!(mint, &json!([{"SessionCookie": []}]), "only a browser session creates tokens");
    let secret = &doc["components"]["schemas"]["SecretUpdate"]["properties"]["value"];
    assert_eq!(secret["writeOnly"], true, "secret values are write-only in the document too");
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    let login = &doc["components"]["schemas"]["LoginRequest"]["properties"]["password"];
    assert_eq!(login["writeOnly"], true);
    let docs = w.get("/api/docs/", None).await;
    assert_eq!(docs.status, 200, "the Swagger UI is served");
}

/// A connection that sends no request is closed once the header deadline passes; one that
/// sends its request in time is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_after_the_header_deadline() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let config = synkro_http::HttpConfig {
        header_read_timeout: std::time::Duration::from_millis(300),
        ..synkro_http::HttpConfig::default()
    };
    let w = World::start_with("sqlite", "header_deadline", config).await.unwrap();
    let address = w.base.trim_start_matches("http://").to_owned();
    let mut idle = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut buf = [0_u8; 64];
    // A hang guard, not a speed assertion: the server closes the connection (EOF or reset).
    let closed = tokio::time::timeout(std::time::Duration::from_secs(60), idle.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0) | Err(_))), "the idle connection was closed: {closed:?}");

    let mut busy = tokio::net::TcpStream::connect(&address).await.unwrap();
    busy.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    busy.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    w.finish().await;
}

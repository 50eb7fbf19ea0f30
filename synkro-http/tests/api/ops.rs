//! `/healthz`, `/readyz`, `/metrics` and the OpenAPI document.

use serde_json::{Value, json};

use crate::support::World;

crate::on_both_backends!(health_readiness_and_metrics, the_openapi_document_lists_every_route);

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
    w.state.engine.start_workers().await;
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
        "synkro_http_requests_total{method=\"GET\",route=\"/api/v1/jobs/:id\",status=\"200\"} 1",
        "synkro_http_requests_total{method=\"POST\",route=\"/api/v1/auth/login\",status=\"200\"} 1",
        "# TYPE synkro_http_request_seconds histogram",
        "synkro_http_request_seconds_bucket{method=\"GET\",route=\"/api/v1/jobs/:id\",status=\"200\",le=\"+Inf\"} 1",
        "synkro_http_request_seconds_count{method=\"GET\",route=\"/api/v1/jobs/:id\",status=\"200\"} 1",
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

    w.state.engine.shutdown().await;
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

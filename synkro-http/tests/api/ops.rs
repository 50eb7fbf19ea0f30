//! `/healthz`, `/readyz`, `/metrics` and the OpenAPI document.

use serde_json::Value;

use crate::support::World;

crate::on_both_backends!(health_readiness_and_metrics, the_openapi_document_lists_every_route);

async fn health_readiness_and_metrics(w: &World) {
    let health = w.get("/healthz", None).await;
    assert_eq!((health.status, health.text.as_str()), (200, "ok"));
    let ready = w.get("/readyz", None).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json(), serde_json::json!({"status": "ready", "database": "ok", "migrations": "current"}));

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
        "# TYPE synkro_http_request_seconds summary",
        "synkro_http_request_seconds_count{method=\"GET\",route=\"/api/v1/jobs/:id\",status=\"200\"} 1",
        "# TYPE synkro_jobs gauge",
        "synkro_jobs{status=\"running\"} 0",
        "# TYPE synkro_connector_requests_total counter",
        "# TYPE synkro_connector_rate_limited_total counter",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }

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
    let paths = doc["paths"].as_object().unwrap();
    let mut operations: Vec<String> = paths
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| format!("{} {path}", m.to_uppercase())))
        .collect();
    operations.sort();
    assert_eq!(
        operations,
        [
            "GET /jobs/{id}",
            "GET /jobs/{id}/events",
            "GET /reports/{id}",
            "GET /reports/{id}/questions",
            "GET /tenants",
            "GET /tenants/{id}",
            "GET /tenants/{id}/jobs",
            "GET /tenants/{id}/reports",
            "GET /auth/me",
            "POST /auth/login",
            "POST /auth/logout",
            "POST /jobs/{id}/stop",
            "POST /reports/{id}/questions",
            "POST /tenants/{id}/jobs",
        ]
        .into_iter()
        .map(String::from)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    assert_eq!(doc["components"]["securitySchemes"]["SessionCookie"]["in"], "cookie");
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    let login = &doc["components"]["schemas"]["LoginRequest"]["properties"]["password"];
    assert_eq!(login["writeOnly"], true);
    let docs = w.get("/api/docs/", None).await;
    assert_eq!(docs.status, 200, "the Swagger UI is served");
}

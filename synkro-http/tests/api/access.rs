//! DESIGN.md section 4 across this slice's endpoints: every role, no role, another tenant's
//! user and anonymous callers; other tenants' objects answer exactly like missing ones.

use serde_json::{Value, json};

use crate::support::{CANARY, Login, World};

crate::on_both_backends!(the_access_matrix, other_tenants_objects_look_missing, tenant_lists_show_only_visible_tenants);

/// (method, path, body) of every endpoint of this slice that concerns acme.
fn acme_endpoints(w: &World) -> Vec<(&'static str, String, Option<Value>)> {
    let t = w.cast.acme.id.as_uuid();
    let r = w.cast.acme_report.id.as_uuid();
    let j = w.cast.acme_job.id.as_uuid();
    vec![
        ("GET", format!("/api/v1/tenants/{t}"), None),
        ("GET", format!("/api/v1/tenants/{t}/reports"), None),
        ("GET", format!("/api/v1/reports/{r}"), None),
        ("GET", format!("/api/v1/reports/{r}/questions"), None),
        ("POST", format!("/api/v1/reports/{r}/questions"), Some(json!({"question": "How were sales?"}))),
        ("GET", format!("/api/v1/tenants/{t}/jobs"), None),
        ("POST", format!("/api/v1/tenants/{t}/jobs"), Some(json!({}))),
        ("GET", format!("/api/v1/jobs/{j}"), None),
        ("GET", format!("/api/v1/jobs/{j}/events"), None),
        ("POST", format!("/api/v1/jobs/{j}/stop"), None),
    ]
}

async fn the_access_matrix(w: &World) {
    let root = w.login("root").await;
    // (who, expected status class for every acme endpoint)
    let cases: [(&str, u16); 8] = [
        ("root", 200),
        ("gadmin", 200),
        ("tadmin", 200),
        ("lite", 200),
        ("plain", 200),
        ("stranger", 404),
        ("nobody", 404),
        ("anonymous", 401),
    ];
    for (who, expected) in cases {
        let login: Option<Login> = if who == "anonymous" { None } else { Some(w.login(who).await) };
        for (method, path, body) in acme_endpoints(w) {
            let a = w.call(method, &path, login.as_ref(), body, &[]).await;
            let class = if (200..300).contains(&a.status) { 200 } else { a.status };
            assert_eq!(class, expected, "{who} {method} {path}: {} {}", a.status, a.text);
            if class != 200 {
                let code = a.json()["code"].as_str().unwrap().to_owned();
                assert_eq!(code, if expected == 401 { "unauthenticated" } else { "not_found" }, "{who} {path}");
            }
            if method == "POST" && path.ends_with("/jobs") && a.status == 202 {
                // Free the tenant's report slot for the next caller.
                let id = a.json()["id"].as_str().unwrap().to_owned();
                let stop = w.call("POST", &format!("/api/v1/jobs/{id}/stop"), Some(&root), None, &[]).await;
                assert_eq!(stop.status, 200, "{}", stop.text);
            }
        }
    }
    let asked = w.get(&format!("/api/v1/reports/{}/questions", w.cast.acme_report.id.as_uuid()), Some(&root)).await;
    let asked = asked.json();
    assert_eq!(asked.as_array().unwrap().len(), 5, "one question per allowed role");
    assert_eq!(asked[0]["answer"], "Sales were steady.", "the AI got the stored key");
    for body in w.bodies() {
        assert!(!body.contains(CANARY), "the integration secret leaked into a response: {body}");
    }
}

async fn other_tenants_objects_look_missing(w: &World) {
    let plain = w.login("plain").await;
    let missing = uuid::Uuid::now_v7();
    let other = &w.cast;
    let pairs = [
        (format!("/api/v1/tenants/{}", other.other.id.as_uuid()), format!("/api/v1/tenants/{missing}")),
        (format!("/api/v1/tenants/{}/reports", other.other.id.as_uuid()), format!("/api/v1/tenants/{missing}/reports")),
        (format!("/api/v1/tenants/{}/jobs", other.other.id.as_uuid()), format!("/api/v1/tenants/{missing}/jobs")),
        (format!("/api/v1/reports/{}", other.other_report.id.as_uuid()), format!("/api/v1/reports/{missing}")),
        (format!("/api/v1/jobs/{}", other.other_job.id.as_uuid()), format!("/api/v1/jobs/{missing}")),
        (format!("/api/v1/jobs/{}/events", other.other_job.id.as_uuid()), format!("/api/v1/jobs/{missing}/events")),
    ];
    for (theirs, nothing) in pairs {
        let a = w.get(&theirs, Some(&plain)).await;
        let b = w.get(&nothing, Some(&plain)).await;
        assert_eq!((a.status, &a.text), (b.status, &b.text), "{theirs} must look like {nothing}");
        assert_eq!(a.status, 404);
    }
    for (path, body) in [
        (format!("/api/v1/jobs/{}/stop", other.other_job.id.as_uuid()), None),
        (format!("/api/v1/tenants/{}/jobs", other.other.id.as_uuid()), Some(json!({}))),
        (format!("/api/v1/reports/{}/questions", other.other_report.id.as_uuid()), Some(json!({"question": "?"}))),
    ] {
        assert_eq!(w.call("POST", &path, Some(&plain), body, &[]).await.status, 404, "{path}");
    }
}

async fn tenant_lists_show_only_visible_tenants(w: &World) {
    for (who, expected) in [
        ("root", vec!["other", "acme"]),
        ("gadmin", vec!["other", "acme"]),
        ("tadmin", vec!["acme"]),
        ("plain", vec!["acme"]),
        ("stranger", vec!["other"]),
        ("nobody", vec![]),
    ] {
        let login = w.login(who).await;
        let a = w.get("/api/v1/tenants", Some(&login)).await;
        assert_eq!(a.status, 200, "{}", a.text);
        let slugs: Vec<String> =
            a.json()["items"].as_array().unwrap().iter().map(|t| t["slug"].as_str().unwrap().to_owned()).collect();
        assert_eq!(slugs, expected, "{who}");
    }
    let plain = w.login("plain").await;
    let list = w.get(&format!("/api/v1/tenants/{}/reports", w.cast.acme.id.as_uuid()), Some(&plain)).await.json();
    let item = &list["items"][0];
    assert_eq!(item["summary"], json!({"dialogs": 12, "deals": 3}));
    assert!(item.get("metadata").is_none() && item.get("summary_text").is_none(), "lists carry summaries only");
    let full = w.get(&format!("/api/v1/reports/{}", w.cast.acme_report.id.as_uuid()), Some(&plain)).await.json();
    assert_eq!(full["metadata"]["details"]["big"], "blob");
    assert_eq!(full["summary_text"], "Report for acme");
}

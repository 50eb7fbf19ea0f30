//! Bad input is a 4xx JSON error naming the field, never a 500.

use serde_json::json;

use crate::support::World;

crate::on_both_backends!(bad_input_answers_4xx_with_code_and_field, an_active_job_conflict_names_the_job);

async fn bad_input_answers_4xx_with_code_and_field(w: &World) {
    let plain = w.login("plain").await;
    let t = w.cast.acme.id.as_uuid();
    let jobs = format!("/api/v1/tenants/{t}/jobs");
    let raw = |body: &'static str| {
        w.request(reqwest::Method::POST, &jobs)
            .header("cookie", &plain.cookie)
            .header("x-csrf-token", &plain.csrf)
            .header("content-type", "application/json")
            .body(body)
    };
    let cases: Vec<(crate::support::Answer, u16, &str, &str)> = vec![
        (w.send(raw("{\"window_start\": ")).await, 400, "malformed_json", "body"),
        (w.send(raw("{\"window_start\": 5}")).await, 400, "invalid_field", "window_start"),
        (w.send(raw("{\"window_start\": \"yesterday\"}")).await, 400, "invalid_field", "window_start"),
        (w.send(raw("{\"mode\": \"everything\"}")).await, 400, "invalid_field", "mode"),
        (w.send(raw("{\"colour\": \"red\"}")).await, 400, "invalid_field", "colour"),
        (w.send(raw("[]")).await, 400, "invalid_body", "body"),
        (
            w.send(
                w.request(reqwest::Method::POST, &jobs)
                    .header("cookie", &plain.cookie)
                    .header("x-csrf-token", &plain.csrf)
                    .header("content-type", "text/plain")
                    .body("{}"),
            )
            .await,
            400,
            "unsupported_media_type",
            "content-type",
        ),
        (
            w.call("POST", &jobs, Some(&plain), Some(json!({"window_start": "2020-01-01T00:00:00Z"})), &[]).await,
            422,
            "invalid_input",
            "window_end",
        ),
        (
            w.call(
                "POST",
                &jobs,
                Some(&plain),
                Some(json!({"window_start": "2020-01-02T00:00:00Z", "window_end": "2020-01-01T00:00:00Z"})),
                &[],
            )
            .await,
            422,
            "invalid_input",
            "",
        ),
        (
            w.get(&format!("/api/v1/tenants/{t}/reports?limit=abc"), Some(&plain)).await,
            400,
            "invalid_parameter",
            "limit",
        ),
        (
            w.get(&format!("/api/v1/tenants/{t}/reports?limit=-1"), Some(&plain)).await,
            400,
            "invalid_parameter",
            "limit",
        ),
        (w.get(&format!("/api/v1/tenants/{t}/reports?limit=0"), Some(&plain)).await, 422, "invalid_input", "limit"),
        (w.get(&format!("/api/v1/tenants/{t}/reports?limit=201"), Some(&plain)).await, 422, "invalid_input", "limit"),
        (w.get(&format!("/api/v1/tenants/{t}/jobs?cursor=zz"), Some(&plain)).await, 422, "invalid_input", "cursor"),
        (w.get("/api/v1/tenants/not-a-uuid", Some(&plain)).await, 400, "invalid_parameter", "id"),
        (
            w.get(&format!("/api/v1/jobs/{}/events?after=nope", w.cast.acme_job.id.as_uuid()), Some(&plain)).await,
            400,
            "invalid_parameter",
            "after",
        ),
        (
            w.call(
                "POST",
                &format!("/api/v1/reports/{}/questions", w.cast.acme_report.id.as_uuid()),
                Some(&plain),
                Some(json!({"question": "   "})),
                &[],
            )
            .await,
            422,
            "invalid_input",
            "question",
        ),
    ];
    for (i, (a, status, code, field)) in cases.into_iter().enumerate() {
        assert_eq!(a.status, status, "case {i}: {}", a.text);
        let body = a.json();
        assert_eq!(body["code"], code, "case {i}: {}", a.text);
        assert!(!body["message"].as_str().unwrap().is_empty(), "case {i}");
        if !field.is_empty() {
            assert_eq!(body["fields"][0]["field"], field, "case {i}: {}", a.text);
        } else {
            assert!(!body["fields"].as_array().unwrap().is_empty(), "case {i}: a field is named: {}", a.text);
        }
    }

    // A declared body over the 1 MiB limit is refused before it is read (raw TCP, so the client
    // does not race the early answer while still sending).
    let head = format!(
        "POST {jobs} HTTP/1.1\r\nhost: x\r\ncookie: {}\r\nx-csrf-token: {}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        plain.cookie,
        plain.csrf,
        2 * 1024 * 1024
    );
    let answer = raw_exchange(&w.base, head.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"code\":\"payload_too_large\""), "{answer}");
    let unknown = w.get("/api/v1/nothing-here", Some(&plain)).await;
    assert_eq!((unknown.status, unknown.json()["code"].as_str()), (404, Some("not_found")));
}

async fn an_active_job_conflict_names_the_job(w: &World) {
    let plain = w.login("plain").await;
    let path = format!("/api/v1/tenants/{}/jobs", w.cast.acme.id.as_uuid());
    let first = w.call("POST", &path, Some(&plain), Some(json!({"mode": "radist_only"})), &[]).await;
    assert_eq!(first.status, 202, "{}", first.text);
    let job = first.json();
    assert_eq!((job["status"].as_str(), job["mode"].as_str()), (Some("pending"), Some("radist_only")));
    let second = w
        .call(
            "POST",
            &path,
            Some(&plain),
            Some(json!({"window_start": "2020-01-01T00:00:00Z", "window_end": "2020-01-01T01:00:00Z"})),
            &[],
        )
        .await;
    // A window that old is refused before the conflict; a valid one meets the active job.
    assert!(matches!(second.status, 409 | 422), "{}", second.text);
    let third = w.call("POST", &path, Some(&plain), Some(json!({"mode": "amocrm_only"})), &[]).await;
    assert_eq!(third.status, 409, "{}", third.text);
    let body = third.json();
    assert_eq!(body["code"], "active_job");
    assert_eq!(body["active_job_id"], job["id"]);
    assert!(body["message"].as_str().unwrap().contains(job["id"].as_str().unwrap()));

    let stop = format!("/api/v1/jobs/{}/stop", job["id"].as_str().unwrap());
    let from = [("x-forwarded-for", "192.0.2.44")];
    assert_eq!(w.call("POST", &stop, Some(&plain), None, &from).await.json()["status"], "cancelled");
    let filter = synkro_core::domain::AuditFilter { tenant_id: Some(w.cast.acme.id), ..Default::default() };
    let page = synkro_core::PageRequest::first(50).unwrap();
    let audit = w.store.list_audit(&filter, &page).await.unwrap().items;
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["job.stop", "job.start"], "newest first");
    assert_eq!(audit[0].ip_address.as_deref(), Some("192.0.2.44"));
    assert_eq!(audit[1].metadata["job_id"], job["id"]);
    assert!(audit.iter().all(|a| a.actor_id.is_some()));
}

async fn raw_exchange(base: &str, bytes: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(base.trim_start_matches("http://")).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

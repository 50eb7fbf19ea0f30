//! Bad input is a 4xx JSON error naming the field, never a 500.

use serde_json::json;

use crate::support::World;

synkro_core::on_both_backends!(
    start = crate::support::World::start;
    bad_input_answers_4xx_with_code_and_field,
    an_active_job_conflict_names_the_job,
    a_nul_character_is_a_4xx_naming_the_field_anywhere,
    stored_markup_comes_back_as_json_data_only
);

/// Text the dashboard will render is stored as sent and served only as JSON string data: the
/// dashboard escapes it on output, and no API answer is ever HTML.
async fn stored_markup_comes_back_as_json_data_only(w: &World) {
    let root = w.login("root").await;
    let markup = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let made =
        w.call("POST", "/api/v1/tenants", Some(&root), Some(json!({"name": markup, "slug": "markup"})), &[]).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.json()["id"].as_str().unwrap().to_owned();
    let token = w.call("POST", "/api/v1/auth/tokens", Some(&root), Some(json!({"name": markup})), &[]).await;
    assert_eq!(token.status, 201, "{}", token.text);
    for (path, pointer) in [
        (format!("/api/v1/tenants/{id}"), "/name"),
        ("/api/v1/auth/tokens".to_owned(), "/0/name"),
        ("/api/v1/audit?action=tenant.create".to_owned(), "/items/0/metadata/name"),
    ] {
        let answer = w.get(&path, Some(&root)).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        let content_type = answer.header("content-type").unwrap_or_default().to_owned();
        assert!(content_type.starts_with("application/json"), "{path}: {content_type}");
        let value = answer.json();
        let text = value.pointer(pointer).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        assert!(text.contains(markup), "{path}: the text comes back as it was stored: {text}");
    }
}

/// PostgreSQL cannot store a NUL character: every text that could carry one, anonymous login
/// included, is refused by name instead of failing inside the database.
async fn a_nul_character_is_a_4xx_naming_the_field_anywhere(w: &World) {
    let root = w.login("root").await;
    let t = w.cast.acme.id.as_uuid();
    let raw_login = w
        .request(reqwest::Method::POST, "/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(r#"{"username": "ro\u0000ot", "password": "x"}"#);
    let cases = vec![
        (w.send(raw_login).await, "username"),
        (
            w.call("POST", "/api/v1/tenants", Some(&root), Some(json!({"name": "a\u{0}b", "slug": "nul"})), &[]).await,
            "name",
        ),
        (w.call("POST", "/api/v1/auth/tokens", Some(&root), Some(json!({"name": "ci\u{0}"})), &[]).await, "name"),
        (
            w.call("POST", "/api/v1/users", Some(&root), Some(json!({"username": "z", "email": "a\u{0}@b.c"})), &[])
                .await,
            "email",
        ),
        (
            w.call(
                "PATCH",
                &format!("/api/v1/tenants/{t}/runtime-config"),
                Some(&root),
                Some(json!({"prompt": "hello\u{0}"})),
                &[],
            )
            .await,
            "prompt",
        ),
        (
            w.call(
                "PUT",
                &format!("/api/v1/tenants/{t}/integrations/telegram"),
                Some(&root),
                Some(json!({
                    "public_config": {"chat_id": "-100"},
                    "secrets": {"bot_token": {"action": "replace", "value": "12:ab\u{0}c"}},
                })),
                &[],
            )
            .await,
            "secrets.bot_token.value",
        ),
        (w.get("/api/v1/audit?action=job%00start", Some(&root)).await, "action"),
    ];
    for (i, (answer, field)) in cases.into_iter().enumerate() {
        assert!((400..500).contains(&answer.status), "case {i}: {} {}", answer.status, answer.text);
        assert_eq!(answer.json()["fields"][0]["field"], field, "case {i}: {}", answer.text);
    }
}

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
    assert_eq!((job["status"].as_str(), job["mode"].as_str()), (Some("pending"), Some("chats_only")));
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

/// What costs money or messages has a per-user allowance: manual runs (each posts to
/// Telegram), follow-up questions (each is an AI call), row exports (each reads the warehouse)
/// and open live-progress streams. Over
/// it, a 429 with `Retry-After`; another user is not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_user_allowances_answer_429_with_retry_after() {
    let limits = synkro_http::limits::UserLimitConfig {
        streams: 1,
        questions_per_hour: 6,
        runs_per_hour: 6,
        exports_per_hour: 6,
    };
    let config = synkro_http::HttpConfig { user_limits: limits, ..synkro_http::HttpConfig::default() };
    let w = World::start_with("sqlite", "user_limits", config).await.unwrap();
    let plain = w.login("plain").await;
    let t = w.cast.acme.id.as_uuid();
    let limited = |a: &crate::support::Answer, what: &str| {
        assert_eq!((a.status, a.json()["code"].as_str()), (429, Some("rate_limited")), "{what}: {}", a.text);
        let retry: u64 = a.header("retry-after").unwrap().parse().unwrap();
        assert!(retry >= 1, "{what}: {retry}");
    };

    let first = w.call("POST", &format!("/api/v1/tenants/{t}/jobs"), Some(&plain), Some(json!({})), &[]).await;
    assert_ne!(first.status, 429, "{}", first.text);
    let second = w.call("POST", &format!("/api/v1/tenants/{t}/jobs"), Some(&plain), Some(json!({})), &[]).await;
    limited(&second, "manual runs");

    let ask = format!("/api/v1/reports/{}/questions", w.cast.acme_report.id.as_uuid());
    let first = w.call("POST", &ask, Some(&plain), Some(json!({"question": "How did we do?"})), &[]).await;
    assert_ne!(first.status, 429, "{}", first.text);
    limited(&w.call("POST", &ask, Some(&plain), Some(json!({"question": "And now?"})), &[]).await, "questions");

    // Each row export reads the tenant's warehouse.
    let rows = format!("/api/v1/reports/{}/rows.csv", w.cast.acme_report.id.as_uuid());
    assert_eq!(w.get(&rows, Some(&plain)).await.status, 200);
    limited(&w.get(&rows, Some(&plain)).await, "exports");

    // A pending job's stream stays open (no worker runs here).
    let now = synkro_core::time::Timestamp::now().unix_seconds();
    let start = synkro_core::time::Timestamp::from_unix_seconds(now - 7200).unwrap();
    let end = synkro_core::time::Timestamp::from_unix_seconds(now - 3600).unwrap();
    let request = synkro_pipeline::ReportRequest::manual(w.cast.other.id).window(start, end);
    let pending = w.state.service.enqueue_report(request).await.unwrap();
    let stranger = w.login("stranger").await;
    let stream = format!("/api/v1/jobs/{}/stream", pending.id.as_uuid());
    let held = w.request(reqwest::Method::GET, &stream).header("cookie", &stranger.cookie).send().await.unwrap();
    assert_eq!(held.status().as_u16(), 200, "the first stream stays open");
    let refused = w.send(w.request(reqwest::Method::GET, &stream).header("cookie", &stranger.cookie)).await;
    limited(&refused, "streams");
    drop(held);
    w.finish().await;
}

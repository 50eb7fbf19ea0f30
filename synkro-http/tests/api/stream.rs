//! Live progress of a real job over Server-Sent Events: a report run against the sandbox, from
//! the first step to `done`, and a reconnect that resumes after the last line it saw.

use std::time::Duration;

use serde_json::{Value, json};
use synkro_core::domain::{NewUserRole, Role};
use synkro_sandbox::TenantSetup;

use crate::support::{Login, World};

synkro_core::on_both_backends!(start = crate::support::World::start; a_real_job_streams_from_start_to_done);

/// One Server-Sent Event: its type, id and JSON data.
#[derive(Debug)]
struct Sse {
    event: String,
    id: Option<String>,
    data: Value,
}

fn parse(text: &str) -> Vec<Sse> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut sse = Sse { event: "message".into(), id: None, data: Value::Null };
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    sse.event = v.to_owned();
                } else if let Some(v) = line.strip_prefix("id: ") {
                    sse.id = Some(v.to_owned());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push_str(v);
                }
            }
            if data.is_empty() {
                return None; // keep-alive comments
            }
            sse.data = serde_json::from_str(&data).unwrap();
            Some(sse)
        })
        .collect()
}

/// Reads the stream as it arrives until `done`, and checks it arrives in pieces (live), not at once.
async fn read_stream(w: &World, path: &str, login: &Login, last_event_id: Option<&str>) -> (Vec<Sse>, usize) {
    let mut req = w.request(reqwest::Method::GET, path).header("cookie", &login.cookie);
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    let mut response = req.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    let mut chunks = 0;
    let read = async {
        while let Some(chunk) = response.chunk().await.unwrap() {
            chunks += 1;
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(Duration::from_secs(180), read).await.expect("the stream ends after done");
    (parse(&text), chunks)
}

async fn a_real_job_streams_from_start_to_done(w: &World) {
    let setup = TenantSetup { timezone: "UTC".into(), ..TenantSetup::full("live") };
    let live = w.sandbox.provision_tenant(&w.store, w.state.service.keyring(), &setup).await.unwrap();
    let plain = w.store.get_user_by_username("plain").await.unwrap();
    w.store.grant_role(&NewUserRole { user_id: plain.id, tenant_id: Some(live.id), role: Role::User }).await.unwrap();
    w.workers.start().await;
    let login = w.login("plain").await;
    let format = &time::format_description::well_known::Rfc3339;
    let config = w.sandbox.config();
    let window = json!({
        "window_start": config.window_start.as_offset().format(format).unwrap(),
        "window_end": config.window_end().as_offset().format(format).unwrap(),
    });
    let started =
        w.call("POST", &format!("/api/v1/tenants/{}/jobs", live.id.as_uuid()), Some(&login), Some(window), &[]).await;
    assert_eq!(started.status, 202, "{}", started.text);
    let job = started.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/jobs/{job}/stream");

    let (events, chunks) = read_stream(w, &path, &login, None).await;
    assert!(chunks > 3, "events arrive as they happen, not in one piece ({chunks} chunks)");
    assert_eq!(events[0].event, "job", "the job first: {events:?}");
    assert!(matches!(events[0].data["job"]["status"].as_str(), Some("pending" | "running")), "{:?}", events[0]);
    let last = events.last().unwrap();
    assert_eq!(last.event, "done");
    assert_eq!(
        (last.data["job"]["status"].clone(), last.data["job"]["progress"].clone()),
        (json!("success"), json!(100))
    );
    assert_eq!(events.iter().filter(|e| e.event == "done").count(), 1);

    let progress: Vec<u64> =
        events.iter().filter(|e| e.event != "log").map(|e| e.data["job"]["progress"].as_u64().unwrap()).collect();
    assert!(progress.windows(2).all(|p| p[0] <= p[1]), "progress only grows: {progress:?}");
    assert!(progress.len() >= 3, "state changes are streamed, not only the start and the end: {progress:?}");
    let logs: Vec<&Sse> = events.iter().filter(|e| e.event == "log").collect();
    let steps: Vec<&str> = logs.iter().filter_map(|e| e.data["event"]["step"].as_str()).collect();
    for step in ["check_config", "sync_sources", "load_rows", "summary", "ai_text", "save_report", "deliver", "done"] {
        assert!(steps.contains(&step), "{step} missing from {steps:?}");
    }
    let ids: Vec<&str> = logs.iter().map(|e| e.id.as_deref().unwrap()).collect();
    let stored = w.get(&format!("/api/v1/jobs/{job}/events"), Some(&login)).await.json();
    let stored_ids: Vec<&str> = stored.as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, stored_ids, "every stored line, once, in order, with its id");

    // A reconnect with Last-Event-ID gets only the later lines, then done.
    let (resumed, _) = read_stream(w, &path, &login, Some(ids[1])).await;
    let resumed_ids: Vec<&str> =
        resumed.iter().filter(|e| e.event == "log").map(|e| e.id.as_deref().unwrap()).collect();
    assert_eq!(resumed_ids, &ids[2..]);
    assert_eq!(resumed.last().unwrap().event, "done");
    assert!(!w.sandbox.telegram_sent().is_empty(), "the report really went out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_job_refreshes_its_tenants_cached_report_list_at_once() {
    // Pages would otherwise be reused for a minute: only the finished job can refresh it.
    let config = synkro_http::HttpConfig { report_list_cache_ttl: Duration::from_secs(60), ..Default::default() };
    let w = World::start_with("sqlite", "page_cache", config).await.unwrap();
    let setup = TenantSetup { timezone: "UTC".into(), ..TenantSetup::full("live") };
    let live = w.sandbox.provision_tenant(&w.store, w.state.service.keyring(), &setup).await.unwrap();
    let root = w.login("root").await;
    let list = format!("/api/v1/tenants/{}/reports", live.id.as_uuid());
    let count = async || w.get(&list, Some(&root)).await.json()["items"].as_array().unwrap().len();
    assert_eq!(count().await, 0);
    w.workers.start().await;
    let config = w.sandbox.config();
    let request = synkro_pipeline::ReportRequest::manual(live.id).window(config.window_start, config.window_end());
    let job = w.state.service.enqueue_report(request).await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(120), w.state.service.wait(job.id)).await.unwrap().unwrap();
    assert_eq!(done.status.as_str(), "success");
    let deadline = std::time::Instant::now() + Duration::from_millis(500);
    while count().await == 0 {
        assert!(std::time::Instant::now() < deadline, "the cached empty page outlived the job that made a report");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    w.finish().await;
}

//! The server under load, served by the release `synkro serve --no-workers` process and driven by
//! `wrk` (Debian package `wrk`) at 32 and 64 connections, on SQLite and (when
//! SYNKRO_TEST_DATABASE_URL is set) on PostgreSQL:
//!
//! - `api`: an authenticated `GET /api/v1/tenants/{id}/reports?limit=50` (a page of 50 reports
//!   with their summaries), against the targets of issue 6 on this 2-core machine: ≥ 10,000
//!   requests/s on SQLite, p99 < 10 ms, RSS < 64 MiB;
//! - `overview` and `report`: the dashboard's overview (`/`) and report page (`/reports/{id}`)
//!   as a signed-in browser gets them, against issue 14's p99 < 20 ms at 32 connections.
//!
//! Reports requests/s, p50/p99 latency, CPU time per request and the server's resident memory.
//! `cargo bench --bench http` (SYNKRO_BENCH_SECONDS=15 by default; SYNKRO_BENCH_PAGES=api,overview,report
//! picks pages; wrk and the server share the machine's cores, as they would behind a proxy on
//! one box). Figures in docs/benchmarks.md.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::json;
use synkro::{
    Keyring, Store,
    domain::{NewReport, NewTenant, NewUser, NewUserRole, ReportStatus, ReportType, Role, Window},
    time::Timestamp,
};

const PASSWORD: &str = "bench password 1";

/// A real report's shape: the summary the list shows, and details it does not.
fn metadata(i: usize) -> serde_json::Value {
    let statuses: serde_json::Map<String, serde_json::Value> =
        (0..10).map(|s| (format!("Этап воронки {s}"), json!((i * 7 + s) % 23))).collect();
    let managers: serde_json::Map<String, serde_json::Value> =
        (0..8).map(|m| (format!("Менеджер {m}"), json!((i + m * 3) % 17))).collect();
    json!({
        "mode": "crm_chats", "trigger": "scheduled",
        "summary": {"total_deals": 40 + i % 9, "deals_with_dialogs": 31, "total_messages": 512 + i,
                    "by_status": statuses, "by_manager": managers},
        "previews": (0..20).map(|d| json!({"deal_id": d, "preview": "Клиент: добрый день! ".repeat(10)})).collect::<Vec<_>>(),
    })
}

/// A report's conversation analytics as the pipeline writes them, for the report page's charts
/// and tables.
fn analytics(start: Timestamp) -> synkro::domain::Analytics {
    use synkro::domain::{Analytics, DayFigures, HourFigures, ManagerFigures, SlowResponse, WaitingClient};
    Analytics {
        day: DayFigures {
            deals: 40,
            deals_with_dialogs: 31,
            inbound_messages: 300,
            outbound_messages: 212,
            ..Default::default()
        },
        managers: (0..8)
            .map(|m| ManagerFigures {
                manager: format!("Менеджер {m}"),
                dialogs: 4,
                messages: 60,
                first_response_median_secs: Some(300 + m * 60),
                first_response_p90_secs: Some(3_600),
                clients_waiting: 1,
            })
            .collect(),
        stages: Vec::new(),
        waiting: (0..10)
            .map(|d| WaitingClient {
                deal_id: d,
                deal_name: format!("Сделка {d}"),
                manager: "Менеджер 1".into(),
                waiting_secs: 3_600,
            })
            .collect(),
        slowest: (0..10)
            .map(|d| SlowResponse {
                deal_id: d,
                deal_name: format!("Сделка {d}"),
                manager: "Менеджер 2".into(),
                response_secs: 7_200,
            })
            .collect(),
        hours: (0..24)
            .map(|h| HourFigures { start: start + time::Duration::hours(h), dialogs: 3, messages: 20 })
            .collect(),
    }
}

/// The seeded tenant's id and its newest report's.
async fn seed(url: &str) -> (String, String) {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    let tenant = store.create_tenant(&NewTenant::new("Bench", "bench", "Europe/Berlin").unwrap()).await.unwrap();
    let mut user = NewUser::new("reader").unwrap();
    user.password_hash = Some(synkro::http::auth::password::hash(PASSWORD).unwrap());
    let user = store.create_user(&user).await.unwrap();
    store.grant_role(&NewUserRole { user_id: user.id, tenant_id: Some(tenant.id), role: Role::User }).await.unwrap();
    let text = "Итоги дня: 40 сделок, 31 с диалогами, 512 сообщений. ".repeat(80);
    let mut newest = String::new();
    for i in 0..200 {
        let start = Timestamp::from_unix_seconds(1_780_000_000 + i as i64 * 86_400).unwrap();
        let end = Timestamp::from_unix_seconds(1_780_086_400 + i as i64 * 86_400).unwrap();
        let mut details = metadata(i);
        let summary = details.as_object_mut().and_then(|m| m.remove("summary")).unwrap();
        let report = NewReport {
            tenant_id: tenant.id,
            job_id: None,
            period_start: start.as_offset().date(),
            period_end: start.as_offset().date(),
            window: Window::new(start, end).unwrap(),
            report_type: ReportType::ALL[0],
            status: ReportStatus::ALL[2],
            summary_text: text.clone(),
            summary: serde_json::from_value(summary).unwrap(),
            ai: synkro::domain::AiOutcome { model: Some("gpt-4o-mini".into()), ..Default::default() },
            analytics: analytics(start),
            metadata: details,
            data_ref: None,
            followup_deadline_at: None,
        };
        newest = store.create_report(&report).await.unwrap().id.as_uuid().to_string();
    }
    store.close().await;
    (tenant.id.as_uuid().to_string(), newest)
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(url: &str, data_dir: &std::path::Path, keyring: &Keyring, cached: bool) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bind = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_synkro"))
        .args(["serve", "--no-workers"])
        .env_clear()
        .env("SYNKRO_DATABASE_URL", url)
        .env("SYNKRO_DATA_DIR", data_dir)
        .env("SYNKRO_SECRET_KEYS", keyring.primary_key().expose())
        .env("SYNKRO_BIND", &bind)
        .env("SYNKRO_LOG", "warn")
        .envs(if cached { vec![] } else { vec![("SYNKRO_AUTH_CACHE_MS", "0"), ("SYNKRO_PAGE_CACHE_MS", "0")] })
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(&bind).is_err() {
        assert!(Instant::now() < deadline, "the server never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child, base: format!("http://{bind}") }
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// A `/proc/{pid}/status` figure in MiB (`VmRSS`, `VmHWM`).
fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() / 1024.0
}

struct Run {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: f64,
    errors: u64,
}

fn millis(text: &str) -> f64 {
    let (number, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic()).unwrap());
    let n: f64 = number.parse().unwrap();
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        other => panic!("unknown unit {other}"),
    }
}

fn wrk(url: &str, cookie: &str, connections: u32, seconds: u32) -> Run {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-H",
            &format!("Cookie: {cookie}"),
        ])
        .arg(url)
        .output()
        .expect("wrk is not installed: apt-get install wrk");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let find = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix} in {text}"))
            .to_owned()
    };
    let rps: f64 = find("Requests/sec:").split_whitespace().nth(1).unwrap().parse().unwrap();
    let p50 = millis(find("50%").split_whitespace().nth(1).unwrap());
    let p99 = millis(find("99%").split_whitespace().nth(1).unwrap());
    let requests: f64 = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    let errors = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("Non-2xx or 3xx responses:"))
        .map_or(0, |l| l.rsplit(' ').next().unwrap().parse().unwrap());
    Run { rps, p50_ms: p50, p99_ms: p99, requests, errors }
}

async fn bench(label: &str, url: &str, seconds: u32) {
    let dir = tempfile::tempdir().unwrap();
    let keyring = Keyring::generate();
    let (tenant, report) = seed(url).await;
    let pages = std::env::var("SYNKRO_BENCH_PAGES").unwrap_or_else(|_| "api,overview,report".into());
    // As served (callers remembered 2 s, pages 1 s), then with both caches off: every request
    // reads its session, user, roles and page from the database.
    for (cached, how) in [(true, "as served"), (false, "no caches")] {
        let server = start_server(url, dir.path(), &keyring, cached);
        for page in pages.split(',') {
            let (path, check) = match page {
                "api" => (format!("/api/v1/tenants/{tenant}/reports?limit=50"), "\"items\""),
                "overview" => ("/".to_owned(), "class=\"card tenant\""),
                "report" => (format!("/reports/{report}"), "<svg class=\"chart"),
                other => panic!("unknown page {other}: use api, overview or report"),
            };
            measure(&format!("{label} {page} ({how})"), &server, &path, check, seconds).await;
        }
    }
}

async fn measure(label: &str, server: &Server, path: &str, check: &str, seconds: u32) {
    let http = reqwest::Client::new();
    let login = http
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"username": "reader", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let target = format!("{}{path}", server.base);
    let page = http.get(&target).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status(), 200, "{target}");
    let body = page.text().await.unwrap();
    assert!(body.contains(check), "{target} is the page it should be: {body}");
    if let Ok(list) = serde_json::from_str::<serde_json::Value>(&body) {
        assert_eq!(list["items"].as_array().unwrap().len(), 50, "a page of 50 reports");
    }
    println!("{label}: {path}, {} bytes per response", body.len());
    // Warm up (connections, SQLite page cache, allocator).
    wrk(&target, &cookie, 32, 2);
    let pid = server.child.id();
    for connections in [32, 64] {
        // SYNKRO_BENCH_PERF=FILE samples the server with `perf record` during the 32-connection run.
        let perf = std::env::var("SYNKRO_BENCH_PERF").ok().filter(|_| connections == 32).map(|file| {
            let name: String = label.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
            Command::new("perf")
                .args(["record", "-F", "499", "-g", "-o", &format!("{file}.{name}"), "-p", &pid.to_string()])
                .args(["--", "sleep", &seconds.to_string()])
                .stderr(Stdio::null())
                .spawn()
                .expect("perf (Debian package linux-perf)")
        });
        let cpu = cpu_seconds(pid);
        let run = wrk(&target, &cookie, connections, seconds);
        if let Some(mut perf) = perf {
            let _ = perf.wait();
        }
        let cpu = cpu_seconds(pid) - cpu;
        let per_request_us = cpu / run.requests * 1e6;
        println!(
            "{label} c={connections:<3} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  cpu {per_request_us:>5.0} µs/req  \
             rss {:>5.1} MiB (peak {:>5.1})  non-2xx {}",
            run.rps,
            run.p50_ms,
            run.p99_ms,
            memory_mib(pid, "VmRSS:"),
            memory_mib(pid, "VmHWM:"),
            run.errors
        );
        if path.starts_with("/api/") {
            println!(
                "    vs targets: {:.2} × 10,000 req/s, p99 {:.2} × 10 ms, peak RSS {:.2} × 64 MiB",
                run.rps / 10_000.0,
                run.p99_ms / 10.0,
                memory_mib(pid, "VmHWM:") / 64.0
            );
        } else {
            println!("    vs target: p99 {:.2} × 20 ms", run.p99_ms / 20.0);
        }
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list
    }
    let seconds: u32 = std::env::var("SYNKRO_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(15);
    let only = std::env::var("SYNKRO_BENCH_DB").ok();
    if only.as_deref().is_none_or(|o| o == "sqlite") {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
        bench("sqlite", &url, seconds).await;
    }
    if only.as_deref().is_none_or(|o| o == "postgres") {
        let Ok(admin) = std::env::var("SYNKRO_TEST_DATABASE_URL") else {
            println!("postgres: skipped (set SYNKRO_TEST_DATABASE_URL)");
            return;
        };
        let name = format!("synkro_bench_{}", std::process::id());
        let pool = sqlx::PgPool::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&pool).await.unwrap();
        let (base, _) = admin.rsplit_once('/').unwrap();
        bench("postgres", &format!("{base}/{name}"), seconds).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&pool).await.unwrap();
    }
}

//! Benchmarks of the report pipeline and job engine against the sandbox, at the services' real
//! rate limits, each scenario printing a markdown table and asserting its target:
//!
//! - a: one tenant-day of 2,000 deals and their chats (crm_chats, AI, built-in warehouse):
//!   wall time against the rate-limit floor (amoCRM requests ÷ 7/s + Radist requests ÷ 5/s; the
//!   Radist phase needs the deals' phones, so the two phases run one after the other), ≤ 1.2 ×.
//! - b: 1,000 tenants, each with its own amoCRM account, whose scheduled reports fall due at once
//!   (`scheduler::tick`), 64 workers: wall time, jobs/s, per-job time spread, peak RSS ≤ 512 MiB.
//! - c: peak RSS of one report over a 100,000-deal window (crm_only), ≤ 128 MiB.
//! - d: 200 runs over 20 tenants with their own accounts (2 amoCRM requests per run once the
//!   names are cached): runs/s against the floor 20 × 7 ÷ 2 = 70/s, ≥ 0.85 of it.
//! - e: 20 tenants sharing one amoCRM account and one Telegram chat, all due at once: no 429s
//!   and every report delivered.
//! - f: the same agency on a busy machine for two minutes: 20 tenants on one amoCRM account
//!   running report after report on three engine nodes that pace through one Redis, which is
//!   flushed every 30 s, while busy threads keep both cores loaded: no 429s, and the amoCRM
//!   rate achieved against its 7/s limit. Needs Redis (`SYNKRO_BENCH_REDIS_URL`, else
//!   `SYNKRO_TEST_REDIS_URL`; database 12 is flushed); `SYNKRO_BENCH_SECONDS`,
//!   `SYNKRO_BENCH_BUSY` (busy threads, default 2), `SYNKRO_BENCH_FLUSH_SECONDS` and
//!   `SYNKRO_BENCH_MARGIN` (the limiter's pacing margin, default the library's) tune it.
//!
//! The sandbox runs in a child process (this executable again, in the sandbox role: Cargo
//! builds no other package's binary for a benchmark), so its generated data and request log
//! never count in this process's peak RSS (VmHWM from /proc/self/status). Without
//! `SYNKRO_BENCH` every scenario runs in a child process of its own, so each peak is its own.
//!
//! `cargo bench --bench pipeline` (about 9 minutes after the build); `SYNKRO_BENCH=c cargo
//! bench --bench pipeline` runs one scenario, `SYNKRO_BENCH=b,d` several; `SYNKRO_BENCH_DEALS`
//! sets the deals of scenario c. The store is SQLite (WAL) in a temporary directory. Figures in
//! docs/benchmarks.md.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout, clippy::large_futures)]

use std::{
    process::{Command, ExitCode},
    sync::Arc,
    time::{Duration, Instant},
};

use synkro::{
    Keyring, PageRequest, Store,
    connector::OutboundPolicy,
    domain::{JobRun, JobStatus, ReportMode, ReportStatus, Summary, TenantRuntimeConfig, TriggerType},
    ids::TenantId,
    pipeline::{ReportRequest, WorkerConfig, Workers, scheduler, window::latest_due},
    time::{TimeZoneName, Timestamp},
};
use synkro_sandbox::{
    SandboxConfig, Service, TenantSetup,
    remote::{RemoteSandbox, Stats},
};

/// Set in the child process that serves the sandbox.
const SANDBOX_ROLE: &str = "SYNKRO_BENCH_SANDBOX_ROLE";

const SCENARIOS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

const MIB: f64 = 1024.0 * 1024.0;

fn main() -> ExitCode {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if std::env::var_os(SANDBOX_ROLE).is_some() {
        return match rt.block_on(synkro_sandbox::remote::serve_stdio_from_env()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("sandbox: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let selected = std::env::var("SYNKRO_BENCH").unwrap_or_default();
    let selected: Vec<String> = selected
        .split([',', ' '])
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty() && s != "all")
        .collect();
    if let Some(bad) = selected.iter().find(|s| !SCENARIOS.contains(&s.as_str())) {
        eprintln!("SYNKRO_BENCH={bad:?}: the scenarios are {}", SCENARIOS.join(", "));
        return ExitCode::FAILURE;
    }
    if let [only] = selected.as_slice() {
        rt.block_on(run_scenario(only));
        return ExitCode::SUCCESS;
    }
    // Each scenario in a process of its own: its peak RSS is its own.
    let list: Vec<&str> =
        if selected.is_empty() { SCENARIOS.to_vec() } else { selected.iter().map(String::as_str).collect() };
    let mut failed = Vec::new();
    for scenario in list {
        let status = Command::new(std::env::current_exe().unwrap()).env("SYNKRO_BENCH", scenario).status().unwrap();
        if !status.success() {
            failed.push(scenario);
        }
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("scenarios that missed their target or failed: {}", failed.join(", "));
        ExitCode::FAILURE
    }
}

async fn run_scenario(name: &str) {
    match name {
        "a" => one_tenant_day().await,
        "b" => thousand_tenants_due_at_once().await,
        "c" => hundred_thousand_deal_window().await,
        "d" => runs_per_second_over_twenty_accounts().await,
        "e" => agency_shares_one_account_and_one_chat().await,
        "f" => agency_on_redis_through_flushes_and_load().await,
        _ => unreachable!("checked in main"),
    }
}

// ---------------------------------------------------------------------------------------------
// The world: a sandbox process, a SQLite store, a service routed to the sandbox and workers.

struct World {
    sandbox: RemoteSandbox,
    service: synkro::pipeline::Service,
    workers: Workers,
    keyring: Keyring,
    _dir: tempfile::TempDir,
}

async fn world(config: SandboxConfig, workers: usize) -> World {
    let mut server = Command::new(std::env::current_exe().unwrap());
    server.env(SANDBOX_ROLE, "1").env_remove("SYNKRO_BENCH");
    let sandbox = RemoteSandbox::spawn(server, &config).expect("the sandbox process starts");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/synkro.db?mode=rwc", dir.path().display())).await.unwrap();
    store.migrate().await.unwrap();
    let keyring = Keyring::generate();
    let registry = synkro::connector::Registry::from_linked().unwrap();
    // Production settings (timeouts, retries, lease, pacing) except the number of workers.
    let mut builder = synkro::pipeline::Service::builder(store, registry, keyring.clone())
        .node("bench")
        .outbound(OutboundPolicy::loopback());
    for (kind, url) in sandbox.endpoints() {
        builder = builder.endpoint(kind, url);
    }
    let service = builder.build().await.unwrap();
    let workers = Workers::new(&service, WorkerConfig { workers, ..Default::default() });
    World { sandbox, service, workers, keyring, _dir: dir }
}

/// Another node on `w`'s store and sandbox, pacing and waking through `redis`; its
/// limiter paces at the default margin unless `margin` says otherwise.
async fn redis_node(w: &World, node: &str, workers: usize, redis: &str, margin: Option<f64>) -> Workers {
    let registry = synkro::connector::Registry::from_linked().unwrap();
    let mut builder = synkro::pipeline::Service::builder(w.service.store().clone(), registry, w.keyring.clone())
        .node(node)
        .redis(redis)
        .outbound(OutboundPolicy::loopback());
    if let Some(margin) = margin {
        let conn = synkro::pipeline::redis::connect(redis).await.unwrap();
        let limiter = synkro::pipeline::redis::RedisRateLimiter::new(conn, synkro::pipeline::redis::KEY_PREFIX)
            .with_margin(margin);
        builder = builder.rate_limiter(Arc::new(limiter));
    }
    for (kind, url) in w.sandbox.endpoints() {
        builder = builder.endpoint(kind, url);
    }
    Workers::new(&builder.build().await.unwrap(), WorkerConfig { workers, ..Default::default() })
}

impl World {
    /// A tenant set up as `setup`, scheduled as one that has existed for long: windows due
    /// before it was created here count (scenarios b and e tick the scheduler for one).
    async fn tenant(&self, setup: TenantSetup) -> TenantId {
        let id = self.sandbox.provision_tenant(self.service.store(), &self.keyring, &setup).await.unwrap().id;
        synkro::testing::backdate_schedule(self.service.store(), id, Timestamp::from_unix_seconds(0).unwrap()).await;
        id
    }

    fn window(&self) -> (Timestamp, Timestamp) {
        let a = self.sandbox.announcement();
        (a.window_start, a.window_end)
    }

    /// Enqueues a system report for the sandbox's window, its end moved by `shift` seconds (a
    /// distinct window is a distinct job).
    async fn enqueue(&self, tenant: TenantId, shift: i64) -> JobRun {
        self.enqueue_on(&self.service, tenant, shift).await
    }

    /// [`World::enqueue`] through another node.
    async fn enqueue_on(&self, service: &synkro::pipeline::Service, tenant: TenantId, shift: i64) -> JobRun {
        let (start, end) = self.window();
        let request = ReportRequest { trigger: TriggerType::System, ..ReportRequest::manual(tenant) }
            .window(start, end + time::Duration::seconds(shift));
        service.enqueue_report(request).await.unwrap()
    }

    fn stats(&self) -> Stats {
        self.sandbox.stats().unwrap()
    }

    /// Waits until no job is pending or running, then returns every job.
    async fn drain(&self) -> Vec<JobRun> {
        loop {
            let depth = self.service.store().queue_depth(Timestamp::now()).await.unwrap();
            if depth.pending_due + depth.pending_later + depth.running == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let store = self.service.store();
        let mut jobs = Vec::new();
        let mut page = store.list_jobs(None, &PageRequest::first(200).unwrap()).await.unwrap();
        loop {
            jobs.extend(page.items);
            let Some(cursor) = page.next_cursor else { break };
            page = store.list_jobs(None, &PageRequest::after(200, cursor).unwrap()).await.unwrap();
        }
        jobs
    }

    /// The summary of `job`'s report, which no cap may have cut.
    async fn summary(&self, job: &JobRun) -> Summary {
        let report = self.service.store().report_for_job(job.id).await.unwrap().expect("the job saved a report");
        let cuts = &report.metadata["truncations"];
        assert!(cuts.as_array().is_some_and(Vec::is_empty), "the whole window was read: {cuts}");
        report.summary.clone().expect("the report has its numbers")
    }

    async fn assert_succeeded(&self, jobs: &[JobRun]) {
        for job in jobs {
            if job.status != JobStatus::Success {
                let events = self.service.store().list_job_events(job.id, None, 100).await.unwrap();
                let log: Vec<String> = events.iter().map(|e| format!("{} {}", e.level, e.message)).collect();
                panic!("job {} ended {:?}: {:?}", job.id, job.status, log);
            }
        }
    }
}

fn setup(slug: &str, mode: ReportMode) -> TenantSetup {
    TenantSetup { mode, ai: false, telegram: false, supabase: false, ..TenantSetup::full(slug) }
}

/// This process's peak resident set size (VmHWM), in bytes.
fn peak_rss() -> u64 {
    rss_of("self", "VmHWM")
}

fn rss_of(pid: &str, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.trim_start_matches(':').trim().strip_suffix("kB")?.trim().parse().ok())
        .map_or(0, |kb: u64| kb * 1024)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn run_time(job: &JobRun) -> Duration {
    between(job.started_at.unwrap(), job.finished_at.unwrap())
}

fn between(a: Timestamp, b: Timestamp) -> Duration {
    Duration::from_micros((b.unix_micros() - a.unix_micros()).max(0) as u64)
}

/// p50 / p90 / p99 / max of `values`.
fn spread(mut values: Vec<Duration>) -> [Duration; 4] {
    values.sort();
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    [at(0.5), at(0.9), at(0.99), at(1.0)]
}

fn spread_text(values: Vec<Duration>) -> String {
    let [p50, p90, p99, max] = spread(values);
    format!(
        "{:.2} / {:.2} / {:.2} / {:.2} s",
        p50.as_secs_f64(),
        p90.as_secs_f64(),
        p99.as_secs_f64(),
        max.as_secs_f64()
    )
}

/// The default schedule's window that is due now for UTC tenants, and `now`.
fn due_window() -> (Timestamp, Timestamp) {
    let defaults = TenantRuntimeConfig::defaults(TenantId::new(), TimeZoneName::utc());
    let now = Timestamp::now();
    let (_, window) = latest_due(now, &TimeZoneName::utc(), defaults.scheduled_run_time, defaults.business_day_start);
    (now, window.start())
}

// ---------------------------------------------------------------------------------------------
// a: one tenant-day at the real limits.

async fn one_tenant_day() {
    let w = world(SandboxConfig { deals: 2_000, ..Default::default() }, 2).await;
    let a = w.sandbox.announcement().clone();
    // Caps high enough for the whole day (the defaults would cut at 300 chats, and say so).
    let settings = [("radist".to_owned(), serde_json::json!({"max_chats": 10_000, "max_chat_pages": 1_000}))].into();
    let acme = w.tenant(TenantSetup { ai: true, settings, ..setup("acme", ReportMode::CrmChats) }).await;
    w.workers.start().await;
    let started = Instant::now();
    let job = w.enqueue(acme, 0).await;
    let job = w.service.wait(job.id).await.unwrap();
    let wall = started.elapsed();
    w.assert_succeeded(std::slice::from_ref(&job)).await;
    let stats = w.stats();
    let summary = w.summary(&job).await;

    // Phases from the job's events.
    let events = w.service.store().list_job_events(job.id, None, 1000).await.unwrap();
    let at = |needle: &str| events.iter().find(|e| e.message.contains(needle)).map(|e| e.created_at).unwrap();
    let amocrm_phase = between(at("configuration complete"), at("deals read"));
    let radist_phase = between(at("deals read"), at("dialogs read"));
    let rest = between(at("dialogs read"), job.finished_at.unwrap());

    let (amo, radist) = (stats.requests(Service::Amocrm), stats.requests(Service::Radist));
    let rejected = stats.rate_limited(Service::Amocrm) + stats.rate_limited(Service::Radist);
    let amo_floor = Duration::from_secs_f64(amo as f64 / 7.0);
    let radist_floor = Duration::from_secs_f64(radist as f64 / 5.0);
    let floor = amo_floor + radist_floor;
    let ratio = wall.as_secs_f64() / floor.as_secs_f64();
    println!("\n### a: one tenant-day, crm_chats, AI, built-in warehouse, real limits\n");
    println!(
        "| deals in window | chats with messages in window | report: deals / with dialogs / messages | amoCRM requests | Radist requests | 429s | floor (amoCRM ÷ 7/s + Radist ÷ 5/s) | wall time | wall ÷ floor |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {} / {} / {} | {amo} | {radist} | {rejected} | {} + {} = {} | {} | {ratio:.3} |",
        a.leads_in_window,
        a.chats_in_window,
        summary.total_deals,
        summary.deals_with_dialogs,
        summary.total_messages,
        secs(amo_floor),
        secs(radist_floor),
        secs(floor),
        secs(wall),
    );
    println!(
        "\nPhases: amoCRM {} (floor {}), Radist {} (floor {}), rows, summary, AI, save {}.",
        secs(amocrm_phase),
        secs(amo_floor),
        secs(radist_phase),
        secs(radist_floor),
        secs(rest)
    );
    assert_eq!(rejected, 0, "no request may be refused with 429");
    assert!(ratio <= 1.2, "wall time {wall:?} is {ratio:.3} × the floor {floor:?} (target ≤ 1.2)");
}

// ---------------------------------------------------------------------------------------------
// b: 1,000 tenants due at once.

async fn thousand_tenants_due_at_once() {
    const TENANTS: usize = 1_000;
    const WORKERS: usize = 64;
    let (now, window_start) = due_window();
    let w = world(SandboxConfig { window_start, ..Default::default() }, WORKERS).await;
    let utc = |slug: &str| TenantSetup {
        timezone: "UTC".into(),
        ai: true,
        amocrm_account: Some(slug.to_owned()),
        ..setup(slug, ReportMode::CrmOnly)
    };

    // One tenant alone first: the time a job takes when nothing else runs.
    let baseline = w.tenant(utc("baseline")).await;
    w.workers.start().await;
    let (_, window_end) = w.window();
    let job = w
        .service
        .enqueue_report(
            ReportRequest { trigger: TriggerType::System, ..ReportRequest::manual(baseline) }
                .window(window_start, window_end),
        )
        .await
        .unwrap();
    let alone = w.service.wait(job.id).await.unwrap();
    w.assert_succeeded(std::slice::from_ref(&alone)).await;
    let alone = run_time(&alone);
    // It has run its window: switch its schedule off so the tick below is the 1,000.
    let mut config = w.service.store().get_runtime_config(baseline).await.unwrap();
    config.is_schedule_enabled = false;
    w.service.store().put_runtime_config(&config).await.unwrap();

    let provisioning = Instant::now();
    for i in 0..TENANTS {
        w.tenant(utc(&format!("t{i:04}"))).await;
    }
    let provisioning = provisioning.elapsed();
    w.sandbox.reset_counters().unwrap();
    let rss_before = peak_rss();

    let started = Instant::now();
    let tick_began = Timestamp::now();
    let tick = scheduler::tick(&w.service, now, scheduler::DEFAULT_CATCH_UP).await.unwrap();
    let tick_time = started.elapsed();
    assert_eq!(tick.created, TENANTS, "{tick:?}");
    let jobs: Vec<JobRun> = w.drain().await.into_iter().filter(|j| j.trigger_type == TriggerType::Scheduled).collect();
    let wall = started.elapsed();
    let rss = peak_rss();
    assert_eq!(jobs.len(), TENANTS);
    w.assert_succeeded(&jobs).await;
    let stats = w.stats();
    let sandbox_rss = rss_of(&w.sandbox.pid().to_string(), "VmHWM");

    let runs: Vec<Duration> = jobs.iter().map(run_time).collect();
    let waits: Vec<Duration> = jobs.iter().map(|j| between(j.created_at, j.started_at.unwrap())).collect();
    let first_start = jobs.iter().filter_map(|j| j.started_at).min().unwrap();
    let last_end = jobs.iter().filter_map(|j| j.finished_at).max().unwrap();
    println!("\n### b: {TENANTS} tenants due at once, crm_only + AI, own amoCRM account each, {WORKERS} workers\n");
    println!(
        "| tenants | workers | tick (creates the jobs) | wall time (tick → all done) | jobs/s | job run time p50 / p90 / p99 / max | one job alone | queue wait p50 / p90 / p99 / max | amoCRM requests | 429s | peak RSS (before the tick) | sandbox process peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {TENANTS} | {WORKERS} | {} | {} | {:.1} | {} | {} | {} | {} | {} | {:.0} MiB ({:.0} MiB) | {:.0} MiB |",
        secs(tick_time),
        secs(wall),
        TENANTS as f64 / wall.as_secs_f64(),
        spread_text(runs.clone()),
        secs(alone),
        spread_text(waits),
        stats.requests(Service::Amocrm),
        stats.rate_limited(Service::Amocrm),
        rss as f64 / MIB,
        rss_before as f64 / MIB,
        sandbox_rss as f64 / MIB,
    );
    println!(
        "\nFirst job started {} after the tick began; last finished {} after it. Provisioning {TENANTS} tenants took {}.",
        secs(between(tick_began, first_start)),
        secs(between(tick_began, last_end)),
        secs(provisioning),
    );
    assert_eq!(stats.rate_limited(Service::Amocrm), 0, "no request may be refused with 429");
    assert!(rss as f64 / MIB <= 512.0, "peak RSS {:.0} MiB (target ≤ 512 MiB)", rss as f64 / MIB);
}

// ---------------------------------------------------------------------------------------------
// c: a 100,000-deal window.

async fn hundred_thousand_deal_window() {
    let deals: usize = std::env::var("SYNKRO_BENCH_DEALS").ok().and_then(|v| v.parse().ok()).unwrap_or(111_200);
    let w = world(SandboxConfig { deals, ..Default::default() }, 2).await;
    let a = w.sandbox.announcement().clone();
    // max_pages: the default 200 pages of 250 leads would cut the window at 50,000 deals.
    let settings = [("amocrm".to_owned(), serde_json::json!({"max_pages": 2_000}))].into();
    let acme = w.tenant(TenantSetup { ai: true, settings, ..setup("acme", ReportMode::CrmOnly) }).await;
    w.workers.start().await;
    let rss_before = peak_rss();
    let started = Instant::now();
    let job = w.enqueue(acme, 0).await;
    let job = w.service.wait(job.id).await.unwrap();
    let wall = started.elapsed();
    let rss = peak_rss();
    w.assert_succeeded(std::slice::from_ref(&job)).await;
    let summary = w.summary(&job).await;
    let stats = w.stats();
    let sandbox_rss = rss_of(&w.sandbox.pid().to_string(), "VmHWM");
    let amo = stats.requests(Service::Amocrm);
    println!("\n### c: one report over a {}-deal window, crm_only + AI, built-in warehouse\n", a.leads_in_window);
    println!(
        "| deals in window | deals in the report | amoCRM requests | 429s | wall time | requests ÷ 7/s | peak RSS | peak RSS before the run | sandbox process peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {amo} | {} | {} | {} | {:.0} MiB | {:.0} MiB | {:.0} MiB |",
        a.leads_in_window,
        summary.total_deals,
        stats.rate_limited(Service::Amocrm),
        secs(wall),
        secs(Duration::from_secs_f64(amo as f64 / 7.0)),
        rss as f64 / MIB,
        rss_before as f64 / MIB,
        sandbox_rss as f64 / MIB,
    );
    assert_eq!(summary.total_deals as usize, a.leads_in_window, "every deal of the window is in the report");
    assert_eq!(stats.rate_limited(Service::Amocrm), 0, "no request may be refused with 429");
    assert!(rss as f64 / MIB <= 128.0, "peak RSS {:.0} MiB (target ≤ 128 MiB)", rss as f64 / MIB);
}

// ---------------------------------------------------------------------------------------------
// d: runs per second over 20 accounts.

async fn runs_per_second_over_twenty_accounts() {
    const TENANTS: usize = 20;
    const RUNS_PER_TENANT: usize = 10;
    const WORKERS: usize = 32;
    let w = Arc::new(world(SandboxConfig::default(), WORKERS).await);
    let mut tenants = Vec::new();
    for i in 0..TENANTS {
        let slug = format!("d{i:02}");
        tenants.push(
            w.tenant(TenantSetup { amocrm_account: Some(slug.clone()), ..setup(&slug, ReportMode::CrmOnly) }).await,
        );
    }
    w.workers.start().await;

    // Warm-up: each account's first run also reads its stage and manager names (cached 10 min).
    let warm_started = Instant::now();
    let mut first = Vec::new();
    for t in &tenants {
        first.push(w.enqueue(*t, 0).await);
    }
    let mut warm_jobs = Vec::new();
    for job in first {
        warm_jobs.push(w.service.wait(job.id).await.unwrap());
    }
    let warm_wall = warm_started.elapsed();
    w.assert_succeeded(&warm_jobs).await;
    let warm_requests = w.stats().requests(Service::Amocrm);
    w.sandbox.reset_counters().unwrap();

    // 200 runs: each tenant runs its next report as soon as the previous one ends (one active
    // report job per tenant).
    let started = Instant::now();
    let drivers: Vec<_> = tenants
        .iter()
        .map(|t| {
            let (w, t) = (w.clone(), *t);
            tokio::spawn(async move {
                let mut jobs = Vec::new();
                for run in 1..=RUNS_PER_TENANT {
                    let job = w.enqueue(t, run as i64).await;
                    jobs.push(w.service.wait(job.id).await.unwrap());
                }
                jobs
            })
        })
        .collect();
    let mut jobs = Vec::new();
    for d in drivers {
        jobs.extend(d.await.unwrap());
    }
    let wall = started.elapsed();
    w.assert_succeeded(&jobs).await;
    let stats = w.stats();
    let runs = jobs.len();
    let rate = runs as f64 / wall.as_secs_f64();
    let floor = TENANTS as f64 * 7.0 / 2.0;
    let amo = stats.requests(Service::Amocrm);
    let runs_times: Vec<Duration> = jobs.iter().map(run_time).collect();
    println!(
        "\n### d: {runs} runs over {TENANTS} tenants with their own amoCRM accounts, crm_only, {WORKERS} workers\n"
    );
    println!(
        "| runs | amoCRM requests (per run) | 429s | wall time | runs/s | floor (20 × 7/s ÷ 2) | runs/s ÷ floor | run time p50 / p90 / p99 / max | warm-up: 20 first runs, requests |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {runs} | {amo} ({:.2}) | {} | {} | {rate:.1} | {floor:.0}/s | {:.3} | {} | {}, {warm_requests} |",
        amo as f64 / runs as f64,
        stats.rate_limited(Service::Amocrm),
        secs(wall),
        rate / floor,
        spread_text(runs_times),
        secs(warm_wall),
    );
    assert_eq!(stats.rate_limited(Service::Amocrm), 0, "no request may be refused with 429");
    assert!(rate / floor >= 0.85, "{rate:.1} runs/s is {:.3} of the floor {floor}/s (target ≥ 0.85)", rate / floor);
}

// ---------------------------------------------------------------------------------------------
// e: an agency: 20 tenants, one amoCRM account, one Telegram chat.

async fn agency_shares_one_account_and_one_chat() {
    const TENANTS: usize = 20;
    let (now, window_start) = due_window();
    let w = world(SandboxConfig { window_start, ..Default::default() }, TENANTS).await;
    for i in 0..TENANTS {
        let slug = format!("client-{i:02}");
        w.tenant(TenantSetup { timezone: "UTC".into(), ai: true, telegram: true, ..setup(&slug, ReportMode::CrmOnly) })
            .await;
    }
    w.workers.start().await;
    let started = Instant::now();
    let tick = scheduler::tick(&w.service, now, scheduler::DEFAULT_CATCH_UP).await.unwrap();
    assert_eq!(tick.created, TENANTS, "{tick:?}");
    let jobs = w.drain().await;
    let wall = started.elapsed();
    w.assert_succeeded(&jobs).await;
    let stats = w.stats();
    let store = w.service.store();
    let mut sent = 0;
    let mut messages = 0;
    for job in &jobs {
        let report = store.report_for_job(job.id).await.unwrap().unwrap();
        if report.status == ReportStatus::Sent {
            sent += 1;
        }
        messages += store.get_delivery(report.id).await.unwrap().map_or(0, |d| d.messages);
    }
    let chat = w.sandbox.credentials().telegram_chat_id;
    let in_chat = stats.telegram_sent_by_chat.get(&chat).copied().unwrap_or(0);
    let amo_429 = stats.rate_limited(Service::Amocrm);
    let tg_429 = stats.rate_limited(Service::Telegram);
    let amo = stats.requests(Service::Amocrm);
    let runs: Vec<Duration> = jobs.iter().map(run_time).collect();
    println!("\n### e: {TENANTS} tenants sharing one amoCRM account and one Telegram chat, all due at once\n");
    println!(
        "| tenants | jobs succeeded | reports sent | Telegram messages (in the chat) | amoCRM requests | amoCRM 429s | Telegram 429s | floor (messages × 1.1 s) | wall time | job run time p50 / p90 / p99 / max |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {TENANTS} | {} | {sent} | {messages} ({in_chat}) | {amo} | {amo_429} | {tg_429} | {} | {} | {} |",
        jobs.len(),
        secs(Duration::from_secs_f64(in_chat as f64 * 1.1)),
        secs(wall),
        spread_text(runs),
    );
    assert_eq!(amo_429, 0, "amoCRM: no request may be refused with 429");
    assert_eq!(tg_429, 0, "Telegram: no message may be refused with 429");
    assert_eq!(sent, TENANTS, "every report delivered");
    assert_eq!(u64::from(messages), in_chat, "every part reached the chat once");
}

// ---------------------------------------------------------------------------------------------
// f: the agency on Redis, through flushes, on a busy machine.

async fn agency_on_redis_through_flushes_and_load() {
    const TENANTS: usize = 20;
    const NODES: usize = 3;
    let env_number =
        |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let seconds = env_number("SYNKRO_BENCH_SECONDS", 120);
    let flush_every = env_number("SYNKRO_BENCH_FLUSH_SECONDS", 30);
    let busy_threads = env_number("SYNKRO_BENCH_BUSY", 2);
    let margin: Option<f64> = std::env::var("SYNKRO_BENCH_MARGIN").ok().and_then(|v| v.parse().ok());
    let Some(redis) = ["SYNKRO_BENCH_REDIS_URL", "SYNKRO_TEST_REDIS_URL"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    else {
        panic!(
            "scenario f needs Redis: set SYNKRO_BENCH_REDIS_URL (or SYNKRO_TEST_REDIS_URL), e.g. redis://127.0.0.1:6379"
        );
    };
    let redis = with_redis_db(&redis, 12);

    // The world's own pool runs no workers; the nodes do, and the drivers use them.
    let w = Arc::new(world(SandboxConfig::default(), 0).await);
    let mut tenants = Vec::new();
    for i in 0..TENANTS {
        tenants.push(w.tenant(setup(&format!("agency-{i:02}"), ReportMode::CrmOnly)).await);
    }
    let mut nodes = Vec::new();
    for n in 0..NODES {
        let node = redis_node(&w, &format!("node-{n}"), 8, &redis, margin).await;
        node.start().await;
        nodes.push(node);
    }
    let nodes = Arc::new(nodes);
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("FLUSHDB").query_async(&mut admin).await.unwrap();
    w.sandbox.reset_counters().unwrap();

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy: Vec<_> = (0..busy_threads)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0_u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
                }
            })
        })
        .collect();

    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let drivers: Vec<_> = tenants
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let (w, t, nodes) = (w.clone(), *t, nodes.clone());
            tokio::spawn(async move {
                let node = &nodes[i % NODES];
                let mut jobs = Vec::new();
                let mut run = 0;
                while Instant::now() < deadline {
                    run += 1;
                    let job = w.enqueue_on(node.service(), t, run).await;
                    jobs.push(node.service().wait(job.id).await.unwrap());
                }
                jobs
            })
        })
        .collect();
    let mut flushes = 0;
    let mut next_flush = started + Duration::from_secs(flush_every);
    while next_flush < deadline {
        tokio::time::sleep_until(next_flush.into()).await;
        let () = redis::cmd("FLUSHDB").query_async(&mut admin).await.unwrap();
        flushes += 1;
        next_flush += Duration::from_secs(flush_every);
    }
    let mut jobs = Vec::new();
    for d in drivers {
        jobs.extend(d.await.unwrap());
    }
    let wall = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for b in busy {
        b.join().unwrap();
    }
    for node in nodes.iter() {
        node.shutdown().await;
    }
    w.assert_succeeded(&jobs).await;
    let stats = w.stats();
    let amo = stats.requests(Service::Amocrm);
    let amo_429 = stats.rate_limited(Service::Amocrm);
    let rate = amo as f64 / wall.as_secs_f64();
    println!(
        "\n### f: {TENANTS} tenants on one amoCRM account, {NODES} nodes pacing through Redis, flushed every {flush_every} s, {busy_threads} busy threads, margin {}\n",
        margin.unwrap_or(synkro_core::connector::DEFAULT_MARGIN)
    );
    println!("| runs | amoCRM requests | amoCRM 429s | Redis flushes | wall time | amoCRM requests/s | ÷ 7/s limit |");
    println!("|---|---|---|---|---|---|---|");
    println!("| {} | {amo} | {amo_429} | {flushes} | {} | {rate:.2} | {:.3} |", jobs.len(), secs(wall), rate / 7.0);
    assert_eq!(amo_429, 0, "amoCRM: no request may be refused with 429");
}

/// `url` with its database number replaced by `db`.
fn with_redis_db(url: &str, db: u8) -> String {
    let url = url.trim().trim_end_matches('/');
    let base = match url.rsplit_once('/') {
        Some((head, tail))
            if tail.chars().all(|c| c.is_ascii_digit())
                && head.ends_with(|c: char| c != '/')
                && head.contains("//") =>
        {
            head
        }
        _ => url,
    };
    format!("{base}/{db}")
}

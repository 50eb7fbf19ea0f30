//! Store hot paths on SQLite and PostgreSQL (append a job event, update job progress, list a
//! page of reports) and secret encryption. PostgreSQL runs when SYNKRO_TEST_DATABASE_URL is set.
//!
//! `cargo bench --bench store`; figures in docs/benchmarks.md.

#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use synkro::{
    Keyring, PageRequest, Store,
    domain::{NewJobEvent, NewJobRun, NewReport, NewTenant, ReportMode, ReportStatus, ReportType, TriggerType, Window},
    ids::{JobId, TenantId},
    secrets::SecretMap,
    time::Timestamp,
};
use time::macros::date;
use tokio::runtime::Runtime;

struct Fixture {
    store: Store,
    tenant: TenantId,
    job: JobId,
}

async fn fixture(store: Store) -> Fixture {
    let tenant = store.create_tenant(&NewTenant::new("Bench", "bench", "Europe/Berlin").unwrap()).await.unwrap();
    let window =
        Window::new(Timestamp::from_unix_seconds(0).unwrap(), Timestamp::from_unix_seconds(86_400).unwrap()).unwrap();
    let job = NewJobRun::report(tenant.id, ReportMode::CrmChats, TriggerType::Manual, window);
    let job = store.create_job(&job).await.unwrap().into_job();
    let summary = "Итоги дня: 40 сделок, 31 с диалогами, 512 сообщений. ".repeat(40);
    for i in 0..500 {
        let report = NewReport {
            tenant_id: tenant.id,
            job_id: None,
            period_start: date!(2026 - 03 - 01),
            period_end: date!(2026 - 03 - 01),
            window,
            report_type: ReportType::Daily,
            status: ReportStatus::Sent,
            summary_text: summary.clone(),
            summary: synkro::domain::Summary {
                total_deals: 40 + i,
                deals_with_dialogs: 31,
                total_messages: 512,
                by_status: [("won", 4), ("lost", 3), ("negotiation", 33)].map(|(s, n)| (s.to_owned(), n)).into(),
                ..Default::default()
            },
            ai: synkro::domain::AiOutcome::default(),
            analytics: Default::default(),
            metadata: json!({"mode": "crm_chats"}),
            data_ref: Some("warehouse:deals".into()),
            followup_deadline_at: None,
        };
        store.create_report(&report).await.unwrap();
    }
    Fixture { store, tenant: tenant.id, job: job.id }
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, name: &str, fx: &Fixture) {
    let mut group = c.benchmark_group(format!("store/{name}"));
    let event = NewJobEvent::info(fx.job, "sync_sources", "read 250 leads from amoCRM (page 3)");
    group.bench_function("append_job_event", |b| {
        b.to_async(rt).iter(|| async { fx.store.append_job_event(&event).await.unwrap() })
    });
    let mut progress = 0u8;
    group.bench_function("update_job_progress", |b| {
        b.to_async(rt).iter(|| {
            progress = (progress + 1) % 100;
            let p = progress;
            async move { fx.store.update_job_progress(fx.job, "sync_sources", p).await.unwrap() }
        })
    });
    let page = PageRequest::first(50).unwrap();
    group.bench_function("list_reports_page_of_50", |b| {
        b.to_async(rt).iter(|| async {
            let page = fx.store.list_reports(fx.tenant, &page).await.unwrap();
            assert_eq!(page.items.len(), 50);
            page
        })
    });
    group.finish();
}

fn store_benches(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let sqlite = rt.block_on(synkro::testing::sqlite());
    let fx = rt.block_on(fixture(sqlite.store.clone()));
    bench_backend(c, &rt, "sqlite", &fx);
    rt.block_on(sqlite.finish());

    if let Some(pg) = rt.block_on(synkro::testing::postgres("bench")) {
        let fx = rt.block_on(fixture(pg.store.clone()));
        bench_backend(c, &rt, "postgres", &fx);
        rt.block_on(pg.finish());
    }
}

fn secret_benches(c: &mut Criterion) {
    let keyring = Keyring::generate();
    let secrets: SecretMap = [
        ("access_token".to_owned(), "a".repeat(900).into()),
        ("refresh_token".to_owned(), "r".repeat(600).into()),
        ("client_secret".to_owned(), "s".repeat(64).into()),
    ]
    .into_iter()
    .collect();
    let token = keyring.encrypt(&secrets);
    let mut group = c.benchmark_group("secrets");
    group.bench_function("encrypt_3_fields", |b| b.iter(|| keyring.encrypt(&secrets)));
    group.bench_function("decrypt_3_fields", |b| b.iter(|| keyring.decrypt(&token).unwrap()));
    let rotated =
        Keyring::parse(&format!("{},{}", Keyring::generate_key().expose(), keyring.primary_key().expose())).unwrap();
    group.bench_function("decrypt_with_old_key_second", |b| b.iter(|| rotated.decrypt(&token).unwrap()));
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = store_benches, secret_benches }
criterion_main!(benches);

//! The cost of the conversation analytics against the summary pass over the same rows: both read
//! every row once, the analytics also parse and sort each dialog's messages. 20,000 rows of 16
//! messages each (a large day), in memory, so only the CPU of the two passes is measured; with
//! working hours each first response is also placed on the tenant's working days.
//!
//! `cargo bench --bench analytics`; figures in docs/benchmarks.md.

#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use synkro::{
    connector::DealRow,
    domain::{ReportMode, Window, WorkingHours},
    pipeline::{
        analytics::{AnalyticsBuilder, ResponseClock},
        summary::SummaryBuilder,
    },
    time::{TimeZoneName, Timestamp},
};

const ROWS: usize = 20_000;
const MESSAGES: i64 = 16;

fn rows() -> Vec<DealRow> {
    let start = Timestamp::from_unix_seconds(1_772_323_200).unwrap();
    (0..ROWS as i64)
        .map(|i| {
            let dialog: Vec<Value> = (0..MESSAGES)
                .map(|m| {
                    let at = start + time::Duration::minutes(i % 600 + m * 37);
                    let direction = if m % 2 == 0 { "inbound" } else { "outbound" };
                    json!({"id": format!("{i}-{m}"), "at": at.to_string(), "direction": direction,
                        "text": "Добрый день, подскажите по заказу", "files": []})
                })
                .collect();
            DealRow {
                tenant_id: "bench".into(),
                deal_id: 10_000 + i,
                deal_name: Some(format!("Заказ с сайта #{i}")),
                status_id: None,
                status: Some(format!("Этап {}", i % 7)),
                responsible: Some(format!("Менеджер {}", i % 10)),
                phone: Some(format!("7900{i:07}")),
                chat_id: Some(format!("chat-{i}")),
                first_message_at: Some(start),
                last_message_at: Some(start + time::Duration::minutes(i % 600 + (MESSAGES - 1) * 37)),
                messages_count: MESSAGES,
                deal_attrs_json: json!({}),
                contact_attrs_json: json!({}),
                dialog_norm: "client: Добрый день\nmanager: Здравствуйте".repeat(8),
                dialog_raw: Value::Array(dialog),
                updated_at: Some(start),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rows = rows();
    let start = Timestamp::from_unix_seconds(1_772_323_200).unwrap();
    let window = Window::new(start, start + time::Duration::days(1)).unwrap();
    let berlin = TimeZoneName::new("Europe/Berlin").unwrap();
    let hours: WorkingHours =
        serde_json::from_value(json!({"start": "09:00", "end": "18:00", "days": ["mon", "tue", "wed", "thu", "fri"]}))
            .unwrap();
    let mut group = c.benchmark_group("report pass over 20,000 rows");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(20);
    group.bench_function("summary", |b| {
        b.iter_batched(
            || SummaryBuilder::new(20),
            |mut s| {
                rows.iter().for_each(|r| s.add(r));
                s.finish()
            },
            BatchSize::LargeInput,
        )
    });
    for (name, clock) in [
        ("analytics, clock time", ResponseClock::default()),
        ("analytics, working hours", ResponseClock::new(Some(hours), &berlin)),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || AnalyticsBuilder::new(ReportMode::CrmChats, window, 20).with_clock(clock.clone()),
                |mut a| {
                    rows.iter().for_each(|r| a.add(r));
                    a.finish()
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! A report's rows as CSV and the report as Markdown: the rows of its window with their
//! measures, phones masked for everyone who does not administer the tenant, text cells a
//! spreadsheet cannot run, the tenant's language, and nothing of another tenant's.

use serde_json::json;
use synkro_core::{
    connector::{DealRow, Warehouse},
    store::BuiltinWarehouse,
    time::Timestamp,
};

use crate::support::World;

synkro_core::on_both_backends!(
    start = crate::support::World::start;
    a_reports_rows_export_as_csv_with_phones_masked_for_users,
    a_report_exports_as_markdown_in_the_tenants_language
);

/// A deal row in the cast's report window (which starts at Unix second 1,760,000,000).
fn row(slug: &str, id: i64, name: &str, phone: &str) -> DealRow {
    let at = |minutes: i64| (Timestamp::from_unix_seconds(1_760_000_000 + minutes * 60).unwrap()).to_string();
    DealRow {
        tenant_id: slug.to_owned(),
        deal_id: id,
        deal_name: Some(name.to_owned()),
        status_id: None,
        status: Some("Won".into()),
        responsible: Some("Olga".into()),
        phone: Some(phone.to_owned()),
        chat_id: Some(format!("chat-{id}")),
        first_message_at: Some(Timestamp::from_unix_seconds(1_760_000_000).unwrap()),
        last_message_at: Some(Timestamp::from_unix_seconds(1_760_000_000 + 600).unwrap()),
        messages_count: 2,
        deal_attrs_json: json!({}),
        contact_attrs_json: json!({}),
        dialog_raw: json!([{"at": at(0), "direction": "inbound"}, {"at": at(10), "direction": "outbound"}]),
        dialog_norm: String::new(),
        updated_at: None,
    }
}

async fn a_reports_rows_export_as_csv_with_phones_masked_for_users(w: &World) {
    let slug = w.cast.acme.slug.to_string();
    let rows = [row(&slug, 7, "=cmd|' /C calc'!A0", "79001234567"), row(&slug, 8, "Plain deal", "79007654321")];
    BuiltinWarehouse::new(w.store.clone()).upsert_deals(&rows).await.unwrap();
    let path = format!("/api/v1/reports/{}/rows.csv", w.cast.acme_report.id.as_uuid());

    let plain = w.login("plain").await;
    let csv = w.get(&path, Some(&plain)).await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert_eq!(csv.header("content-type").as_deref(), Some("text/csv; charset=utf-8"));
    let disposition = csv.header("content-disposition").unwrap();
    assert!(disposition.starts_with("attachment; filename=\"report-2025-10-09.csv\""), "{disposition}");
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines[0], synkro_pipeline::export::CSV_COLUMNS.join(","));
    assert_eq!(lines.len(), 3, "{}", csv.text);
    let deal = lines.iter().find(|l| l.starts_with("7,")).unwrap();
    // Asked, answered after 10 minutes, then silence for the rest of the day: quiet, nobody waits.
    assert_eq!(*deal, "7,'=cmd|' /C calc'!A0,Won,Olga,***4567,1,1,0,1,600,600,,true");
    assert!(!csv.text.contains("79001234567"), "a user sees the last 4 digits only");

    let lite = w.login("lite").await;
    let full = w.get(&path, Some(&lite)).await;
    assert!(full.text.contains(",79001234567,") && full.text.contains(",79007654321,"), "{}", full.text);

    let other = format!("/api/v1/reports/{}/rows.csv", w.cast.other_report.id.as_uuid());
    assert_eq!(w.get(&other, Some(&plain)).await.status, 404, "another tenant's report does not exist for them");
    assert_eq!(w.get(&path, None).await.status, 401);
}

async fn a_report_exports_as_markdown_in_the_tenants_language(w: &World) {
    let path = format!("/api/v1/reports/{}/text.md", w.cast.acme_report.id.as_uuid());
    let plain = w.login("plain").await;
    let md = w.get(&path, Some(&plain)).await;
    assert_eq!(md.status, 200, "{}", md.text);
    assert_eq!(md.header("content-type").as_deref(), Some("text/markdown; charset=utf-8"));
    let name = &w.cast.acme.name;
    assert!(md.text.starts_with(&format!("# {name} — отчёт за 2025-10-09\n\nReport for acme\n")), "{}", md.text);
    assert!(md.text.contains("## Цифры\n\n- сделок: 3\n- сделок с диалогами: 2\n- сообщений: 12\n"), "{}", md.text);

    let lite = w.login("lite").await;
    let config = format!("/api/v1/tenants/{}/runtime-config", w.cast.acme.id.as_uuid());
    let english = w.call("PATCH", &config, Some(&lite), Some(json!({"language": "en"})), &[]).await;
    assert_eq!(english.status, 200, "{}", english.text);
    let md = w.get(&path, Some(&plain)).await.text;
    assert!(md.starts_with(&format!("# {name} — report for 2025-10-09")) && md.contains("## Figures"), "{md}");
}

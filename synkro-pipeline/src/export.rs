//! A report taken elsewhere: its rows as CSV — one line per deal (or chat) with the stage, the
//! manager, the phone (masked unless the caller may see it), messages each way, files, and the
//! measured waits and first responses — and the report itself as Markdown in the tenant's
//! language.
//!
//! The rows are read from the warehouse the report used, page by page (memory bounded by a
//! page), as it holds them now for the report's window and mode; the measures are the ones the
//! report's analytics use ([`crate::analytics::dialog_facts`]), timed with the tenant's current
//! working hours.

use std::fmt::Write;

use futures::{StreamExt, stream::BoxStream};
use serde_json::Value;
use synkro_core::{
    connector::{DealRow, RowTime},
    domain::{Report, ReportMode, Window},
    time::Timestamp,
};

use crate::{
    EngineError, Service, ai_text,
    analytics::{ResponseClock, dialog_facts, percentile, seconds},
    summary::keep_row,
    words::words,
};

/// How phone numbers appear in an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phones {
    /// Only the last 4 digits (`***4567`): for everyone who does not administer the tenant.
    Masked,
    /// As stored.
    Full,
}

/// The CSV header, in column order.
pub const CSV_COLUMNS: [&str; 13] = [
    "deal_id",
    "deal",
    "stage",
    "manager",
    "phone",
    "messages_from_client",
    "messages_from_manager",
    "files_sent",
    "responses",
    "first_response_median_secs",
    "first_response_max_secs",
    "waiting_secs",
    "quiet",
];

impl Service {
    /// `report`'s rows as CSV chunks, the header first: the rows of its window and mode in the
    /// warehouse it used (deals for the CRM modes, chats for `chats_only`), with the tenant's
    /// current minimum of messages, one page per chunk. Text cells that a spreadsheet would
    /// read as a formula (`=`, `+`, `-`, `@` first) are prefixed with `'`.
    pub async fn export_rows(
        &self,
        report: &Report,
        phones: Phones,
    ) -> Result<BoxStream<'static, Result<Vec<u8>, EngineError>>, EngineError> {
        let store = self.store();
        let tenant = store.get_tenant(report.tenant_id).await?;
        let config = store.get_runtime_config(tenant.id).await?;
        let mode = report_mode(report).unwrap_or(config.mode);
        let builtin = report.data_ref.as_deref().is_none_or(|r| r.starts_with("builtin:"));
        let warehouse = crate::wiring::build_warehouse(self, &tenant, builtin).await?;
        let window = Window::new(report.window_start, report.window_end)?;
        let clock = ResponseClock::new(config.working_hours, &config.timezone);
        let (min_dialogs, slug) = (config.min_dialogs_for_report, tenant.slug.to_string());

        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, EngineError>>(2);
        tokio::spawn(async move {
            let by = if mode == ReportMode::CrmOnly { RowTime::UpdatedAt } else { RowTime::LastMessageAt };
            let chats = mode == ReportMode::ChatsOnly;
            if tx.send(csv_chunk(|w| w.write_record(CSV_COLUMNS))).await.is_err() {
                return;
            }
            let mut rows = warehouse.rows_in_window(&slug, window, by);
            while let Some(batch) = rows.next().await {
                let chunk = match batch {
                    Ok(batch) => csv_chunk(|w| {
                        let ours = batch.items.iter().filter(|r| (r.deal_id < 0) == chats);
                        for row in ours.filter(|r| keep_row(r, mode, min_dialogs)) {
                            w.write_record(csv_row(row, window.end(), &clock, phones))?;
                        }
                        Ok(())
                    }),
                    Err(e) => Err(e.into()),
                };
                let failed = chunk.is_err();
                if tx.send(chunk).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) }).boxed())
    }

    /// `report` as Markdown in the tenant's language: a title with the tenant and period, the
    /// report's text, then its figures.
    pub async fn export_markdown(&self, report: &Report) -> Result<String, EngineError> {
        let store = self.store();
        let tenant = store.get_tenant(report.tenant_id).await?;
        let config = store.get_runtime_config(tenant.id).await?;
        let (language, w) = (config.language, words(config.language));
        let dates = ai_text::dates_text((report.period_start, report.period_end));
        let mut out = format!("# {}\n\n{}\n", (w.delivery_header)(&tenant.name, &dates), report.summary_text.trim());
        if let Some(summary) = &report.summary {
            let _ = write!(out, "\n## {}\n\n", w.figures);
            let analytics = report.analytics.clone().unwrap_or_default();
            out.push_str(&ai_text::figures(language, summary, &analytics));
        }
        Ok(out)
    }
}

/// The report's mode as it ran (`None` for reports that did not record it).
fn report_mode(report: &Report) -> Option<ReportMode> {
    report.metadata.get("mode").and_then(Value::as_str).and_then(|m| m.parse().ok())
}

/// Runs `write` on a CSV writer and returns what it wrote.
fn csv_chunk(write: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> csv::Result<()>) -> Result<Vec<u8>, EngineError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    write(&mut writer).and_then(|()| writer.flush().map_err(csv::Error::from)).map_err(csv_error)?;
    writer.into_inner().map_err(|e| csv_error(e.into_error().into()))
}

fn csv_error(e: csv::Error) -> EngineError {
    EngineError::Other(format!("cannot write CSV: {e}"))
}

/// One row's cells, in [`CSV_COLUMNS`] order.
fn csv_row(row: &DealRow, end: Timestamp, clock: &ResponseClock, phones: Phones) -> [String; 13] {
    let f = dialog_facts(row, end, clock);
    let mut sorted = f.responses.clone();
    sorted.sort_unstable();
    let number = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    let phone = row.phone.as_deref().map(|p| match phones {
        Phones::Full => p.to_owned(),
        Phones::Masked => masked(p),
    });
    // A chat's name is often its phone number: masked exports mask numbers in names too.
    let text = |t: Option<&str>| match phones {
        Phones::Full => cell(t),
        Phones::Masked => cell(t.map(mask_numbers).as_deref()),
    };
    [
        row.deal_id.to_string(),
        text(row.deal_name.as_deref()),
        text(row.status.as_deref()),
        text(row.responsible.as_deref()),
        cell(phone.as_deref()),
        f.inbound.to_string(),
        f.outbound.to_string(),
        f.files_sent.to_string(),
        f.responses.len().to_string(),
        number(percentile(&sorted, 50)),
        number(sorted.last().copied()),
        number(f.waiting_since.map(|since| seconds(since, end))),
        f.quiet.to_string(),
    ]
}

/// `***` and the last 4 digits.
fn masked(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let last: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("***{last}")
}

/// `text` with every phone-like run (digits with spaces, `+`, `-`, `(`, `)` between them,
/// at least 7 digits) shown as `***` and its last 4 digits.
fn mask_numbers(text: &str) -> String {
    let phone_char = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')');
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().filter(char::is_ascii_digit).count() >= 7 {
            // Keep what surrounds the number (spaces, a closing bracket), mask the number.
            let start = run.find(|c: char| c.is_ascii_digit() || matches!(c, '+' | '(')).unwrap_or(0);
            let end = run.rfind(|c: char| c.is_ascii_digit()).map_or(run.len(), |i| i + 1);
            out.push_str(&run[..start]);
            out.push_str(&masked(&run[start..end]));
            out.push_str(&run[end..]);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if phone_char(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// A text cell a spreadsheet reads as text: a leading `=`, `+`, `-`, `@`, tab or carriage return
/// (a formula) gets a `'` before it.
fn cell(text: Option<&str>) -> String {
    let text = text.unwrap_or_default();
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row() -> DealRow {
        let at =
            |m: i64| (Timestamp::from_unix_seconds(1_772_400_000).unwrap() + time::Duration::minutes(m)).to_string();
        DealRow {
            tenant_id: "acme".into(),
            deal_id: 42,
            deal_name: Some("=HYPERLINK(\"http://evil\")".into()),
            status_id: None,
            status: Some("Won, finally".into()),
            responsible: Some("Olga \"the fast\"".into()),
            phone: Some("79001234567".into()),
            chat_id: None,
            first_message_at: None,
            last_message_at: None,
            messages_count: 4,
            deal_attrs_json: json!({}),
            contact_attrs_json: json!({}),
            dialog_raw: json!([
                {"at": at(0), "direction": "inbound"},
                {"at": at(10), "direction": "outbound", "files": ["a.pdf"]},
                {"at": at(20), "direction": "inbound"},
                {"at": at(50), "direction": "outbound"},
                {"at": at(60), "direction": "inbound"},
            ]),
            dialog_norm: String::new(),
            updated_at: None,
        }
    }

    #[test]
    fn a_row_becomes_one_csv_line_with_its_measures_and_a_masked_phone() {
        let end = Timestamp::from_unix_seconds(1_772_400_000 + 3 * 3600).unwrap();
        let cells = csv_row(&row(), end, &ResponseClock::default(), Phones::Masked);
        let bytes = csv_chunk(|w| w.write_record(&cells)).unwrap();
        let line = String::from_utf8(bytes).unwrap();
        assert_eq!(
            line,
            "42,\"'=HYPERLINK(\"\"http://evil\"\")\",\"Won, finally\",\"Olga \"\"the fast\"\"\",***4567,3,2,1,2,600,1800,\
             7200,false\n"
        );
        let full = csv_row(&row(), end, &ResponseClock::default(), Phones::Full);
        assert_eq!(full[4], "79001234567");
        assert_eq!(masked("12"), "***12");
        assert_eq!(cell(Some("-5")), "'-5");
        assert_eq!(cell(Some("Deal 5")), "Deal 5");
        // Names that are phone numbers are masked too; short numbers stay.
        assert_eq!(mask_numbers("+7 (900) 123-45-67"), "***4567");
        assert_eq!(mask_numbers("Анна +79001234567, заказ 12"), "Анна ***4567, заказ 12");
        assert_eq!(mask_numbers("Order #10018 for 2 rooms"), "Order #10018 for 2 rooms");
    }
}

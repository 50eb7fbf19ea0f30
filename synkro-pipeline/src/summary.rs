//! The summary of step 4 and the deal previews for the AI context, built while streaming a
//! window's rows, plus the row filter of step 3.

use serde::Serialize;
use synkro_core::{
    connector::DealRow,
    domain::{ReportMode, Summary},
};

/// The label of rows without a stage.
pub const NO_STAGE: &str = "(no stage)";
/// The label of rows without a responsible manager.
pub const UNASSIGNED: &str = "(unassigned)";
/// About how many characters of a transcript a preview keeps.
const PREVIEW_CHARS: usize = 400;

/// A short view of one deal for the AI context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DealPreview {
    /// The deal id (negative for a chat-only row).
    pub deal_id: i64,
    /// The deal's name (`(no name)` when unknown).
    pub name: String,
    /// Its stage label.
    pub status: String,
    /// Its manager label.
    pub responsible: String,
    /// Messages in the window.
    pub messages: u64,
    /// The first ~400 characters of the transcript, cut at a line end or a character boundary;
    /// `…` marks a cut.
    pub preview: String,
}

/// Builds a [`Summary`] and previews from rows one at a time. Memory is bounded: besides the
/// counts it keeps at most `max_previews` previews of deals with dialogs and as many without
/// (used only to fill up when too few deals have dialogs).
#[derive(Debug)]
pub struct SummaryBuilder {
    summary: Summary,
    max_previews: usize,
    with_dialogs: Vec<DealPreview>,
    without_dialogs: Vec<DealPreview>,
}

impl SummaryBuilder {
    /// A builder that keeps at most `max_previews` previews.
    pub fn new(max_previews: usize) -> Self {
        Self { summary: Summary::default(), max_previews, with_dialogs: Vec::new(), without_dialogs: Vec::new() }
    }

    /// Counts `row` and keeps its preview while there is room.
    pub fn add(&mut self, row: &DealRow) {
        let messages = u64::try_from(row.messages_count).unwrap_or(0);
        let status = status_label(row);
        let manager = manager_label(row);
        let s = &mut self.summary;
        s.total_deals += 1;
        s.total_messages += messages;
        if messages > 0 {
            s.deals_with_dialogs += 1;
        }
        *s.by_status.entry(status.clone()).or_default() += 1;
        *s.by_manager.entry(manager.clone()).or_default() += 1;

        // Rows without dialogs only fill up, so none are kept once the dialog previews are full.
        let enough = messages == 0 && self.with_dialogs.len() >= self.max_previews;
        let target = if messages > 0 { &mut self.with_dialogs } else { &mut self.without_dialogs };
        if target.len() < self.max_previews && !enough {
            let name = row.deal_name.as_deref().map(str::trim).filter(|n| !n.is_empty()).unwrap_or("(no name)");
            let preview = preview(&row.dialog_norm);
            let p = DealPreview {
                deal_id: row.deal_id,
                name: name.to_owned(),
                status,
                responsible: manager,
                messages,
                preview,
            };
            target.push(p);
        }
    }

    /// The summary and the previews: deals with dialogs first, each group in the order added.
    pub fn finish(self) -> (Summary, Vec<DealPreview>) {
        let mut previews = self.with_dialogs;
        let room = self.max_previews.saturating_sub(previews.len());
        previews.extend(self.without_dialogs.into_iter().take(room));
        (self.summary, previews)
    }
}

/// The row filter of step 3: keep rows with at least `min_dialogs` messages, except in
/// `crm_only` mode where every row counts.
pub fn keep_row(row: &DealRow, mode: ReportMode, min_dialogs: i32) -> bool {
    mode == ReportMode::CrmOnly || row.messages_count >= i64::from(min_dialogs)
}

fn status_label(row: &DealRow) -> String {
    label(row.status.as_deref(), NO_STAGE)
}

fn manager_label(row: &DealRow) -> String {
    label(row.responsible.as_deref(), UNASSIGNED)
}

fn label(value: Option<&str>, missing: &str) -> String {
    value.map(str::trim).filter(|v| !v.is_empty()).unwrap_or(missing).to_owned()
}

/// The first ~[`PREVIEW_CHARS`] characters of `text`: whole when short; otherwise cut at the
/// last line end in the second half of the limit, or else at a character boundary, then `…`.
fn preview(text: &str) -> String {
    let text = text.trim_end();
    let Some((cut, _)) = text.char_indices().nth(PREVIEW_CHARS) else {
        return text.to_owned();
    };
    let head = &text[..cut];
    let half = head.char_indices().nth(PREVIEW_CHARS / 2).map_or(0, |(i, _)| i);
    let end = match head.rfind('\n') {
        Some(line_end) if line_end >= half => line_end,
        _ => cut,
    };
    format!("{}…", head[..end].trim_end())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use std::collections::BTreeMap;

    use super::*;

    fn row(id: i64, status: Option<&str>, manager: Option<&str>, messages: i64) -> DealRow {
        let norm = (0..messages).map(|i| format!("2026-03-02 10:{i:02}  client: message {i}\n")).collect();
        DealRow {
            tenant_id: "acme".into(),
            deal_id: id,
            deal_name: Some(format!("Deal {id}")),
            status_id: None,
            status: status.map(Into::into),
            responsible: manager.map(Into::into),
            phone: None,
            chat_id: None,
            first_message_at: None,
            last_message_at: None,
            messages_count: messages,
            deal_attrs_json: json!({}),
            contact_attrs_json: json!({}),
            dialog_raw: json!([]),
            dialog_norm: norm,
            updated_at: None,
        }
    }

    #[test]
    fn counts_deals_dialogs_messages_stages_and_managers() {
        let mut b = SummaryBuilder::new(10);
        b.add(&row(1, Some("Won"), Some("Oleg"), 3));
        b.add(&row(2, Some("Won"), None, 0));
        b.add(&row(3, None, Some("  "), 4));
        b.add(&row(4, Some(""), Some("Oleg"), 1));
        let (summary, _) = b.finish();
        assert_eq!((summary.total_deals, summary.deals_with_dialogs, summary.total_messages), (4, 3, 8));
        let stages = BTreeMap::from([(NO_STAGE.to_owned(), 2), ("Won".to_owned(), 2)]);
        assert_eq!(summary.by_status, stages);
        let managers = BTreeMap::from([("Oleg".to_owned(), 2), (UNASSIGNED.to_owned(), 2)]);
        assert_eq!(summary.by_manager, managers);
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["by_status"]["(no stage)"], 2);
        assert_eq!(serde_json::from_value::<Summary>(json).unwrap(), summary);
    }

    #[test]
    fn previews_prefer_deals_with_dialogs_in_the_order_added_and_are_bounded() {
        let mut b = SummaryBuilder::new(3);
        for (id, messages) in [(1, 0), (2, 2), (3, 0), (4, 1), (5, 5), (6, 1), (7, 0)] {
            b.add(&row(id, None, None, messages));
        }
        assert!(b.with_dialogs.len() <= 3 && b.without_dialogs.len() <= 3, "memory stays bounded");
        let (summary, previews) = b.finish();
        assert_eq!(summary.total_deals, 7);
        assert_eq!(previews.iter().map(|p| p.deal_id).collect::<Vec<_>>(), vec![2, 4, 5]);
        let p = &previews[0];
        assert_eq!(
            (p.name.as_str(), p.status.as_str(), p.responsible.as_str(), p.messages),
            ("Deal 2", NO_STAGE, UNASSIGNED, 2)
        );
        assert_eq!(p.preview, "2026-03-02 10:00  client: message 0\n2026-03-02 10:01  client: message 1");

        // Too few dialogs: deals without them fill up, still in the order added.
        let mut b = SummaryBuilder::new(3);
        for (id, messages) in [(1, 0), (2, 0), (3, 2), (4, 0)] {
            b.add(&row(id, None, None, messages));
        }
        assert_eq!(b.finish().1.iter().map(|p| p.deal_id).collect::<Vec<_>>(), vec![3, 1, 2]);
        assert!(SummaryBuilder::new(0).finish().1.is_empty());
    }

    #[test]
    fn previews_cut_long_transcripts_at_a_line_or_character_boundary() {
        let mut r = row(1, None, None, 40);
        let mut b = SummaryBuilder::new(1);
        b.add(&r);
        let cut = b.finish().1.remove(0).preview;
        assert!(cut.ends_with("…") && cut.chars().count() <= 401, "{cut}");
        assert!(r.dialog_norm.starts_with(cut.trim_end_matches('…')));
        assert!(
            cut.trim_end_matches('…').ends_with(&format!("message {}", cut.lines().count() - 1)),
            "whole lines: {cut}"
        );

        // One long Cyrillic line: cut at a character boundary.
        r.dialog_norm = "привет ".repeat(200);
        let mut b = SummaryBuilder::new(1);
        b.add(&r);
        let cut = b.finish().1.remove(0).preview;
        assert_eq!(cut.chars().count(), 401, "400 characters plus the mark");
        assert!(r.dialog_norm.starts_with(cut.trim_end_matches('…')));
    }

    #[test]
    fn the_row_filter_counts_messages_except_in_crm_only() {
        let (none, one, three) = (row(1, None, None, 0), row(2, None, None, 1), row(3, None, None, 3));
        assert!(!keep_row(&none, ReportMode::CrmChats, 1));
        assert!(keep_row(&one, ReportMode::CrmChats, 1));
        assert!(!keep_row(&one, ReportMode::ChatsOnly, 2));
        assert!(keep_row(&three, ReportMode::ChatsOnly, 3));
        assert!(keep_row(&none, ReportMode::CrmOnly, 5));
        assert!(keep_row(&none, ReportMode::ChatsOnly, 0));
    }
}

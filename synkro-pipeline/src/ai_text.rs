//! The texts around the AI step: the default prompt, the report context, the rule-based
//! report, the Telegram message and the follow-up prompt, each in the tenant's [`Language`]
//! (the phrases live in one table per language). The AI answers in the language of its
//! instructions.

use std::{collections::BTreeMap, fmt::Write};

use synkro_core::{
    connector::FailureClass,
    domain::{Analytics, Language, ReportMode, Summary, Window},
    time::TimeZoneName,
};

use crate::{
    summary::{DealPreview, NO_STAGE, UNASSIGNED},
    words::{Words, words},
};

/// The default instructions in `language`: a structured management report on the day's dialogs
/// and deals with sections Results, Risks, Strengths, Recommendations; concise; numbers from
/// the summary; no invented facts. A tenant's own `prompt` replaces it.
pub fn default_prompt(language: Language) -> &'static str {
    words(language).default_prompt
}

/// The longest AI context, in characters.
const MAX_CONTEXT_CHARS: usize = 24_000;
/// Stages and managers listed in the context.
const TOP: usize = 10;
/// Longest name (tenant, stage, manager, deal) in the context, in characters.
const MAX_LABEL_CHARS: usize = 200;
/// Questions and answers a follow-up sees.
const FOLLOWUP_HISTORY: usize = 6;
/// Longest report text a follow-up sees, in characters.
const MAX_REPORT_CHARS: usize = 24_000;
/// Longest earlier answer a follow-up sees, in characters.
const MAX_ANSWER_CHARS: usize = 2_000;

/// What a report is about: the tenant, its mode and window, and what was measured; the texts
/// are in `language`.
#[derive(Debug, Clone, Copy)]
pub struct ReportFacts<'a> {
    /// The tenant's name.
    pub tenant_name: &'a str,
    /// Which sources the report combines.
    pub mode: ReportMode,
    /// The report's window.
    pub window: Window,
    /// The tenant's time zone: the window is shown in it.
    pub timezone: &'a TimeZoneName,
    /// The tenant's language.
    pub language: Language,
    /// The counts.
    pub summary: &'a Summary,
    /// The conversation analytics.
    pub analytics: &'a Analytics,
}

/// The AI context: tenant name, mode, window in tenant time
/// (`2026-03-01 22:01 – 2026-03-02 22:01 Europe/Berlin`), summary numbers, top stages and
/// managers (at most 10 each, by count then name), the measured responses and waits (the
/// longest waits and slowest responses first, by deal and manager), then the previews. At
/// most 24,000 characters: previews that do not fit are left out, and a note says how many.
pub fn build_context(facts: &ReportFacts<'_>, previews: &[DealPreview]) -> String {
    let w = words(facts.language);
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", w.company, short(facts.tenant_name));
    let _ = writeln!(out, "{}: {} ({})", w.mode, facts.mode, (w.mode_text)(facts.mode));
    let _ = writeln!(out, "{}: {}", w.window, window_text(facts.window, facts.timezone));
    out.push('\n');
    let s = facts.summary;
    let _ = writeln!(out, "{}:", w.summary);
    counts(&mut out, w, s, facts.analytics);
    out.push('\n');
    top(&mut out, w, w.stages_by_deals, &s.by_status);
    top(&mut out, w, w.managers_by_deals, &s.by_manager);
    responses(&mut out, facts.language, facts.analytics);
    if previews.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\n{}:", (w.previews_title)(previews.len()));
    let mut used = out.chars().count();
    for (index, p) in previews.iter().enumerate() {
        let block = preview_block(w, p);
        let left = previews.len() - index;
        let note = format!("\n{}\n", (w.context_cut)(MAX_CONTEXT_CHARS, left));
        if used + block.chars().count() + note.chars().count() > MAX_CONTEXT_CHARS {
            let room = MAX_CONTEXT_CHARS.saturating_sub(note.chars().count());
            out = cut(&out, room).to_owned();
            out.push_str(&note);
            return out;
        }
        used += block.chars().count();
        out.push_str(&block);
    }
    out
}

/// Why the AI was unavailable, in the report's words: the failure class, never the service's
/// own text.
pub fn failure_text(language: Language, class: FailureClass) -> &'static str {
    (words(language).ai_failure)(class)
}

/// Why there is no AI text when the tenant has no AI integration.
pub fn no_ai_text(language: Language) -> &'static str {
    words(language).no_ai_integration
}

/// A client waiting at least this long is a risk in the fallback report.
const LONG_WAIT_SECS: u64 = 2 * 3600;
/// A first response slower than this is a risk in the fallback report.
const SLOW_RESPONSE_SECS: u64 = 3600;
/// A manager whose median first response is at most this is a strength.
const QUICK_MEDIAN_SECS: u64 = 15 * 60;
/// Names listed per rule in the fallback report.
const FALLBACK_NAMES: usize = 5;

/// The report written by rules when the AI is unavailable (`why`: Synkro's words for the
/// reason, never an upstream body): a line saying so, then the four sections of the AI's
/// report — results, risks, strengths, recommendations — from the measured facts, naming deals
/// and managers, then every stage and manager count.
pub fn fallback_report(facts: &ReportFacts<'_>, why: &str) -> String {
    let w = words(facts.language);
    let (summary, analytics) = (facts.summary, facts.analytics);
    let duration = |secs| duration_text(facts.language, secs);
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", w.report_for, facts.tenant_name);
    let _ = writeln!(out, "{}: {}", w.period, window_text(facts.window, facts.timezone));
    let _ = writeln!(out, "{}", (w.ai_unavailable)(why));
    let d = &analytics.day;
    let deal = |name: &str, id: i64, manager: &str| (w.deal_ref)(short(name), id, short(display_label(w, manager)));

    let _ = writeln!(out, "\n{}", w.sections[0]);
    let (deals, dialogs, messages) = (summary.total_deals, summary.deals_with_dialogs, summary.total_messages);
    let _ = writeln!(out, "- {}", (w.results_line)(deals, dialogs, messages, d.inbound_messages, d.outbound_messages));
    source_counts(&mut out, w, analytics);
    if let (Some(median), Some(p90)) = (d.first_response_median_secs, d.first_response_p90_secs) {
        let _ = writeln!(out, "- {}", (w.first_response_day)(&duration(median), &duration(p90)));
    }

    let _ = writeln!(out, "\n{}", w.sections[1]);
    let long_waits: Vec<_> = analytics.waiting.iter().filter(|w| w.waiting_secs >= LONG_WAIT_SECS).collect();
    let slow: Vec<_> = analytics.slowest.iter().filter(|r| r.response_secs >= SLOW_RESPONSE_SECS).collect();
    let quiet: u64 = analytics.stages.iter().map(|s| s.quiet).sum();
    if !long_waits.is_empty() {
        let _ = writeln!(out, "- {}", (w.long_waits)(long_waits.len(), &duration(LONG_WAIT_SECS)));
        for c in long_waits.iter().take(FALLBACK_NAMES) {
            let _ = writeln!(out, "  - {}: {}", deal(&c.deal_name, c.deal_id, &c.manager), duration(c.waiting_secs));
        }
    }
    if !slow.is_empty() {
        let _ = writeln!(out, "- {}", (w.slow_responses)(&duration(SLOW_RESPONSE_SECS)));
        for r in slow.iter().take(FALLBACK_NAMES) {
            let _ = writeln!(out, "  - {}: {}", deal(&r.deal_name, r.deal_id, &r.manager), duration(r.response_secs));
        }
    }
    if quiet > 0 {
        let _ = writeln!(out, "- {}", (w.quiet_dialogs)(quiet));
    }
    let unmatched = d.dialogs_without_deal.unwrap_or(0);
    if unmatched > 0 {
        let _ = writeln!(out, "- {}", (w.unmatched_risk)(unmatched));
    }
    if long_waits.is_empty() && slow.is_empty() && quiet == 0 && unmatched == 0 {
        let _ = writeln!(out, "- {}", w.no_risks);
    }

    let _ = writeln!(out, "\n{}", w.sections[2]);
    let quick: Vec<_> = analytics
        .managers
        .iter()
        .filter(|m| m.first_response_median_secs.is_some_and(|t| t <= QUICK_MEDIAN_SECS))
        .collect();
    for m in quick.iter().take(FALLBACK_NAMES) {
        let median = m.first_response_median_secs.map(duration).unwrap_or_default();
        let _ = writeln!(out, "- {}", (w.quick_manager)(short(display_label(w, &m.manager)), &median));
    }
    if d.deals_with_dialogs > 0 && d.clients_waiting == 0 {
        let _ = writeln!(out, "- {}", w.all_answered);
    }
    if quick.is_empty() && (d.deals_with_dialogs == 0 || d.clients_waiting > 0) {
        let _ = writeln!(out, "- {}", w.no_strengths);
    }

    let _ = writeln!(out, "\n{}", w.sections[3]);
    for c in analytics.waiting.iter().take(FALLBACK_NAMES) {
        let _ = writeln!(out, "- {}", (w.answer_client)(&deal(&c.deal_name, c.deal_id, &c.manager)));
    }
    let slow_managers: Vec<_> = analytics
        .managers
        .iter()
        .filter(|m| m.first_response_p90_secs.is_some_and(|t| t >= SLOW_RESPONSE_SECS))
        .collect();
    for m in slow_managers.iter().take(FALLBACK_NAMES) {
        let p90 = m.first_response_p90_secs.map(duration).unwrap_or_default();
        let _ = writeln!(out, "- {}", (w.review_slow)(short(display_label(w, &m.manager)), &p90));
    }
    if quiet > 0 {
        let _ = writeln!(out, "- {}", w.remind_quiet);
    }
    if unmatched > 0 {
        let _ = writeln!(out, "- {}", (w.unmatched_todo)(unmatched));
    }
    if analytics.waiting.is_empty() && slow_managers.is_empty() && quiet == 0 && unmatched == 0 {
        let _ = writeln!(out, "- {}", w.keep_going);
    }

    for (title, counts) in [(w.stages_by_deals, &summary.by_status), (w.managers_by_deals, &summary.by_manager)] {
        if !counts.is_empty() {
            let _ = writeln!(out, "\n{title}:");
            for (name, count) in by_count(counts) {
                let _ = writeln!(out, "- {}: {count}", display_label(w, name));
            }
        }
    }
    out
}

/// The Telegram message: a header line with the tenant name and period, a blank line, the
/// report text.
pub fn delivery_text(
    language: Language,
    tenant_name: &str,
    period: (time::Date, time::Date),
    report_text: &str,
) -> String {
    let dates = dates_text(period);
    format!("{}\n\n{}", (words(language).delivery_header)(tenant_name, &dates), report_text.trim())
}

/// A report's period for people: `2026-03-02`, or `2026-03-01 – 2026-03-02` over two dates.
pub fn dates_text((start, end): (time::Date, time::Date)) -> String {
    if start == end { start.to_string() } else { format!("{start} – {end}") }
}

/// The follow-up prompt: `(system, context)`. The AI answers from the report text, its summary
/// numbers and the last 6 questions and answers of `history` (given oldest first, and kept in
/// that order), and says so when the report does not contain the answer.
pub fn followup_context(
    language: Language,
    report_text: &str,
    summary: Option<&Summary>,
    history: &[(String, String)],
    question: &str,
) -> (String, String) {
    let w = words(language);
    let mut context = String::new();
    let _ = writeln!(context, "{}\n{}\n", w.followup_report, cut(report_text.trim(), MAX_REPORT_CHARS));
    let numbers = match summary {
        None => w.none.to_owned(),
        Some(summary) => serde_json::to_string_pretty(summary).unwrap_or_default(),
    };
    let _ = writeln!(context, "{}\n{numbers}\n", w.followup_numbers);
    let recent = &history[history.len().saturating_sub(FOLLOWUP_HISTORY)..];
    if !recent.is_empty() {
        let _ = writeln!(context, "{}", w.followup_history);
        for (q, a) in recent {
            let _ =
                writeln!(context, "{} {}\n{} {}\n", w.question, q.trim(), w.answer, cut(a.trim(), MAX_ANSWER_CHARS));
        }
    }
    let _ = write!(context, "{}\n{}", w.new_question, question.trim());
    (w.followup_system.to_owned(), context)
}

/// `2026-03-01 22:01 – 2026-03-02 22:01 Europe/Berlin`.
pub fn window_text(window: Window, tz: &TimeZoneName) -> String {
    let local = |ts| tz.format(ts, "%Y-%m-%d %H:%M");
    format!("{} – {} {tz}", local(window.start()), local(window.end()))
}

/// `secs` for people: `5 ч 10 мин`, `45 мин`, `меньше минуты` (`5 h 10 min` in English).
pub fn duration_text(language: Language, secs: u64) -> String {
    let w = words(language);
    let (hours, minutes) = (secs / 3600, secs % 3600 / 60);
    match (hours, minutes) {
        (0, 0) => w.under_a_minute.to_owned(),
        (0, m) => format!("{m} {}", w.minutes),
        (h, 0) => format!("{h} {}", w.hours),
        (h, m) => format!("{h} {} {m} {}", w.hours, w.minutes),
    }
}

/// The measured responses and waits: the day's figures, the longest waits and slowest first
/// responses (at most [`TOP`] each, by deal and manager), and each manager's response times.
fn responses(out: &mut String, language: Language, a: &Analytics) {
    let d = &a.day;
    if d.inbound_messages + d.outbound_messages == 0 {
        return;
    }
    let w = words(language);
    let duration = |secs| duration_text(language, secs);
    let deal = |name: &str, id: i64, manager: &str| (w.deal_ref)(short(name), id, short(display_label(w, manager)));
    let _ = writeln!(out, "\n{}:", w.responses_title);
    let _ = writeln!(out, "- {}", (w.messages_each_way)(d.inbound_messages, d.outbound_messages));
    if let (Some(median), Some(p90)) = (d.first_response_median_secs, d.first_response_p90_secs) {
        let _ = writeln!(out, "- {}", (w.first_response_measured)(&duration(median), &duration(p90), d.responses));
    }
    let _ = writeln!(out, "- {}", (w.waiting_at_end)(d.clients_waiting));
    if !a.waiting.is_empty() {
        let _ = writeln!(out, "{}:", w.longest_waits);
        for c in a.waiting.iter().take(TOP) {
            let _ = writeln!(out, "- {}: {}", deal(&c.deal_name, c.deal_id, &c.manager), duration(c.waiting_secs));
        }
    }
    if !a.slowest.is_empty() {
        let _ = writeln!(out, "{}:", w.slowest_responses);
        for r in a.slowest.iter().take(TOP) {
            let _ = writeln!(out, "- {}: {}", deal(&r.deal_name, r.deal_id, &r.manager), duration(r.response_secs));
        }
    }
    let measured: Vec<_> =
        a.managers.iter().filter(|m| m.first_response_median_secs.is_some() || m.clients_waiting > 0).collect();
    if !measured.is_empty() {
        let _ = writeln!(out, "{}:", w.managers_responses);
        for m in measured.iter().take(TOP) {
            let median = m.first_response_median_secs.map_or(w.no_responses.to_owned(), duration);
            let name = short(display_label(w, &m.manager));
            let _ = writeln!(out, "- {}", (w.manager_responses)(name, &median, m.clients_waiting));
        }
    }
}

/// A report's figures as a list, for the Markdown export: the counts, what the sources
/// counted, messages each way, first responses and clients waiting.
pub fn figures(language: Language, summary: &Summary, analytics: &Analytics) -> String {
    let (w, d) = (words(language), &analytics.day);
    let mut out = String::new();
    counts(&mut out, w, summary, analytics);
    let _ = writeln!(out, "- {}", (w.messages_each_way)(d.inbound_messages, d.outbound_messages));
    if let (Some(median), Some(p90)) = (d.first_response_median_secs, d.first_response_p90_secs) {
        let (median, p90) = (duration_text(language, median), duration_text(language, p90));
        let _ = writeln!(out, "- {}", (w.first_response_day)(&median, &p90));
    }
    let _ = writeln!(out, "- {}", (w.waiting_at_end)(d.clients_waiting));
    out
}

/// The report's counts, then what the sources counted besides the rows.
fn counts(out: &mut String, w: &Words, summary: &Summary, analytics: &Analytics) {
    let _ = writeln!(out, "- {}: {}", w.deals, summary.total_deals);
    let _ = writeln!(out, "- {}: {}", w.deals_with_dialogs, summary.deals_with_dialogs);
    let _ = writeln!(out, "- {}: {}", w.messages, summary.total_messages);
    source_counts(out, w, analytics);
}

/// What the sources counted besides the rows, where the mode has it: deals the CRM updated,
/// chats that matched no deal.
fn source_counts(out: &mut String, w: &Words, a: &Analytics) {
    if let Some(n) = a.day.deals_updated {
        let _ = writeln!(out, "- {}: {n}", w.deals_updated);
    }
    if let Some(n) = a.day.dialogs_without_deal {
        let _ = writeln!(out, "- {}: {n}", w.dialogs_without_deal);
    }
}

/// At most [`TOP`] entries by count, then a line for the rest.
fn top(out: &mut String, w: &Words, title: &str, counts: &BTreeMap<String, u64>) {
    if counts.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}:");
    let sorted = by_count(counts);
    for (name, count) in sorted.iter().take(TOP) {
        let _ = writeln!(out, "- {}: {count}", short(display_label(w, name)));
    }
    if sorted.len() > TOP {
        let rest: u64 = sorted[TOP..].iter().map(|(_, c)| **c).sum();
        let _ = writeln!(out, "- {}: {rest}", (w.the_rest)(sorted.len() - TOP));
    }
}

/// Entries by count, largest first, then by name.
fn by_count(counts: &BTreeMap<String, u64>) -> Vec<(&String, &u64)> {
    let mut sorted: Vec<_> = counts.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    sorted
}

/// The summary's placeholder labels, in the readers' language.
fn display_label<'a>(w: &Words, name: &'a str) -> &'a str {
    match name {
        NO_STAGE => w.no_stage,
        UNASSIGNED => w.unassigned,
        other => other,
    }
}

fn preview_block(w: &Words, p: &DealPreview) -> String {
    let title = if p.deal_id < 0 { w.dialog_without_deal.to_owned() } else { (w.preview_deal)(p.deal_id) };
    let line =
        (w.preview_line)(short(display_label(w, &p.status)), short(display_label(w, &p.responsible)), p.messages);
    let mut block = format!("\n### {} ({title})\n{line}\n", short(&p.name));
    if !p.preview.is_empty() {
        block.push_str(&p.preview);
        block.push('\n');
    }
    block
}

/// `text` cut to [`MAX_LABEL_CHARS`].
fn short(text: &str) -> &str {
    cut(text, MAX_LABEL_CHARS)
}

/// The first `max_chars` characters of `text`.
pub(crate) fn cut(text: &str, max_chars: usize) -> &str {
    text.char_indices().nth(max_chars).map_or(text, |(end, _)| &text[..end])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use time::macros::date;

    use super::*;

    fn berlin() -> TimeZoneName {
        TimeZoneName::new("Europe/Berlin").unwrap()
    }

    fn window() -> Window {
        Window::new("2026-03-01T21:01:00Z".parse().unwrap(), "2026-03-02T21:01:00Z".parse().unwrap()).unwrap()
    }

    fn summary() -> Summary {
        let by_status = [("Won", 7), ("Lost", 3), ("New", 7), (NO_STAGE, 2)];
        Summary {
            total_deals: 19,
            deals_with_dialogs: 12,
            total_messages: 345,
            by_status: by_status.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            by_manager: [("Oleg".to_owned(), 11), ("Irina".to_owned(), 8)].into(),
        }
    }

    fn preview(id: i64, text: &str) -> DealPreview {
        DealPreview {
            deal_id: id,
            name: format!("Deal {id}"),
            status: "Won".into(),
            responsible: UNASSIGNED.into(),
            messages: 4,
            preview: text.into(),
        }
    }

    fn analytics() -> Analytics {
        use synkro_core::domain::{DayFigures, ManagerFigures, SlowResponse, WaitingClient};
        let waiting = |id: i64, secs: u64| WaitingClient {
            deal_id: id,
            deal_name: format!("Deal {id}"),
            manager: "Oleg".into(),
            waiting_secs: secs,
        };
        Analytics {
            day: DayFigures {
                inbound_messages: 200,
                outbound_messages: 145,
                clients_waiting: 2,
                responses: 40,
                first_response_median_secs: Some(900),
                first_response_p90_secs: Some(7_800),
                deals_updated: Some(31),
                dialogs_without_deal: Some(4),
                ..DayFigures::default()
            },
            managers: vec![ManagerFigures {
                manager: "Oleg".into(),
                dialogs: 8,
                messages: 200,
                first_response_median_secs: Some(600),
                first_response_p90_secs: Some(3_600),
                clients_waiting: 2,
            }],
            stages: Vec::new(),
            waiting: vec![waiting(42, 18_600), waiting(43, 1_800)],
            slowest: vec![SlowResponse {
                deal_id: 44,
                deal_name: "Deal 44".into(),
                manager: UNASSIGNED.into(),
                response_secs: 7_800,
            }],
            hours: Vec::new(),
        }
    }

    fn facts<'a>(
        name: &'a str,
        mode: ReportMode,
        tz: &'a TimeZoneName,
        language: Language,
        summary: &'a Summary,
        analytics: &'a Analytics,
    ) -> ReportFacts<'a> {
        ReportFacts { tenant_name: name, mode, window: window(), timezone: tz, language, summary, analytics }
    }

    fn position(haystack: &str, needle: &str) -> usize {
        haystack.find(needle).unwrap_or_else(|| panic!("{needle:?} missing from:\n{haystack}"))
    }

    #[test]
    fn the_context_has_tenant_mode_window_numbers_and_sorted_stages() {
        let previews = [preview(42, "2026-03-02 10:00  client: сколько стоит?"), preview(-7, "")];
        let (tz, s, a) = (berlin(), summary(), analytics());
        let c = build_context(&facts("Acme", ReportMode::CrmChats, &tz, Language::Ru, &s, &a), &previews);
        for needle in ["Компания: Acme", "crm_chats", "2026-03-01 22:01 – 2026-03-02 22:01 Europe/Berlin"] {
            position(&c, needle);
        }
        for needle in [
            "сделок: 19",
            "сделок с диалогами: 12",
            "сообщений: 345",
            "сделок обновлено в CRM за окно: 31",
            "диалогов без сделки в окне: 4",
            "Oleg: 11",
            "Irina: 8",
        ] {
            position(&c, needle);
        }
        // By count, then by name: New and Won (7) before Lost (3) before the unnamed stage (2).
        let order = ["- New: 7", "- Won: 7", "- Lost: 3", "- (без этапа): 2"].map(|s| position(&c, s));
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{c}");
        assert!(position(&c, "Oleg: 11") < position(&c, "Irina: 8"));
        assert!(position(&c, "### Deal 42 (сделка 42)") < position(&c, "сколько стоит?"));
        position(&c, "### Deal -7 (диалог без сделки)");
        position(&c, "менеджер: (без ответственного)");
        assert!(!c.contains("Контекст сокращён"));
        // The measured waits and responses, longest first, by deal and manager, before the
        // previews.
        position(&c, "первый ответ клиенту: медиана 15 мин, 90% ответов быстрее 2 ч 10 мин (40 ответов)");
        let waits =
            ["- Deal 42 (сделка 42, менеджер Oleg): 5 ч 10 мин", "- Deal 43 (сделка 43, менеджер Oleg): 30 мин"];
        assert!(position(&c, waits[0]) < position(&c, waits[1]));
        position(&c, "- Deal 44 (сделка 44, менеджер (без ответственного)): 2 ч 10 мин");
        position(&c, "- Oleg: медиана 10 мин, ждут 2");
        assert!(position(&c, "Ответы и ожидание") < position(&c, "### Deal 42"));
    }

    #[test]
    fn the_context_lists_at_most_ten_stages_and_managers() {
        let mut s = summary();
        s.by_status = (0..15).map(|i| (format!("stage {i:02}"), 100 - i)).collect();
        s.by_manager = (0..12).map(|i| (format!("manager {i:02}"), 1)).collect();
        let (tz, a) = (berlin(), Analytics::default());
        let c = build_context(&facts("Acme", ReportMode::ChatsOnly, &tz, Language::Ru, &s, &a), &[]);
        assert!(c.contains("stage 09: 91") && !c.contains("stage 10"), "{c}");
        assert!(c.contains("остальные (5): 440"), "{c}"); // 90 + 89 + 88 + 87 + 86
        assert!(c.contains("manager 09: 1") && !c.contains("manager 10") && c.contains("остальные (2): 2"));
    }

    #[test]
    fn the_context_is_bounded_and_says_what_it_left_out() {
        let long = "2026-03-02 10:00  client: ".to_owned() + &"очень длинное сообщение ".repeat(17);
        let previews: Vec<DealPreview> = (1..=200).map(|id| preview(id, &long)).collect();
        let (name, tz, s, a) = ("A".repeat(5_000), berlin(), summary(), analytics());
        let c = build_context(&facts(&name, ReportMode::CrmOnly, &tz, Language::Ru, &s, &a), &previews);
        let chars = c.chars().count();
        assert!((20_000..=MAX_CONTEXT_CHARS).contains(&chars), "{chars} characters");
        assert!(c.contains("сообщений: 345"), "the numbers survive the cut");
        let shown = c.matches("\n### ").count();
        assert!(shown > 10 && shown < 200);
        assert!(c.trim_end().ends_with(&format!("не показано сделок: {}.]", 200 - shown)), "{}", &c[c.len() - 200..]);
        assert!(!c.contains(&"A".repeat(201)), "long names are shortened");
    }

    #[test]
    fn the_fallback_is_a_report_a_manager_can_act_on() {
        let why = "сервис ИИ не ответил";
        let (tz, s, a) = (berlin(), summary(), analytics());
        let text = fallback_report(&facts("Acme", ReportMode::CrmChats, &tz, Language::Ru, &s, &a), why);
        position(&text, "Отчёт: Acme");
        position(&text, "2026-03-01 22:01 – 2026-03-02 22:01 Europe/Berlin");
        let said = position(&text, "ИИ недоступен (сервис ИИ не ответил): отчёт составлен по правилам");
        let sections = ["1. Итоги", "2. Риски", "3. Сильные стороны", "4. Рекомендации"].map(|s| position(&text, s));
        assert!(said < sections[0] && sections.windows(2).all(|w| w[0] < w[1]), "{text}");
        for needle in [
            "сделок: 19, с диалогами: 12, сообщений: 345 (от клиентов 200, от менеджеров 145)",
            "первый ответ клиенту: медиана 15 мин, 90% быстрее 2 ч 10 мин",
            "- сделок обновлено в CRM за окно: 31\n- диалогов без сделки в окне: 4",
            "1 клиент(ов) ждут ответа дольше 2 ч:",
            "  - Deal 42 (сделка 42, менеджер Oleg): 5 ч 10 мин",
            "  - Deal 44 (сделка 44, менеджер (без ответственного)): 2 ч 10 мин",
            "- Oleg отвечает быстро: медиана 10 мин",
            "- ответить клиенту: Deal 42 (сделка 42, менеджер Oleg)",
            "- ответить клиенту: Deal 43 (сделка 43, менеджер Oleg)",
            "- разобрать с менеджером Oleg долгие ответы (10% ответов дольше 1 ч)",
            "- диалогов без сделки в окне: 4 — проверьте, есть ли у этих клиентов сделки в CRM",
            "- проверить клиентов из диалогов без сделки (4) и завести сделки, где их нет",
            "- Won: 7",
            "- Irina: 8",
        ] {
            position(&text, needle);
        }
        assert!(!text.contains("Deal 43 (сделка 43, менеджер Oleg): 30 мин"), "a 30-minute wait is no risk: {text}");
        for word in ["error", "401", "timeout"] {
            assert!(!text.to_lowercase().contains(word), "{word} in {text}");
        }

        let (none, nothing) = (Summary::default(), Analytics::default());
        let empty = fallback_report(&facts("Acme", ReportMode::CrmChats, &tz, Language::Ru, &none, &nothing), why);
        for needle in
            ["сделок: 0", "измеренных рисков нет", "по измеренным данным выделить нечего", "продолжать в том же темпе"]
        {
            position(&empty, needle);
        }
        assert!(!empty.contains("Этапы") && !empty.contains("первый ответ"), "{empty}");
    }

    #[test]
    fn the_delivery_text_starts_with_a_header_and_a_blank_line() {
        let text = delivery_text(
            Language::Ru,
            "Acme",
            (date!(2026 - 03 - 01), date!(2026 - 03 - 02)),
            "\nИтоги: всё хорошо.\n",
        );
        assert_eq!(text, "Acme — отчёт за 2026-03-01 – 2026-03-02\n\nИтоги: всё хорошо.");
        let one_day = delivery_text(Language::Ru, "Acme", (date!(2026 - 03 - 02), date!(2026 - 03 - 02)), "x");
        assert_eq!(one_day.lines().next(), Some("Acme — отчёт за 2026-03-02"));
    }

    #[test]
    fn followups_see_the_report_numbers_and_the_last_six_exchanges_oldest_first() {
        let history: Vec<(String, String)> = (1..=8).map(|i| (format!("вопрос {i}"), format!("ответ {i}"))).collect();
        let (system, context) =
            followup_context(Language::Ru, "Итоги: 19 сделок.", Some(&summary()), &history, " А риски? ");
        assert!(system.contains("в отчёте этого нет"), "{system}");
        position(&context, "Итоги: 19 сделок.");
        position(&context, "\"total_messages\": 345");
        assert!(!context.contains("вопрос 2") && !context.contains("ответ 1\n"), "only the last six");
        let order: Vec<usize> =
            (3..=8).map(|i| position(&context, &format!("Вопрос: вопрос {i}\nОтвет: ответ {i}"))).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "oldest first: {context}");
        assert!(context.ends_with("Новый вопрос:\nА риски?"), "{context}");
        let (_, bare) = followup_context(Language::Ru, "r", None, &[], "q");
        assert!(!bare.contains("Предыдущие") && bare.contains("Сводные числа:\nнет"), "{bare}");
    }

    #[test]
    fn english_tenants_get_every_text_in_english() {
        let (tz, s, a) = (berlin(), summary(), analytics());
        let en = facts("Acme", ReportMode::CrmChats, &tz, Language::En, &s, &a);
        let c = build_context(&en, &[preview(-7, "")]);
        for needle in [
            "Company: Acme",
            "Mode: crm_chats (CRM deals and chat dialogs)",
            "- deals with dialogs: 12",
            "Stages (deals):",
            "- (no stage): 2",
            "Responses and waiting:",
            "first response to a client: median 15 min, 90% of responses within 2 h 10 min (40 responses)",
            "- Deal 42 (deal 42, manager Oleg): 5 h 10 min",
            "### Deal -7 (dialog without a deal)",
            "manager: (unassigned)",
        ] {
            position(&c, needle);
        }
        let why = failure_text(Language::En, FailureClass::Network);
        let text = fallback_report(&en, why);
        position(
            &text,
            "The AI was unavailable (the AI service did not answer in time): this report was written by rules",
        );
        let sections = ["1. Results", "2. Risks", "3. Strengths", "4. Recommendations"].map(|s| position(&text, s));
        assert!(sections.windows(2).all(|w| w[0] < w[1]), "{text}");
        position(&text, "- answer the client: Deal 42 (deal 42, manager Oleg)");
        position(&text, "1 client(s) waiting for an answer longer than 2 h:");
        let header = delivery_text(Language::En, "Acme", (date!(2026 - 03 - 02), date!(2026 - 03 - 02)), "x");
        assert_eq!(header, "Acme — report for 2026-03-02\n\nx");
        let (system, context) = followup_context(Language::En, "r", None, &[("q".into(), "a".into())], "why?");
        assert!(system.contains("in English") && context.contains("Question: q\nAnswer: a"), "{context}");
        assert!(context.ends_with("New question:\nwhy?") && context.contains("Summary numbers:\nnone"));
        assert!(default_prompt(Language::En).contains("4. Recommendations"));
        assert_eq!(duration_text(Language::En, 30), "under a minute");
        // No Cyrillic anywhere an English tenant reads.
        for text in [&c, &text, &header, &context, &system] {
            assert!(!text.chars().any(|ch| ('а'..='я').contains(&ch.to_lowercase().next().unwrap_or(ch))), "{text}");
        }
    }
}

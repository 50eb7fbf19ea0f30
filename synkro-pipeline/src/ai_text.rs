//! The texts around the AI step: the default prompt, the report context, the plain fallback
//! report, the Telegram message and the follow-up prompt.
//!
//! Texts people read (Telegram, the AI's instructions) are in Russian, like the product's users;
//! the AI answers in the language of its instructions.

use std::{collections::BTreeMap, fmt::Write};

use synkro_core::{
    domain::{ReportMode, Window},
    time::TimeZoneName,
};

use synkro_core::{
    connector::FailureClass,
    domain::{Analytics, Summary},
};

use crate::summary::{DealPreview, NO_STAGE, UNASSIGNED};

/// The default instructions: a structured management report on the day's dialogs and deals with
/// sections Results, Risks, Strengths, Recommendations; concise; numbers from the summary; no
/// invented facts.
pub const DEFAULT_PROMPT: &str = "\
Ты — руководитель отдела продаж и аналитик. По контексту ниже (сводка за день и превью \
диалогов с клиентами по сделкам) подготовь управленческий отчёт за день.

Структура отчёта:
1. Итоги — главное за день: сделки, диалоги, сообщения, ключевые события.
2. Риски — сделки и клиенты под угрозой: клиенты, ждущие ответа, и самые долгие ответы (раздел \
«Ответы и ожидание» контекста, с именами сделок и менеджеров), недовольство, вопросы без ответа, \
ошибки менеджеров.
3. Сильные стороны — что менеджеры сделали хорошо.
4. Рекомендации — конкретные действия на завтра: кто, что и по какой сделке.

Правила:
- Пиши кратко и по делу, без вступлений, на русском языке.
- Все числа бери из сводки контекста, не пересчитывай их.
- Не выдумывай факты: опирайся только на сводку и превью. Если данных мало, так и напиши.
- Называй сделки и менеджеров так, как они названы в контексте.";

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

/// The AI context: tenant name, mode, window in tenant time
/// (`2026-03-01 22:01 – 2026-03-02 22:01 Europe/Berlin`), summary numbers, top stages and
/// managers (at most 10 each, by count then name), the measured responses and waits (the
/// longest waits and slowest responses first, by deal and manager), then the previews. At
/// most 24,000 characters: previews that do not fit are left out, and a note says how many.
pub fn build_context(
    tenant_name: &str,
    mode: ReportMode,
    window: Window,
    tz: &TimeZoneName,
    summary: &Summary,
    analytics: &Analytics,
    previews: &[DealPreview],
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Компания: {}", short(tenant_name));
    let _ = writeln!(out, "Режим: {mode} ({})", mode_text(mode));
    let _ = writeln!(out, "Окно: {}", window_text(window, tz));
    out.push('\n');
    numbers(&mut out, summary);
    out.push('\n');
    top(&mut out, "Этапы (сделок)", &summary.by_status);
    top(&mut out, "Менеджеры (сделок)", &summary.by_manager);
    responses(&mut out, analytics);
    if previews.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nСделки с превью диалогов ({} шт.):", previews.len());
    let mut used = out.chars().count();
    for (index, p) in previews.iter().enumerate() {
        let block = preview_block(p);
        let left = previews.len() - index;
        let note = format!("\n[Контекст сокращён до {MAX_CONTEXT_CHARS} символов; не показано сделок: {left}.]\n");
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
pub fn failure_text(class: FailureClass) -> &'static str {
    match class {
        FailureClass::Auth => "ключ ИИ не принят",
        FailureClass::Permission => "у ключа ИИ нет доступа к модели",
        FailureClass::Config => "настройки ИИ неверны",
        FailureClass::RateLimited => "сервис ИИ ограничил частоту запросов",
        FailureClass::Network => "сервис ИИ не ответил вовремя",
        FailureClass::Upstream => "сервис ИИ ответил ошибкой",
    }
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
pub fn fallback_report(
    tenant_name: &str,
    window: Window,
    tz: &TimeZoneName,
    summary: &Summary,
    analytics: &Analytics,
    why: &str,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Отчёт: {tenant_name}");
    let _ = writeln!(out, "Период: {}", window_text(window, tz));
    let _ = writeln!(out, "ИИ недоступен ({why}): отчёт составлен по правилам из измеренных данных.");
    let d = &analytics.day;
    let deal = |name: &str, id: i64, manager: &str| {
        format!("{} (сделка {id}, менеджер {})", short(name), short(display_label(manager)))
    };

    let _ = writeln!(out, "\n1. Итоги");
    let _ = writeln!(
        out,
        "- сделок: {}, с диалогами: {}, сообщений: {} (от клиентов {}, от менеджеров {})",
        summary.total_deals,
        summary.deals_with_dialogs,
        summary.total_messages,
        d.inbound_messages,
        d.outbound_messages
    );
    if let (Some(median), Some(p90)) = (d.first_response_median_secs, d.first_response_p90_secs) {
        let _ = writeln!(
            out,
            "- первый ответ клиенту: медиана {}, 90% быстрее {}",
            duration_text(median),
            duration_text(p90)
        );
    }

    let _ = writeln!(out, "\n2. Риски");
    let long_waits: Vec<_> = analytics.waiting.iter().filter(|w| w.waiting_secs >= LONG_WAIT_SECS).collect();
    let slow: Vec<_> = analytics.slowest.iter().filter(|r| r.response_secs >= SLOW_RESPONSE_SECS).collect();
    let quiet: u64 = analytics.stages.iter().map(|s| s.quiet).sum();
    if !long_waits.is_empty() {
        let _ =
            writeln!(out, "- {} клиент(ов) ждут ответа дольше {}:", long_waits.len(), duration_text(LONG_WAIT_SECS));
        for w in long_waits.iter().take(FALLBACK_NAMES) {
            let _ =
                writeln!(out, "  - {}: {}", deal(&w.deal_name, w.deal_id, &w.manager), duration_text(w.waiting_secs));
        }
    }
    if !slow.is_empty() {
        let _ = writeln!(out, "- первые ответы дольше {}:", duration_text(SLOW_RESPONSE_SECS));
        for r in slow.iter().take(FALLBACK_NAMES) {
            let _ =
                writeln!(out, "  - {}: {}", deal(&r.deal_name, r.deal_id, &r.manager), duration_text(r.response_secs));
        }
    }
    if quiet > 0 {
        let _ = writeln!(out, "- диалогов, где клиент замолчал после ответа менеджера: {quiet}");
    }
    if long_waits.is_empty() && slow.is_empty() && quiet == 0 {
        let _ = writeln!(out, "- измеренных рисков нет");
    }

    let _ = writeln!(out, "\n3. Сильные стороны");
    let quick: Vec<_> = analytics
        .managers
        .iter()
        .filter(|m| m.first_response_median_secs.is_some_and(|t| t <= QUICK_MEDIAN_SECS))
        .collect();
    for m in quick.iter().take(FALLBACK_NAMES) {
        let median = m.first_response_median_secs.map(duration_text).unwrap_or_default();
        let _ = writeln!(out, "- {} отвечает быстро: медиана {median}", short(display_label(&m.manager)));
    }
    if d.deals_with_dialogs > 0 && d.clients_waiting == 0 {
        let _ = writeln!(out, "- на конец дня все клиенты получили ответ");
    }
    if quick.is_empty() && (d.deals_with_dialogs == 0 || d.clients_waiting > 0) {
        let _ = writeln!(out, "- по измеренным данным выделить нечего");
    }

    let _ = writeln!(out, "\n4. Рекомендации");
    for w in analytics.waiting.iter().take(FALLBACK_NAMES) {
        let _ = writeln!(out, "- ответить клиенту: {}", deal(&w.deal_name, w.deal_id, &w.manager));
    }
    let slow_managers: Vec<_> = analytics
        .managers
        .iter()
        .filter(|m| m.first_response_p90_secs.is_some_and(|t| t >= SLOW_RESPONSE_SECS))
        .collect();
    for m in slow_managers.iter().take(FALLBACK_NAMES) {
        let p90 = m.first_response_p90_secs.map(duration_text).unwrap_or_default();
        let _ = writeln!(
            out,
            "- разобрать с менеджером {} долгие ответы (10% ответов дольше {p90})",
            short(display_label(&m.manager))
        );
    }
    if quiet > 0 {
        let _ = writeln!(out, "- напомнить о себе клиентам, замолчавшим после ответа менеджера");
    }
    if analytics.waiting.is_empty() && slow_managers.is_empty() && quiet == 0 {
        let _ = writeln!(out, "- продолжать в том же темпе");
    }

    for (title, counts) in [("Этапы", &summary.by_status), ("Менеджеры", &summary.by_manager)] {
        if !counts.is_empty() {
            let _ = writeln!(out, "\n{title} (сделок):");
            for (name, count) in by_count(counts) {
                let _ = writeln!(out, "- {}: {count}", display_label(name));
            }
        }
    }
    out
}

/// The Telegram message: a header line with the tenant name and period, a blank line, the
/// report text.
pub fn delivery_text(tenant_name: &str, period: (time::Date, time::Date), report_text: &str) -> String {
    let (start, end) = period;
    let dates = if start == end { start.to_string() } else { format!("{start} – {end}") };
    format!("{tenant_name} — отчёт за {dates}\n\n{}", report_text.trim())
}

/// The follow-up prompt: `(system, context)`. The AI answers from the report text, its summary
/// numbers and the last 6 questions and answers of `history` (given oldest first, and kept in
/// that order), and says so when the report does not contain the answer.
pub fn followup_context(
    report_text: &str,
    summary: Option<&Summary>,
    history: &[(String, String)],
    question: &str,
) -> (String, String) {
    let system = "\
Ты отвечаешь на вопросы руководителя по готовому отчёту отдела продаж. Отвечай только по тексту \
отчёта, его сводным числам и предыдущим вопросам и ответам из контекста. Если в отчёте нет \
ответа, прямо скажи, что в отчёте этого нет, и ничего не придумывай. Отвечай кратко, на языке \
вопроса."
        .to_owned();
    let mut context = String::new();
    let _ = writeln!(context, "Отчёт:\n{}\n", cut(report_text.trim(), MAX_REPORT_CHARS));
    let numbers = match summary {
        None => "нет".to_owned(),
        Some(summary) => serde_json::to_string_pretty(summary).unwrap_or_default(),
    };
    let _ = writeln!(context, "Сводные числа:\n{numbers}\n");
    let recent = &history[history.len().saturating_sub(FOLLOWUP_HISTORY)..];
    if !recent.is_empty() {
        context.push_str("Предыдущие вопросы и ответы (от старых к новым):\n");
        for (q, a) in recent {
            let _ = writeln!(context, "Вопрос: {}\nОтвет: {}\n", q.trim(), cut(a.trim(), MAX_ANSWER_CHARS));
        }
    }
    let _ = write!(context, "Новый вопрос:\n{}", question.trim());
    (system, context)
}

/// `2026-03-01 22:01 – 2026-03-02 22:01 Europe/Berlin`.
fn window_text(window: Window, tz: &TimeZoneName) -> String {
    let zone = tz.zone();
    let local =
        |ts: synkro_core::time::Timestamp| zone.to_datetime(ts.to_jiff()).strftime("%Y-%m-%d %H:%M").to_string();
    format!("{} – {} {tz}", local(window.start()), local(window.end()))
}

fn mode_text(mode: ReportMode) -> &'static str {
    match mode {
        ReportMode::CrmChats => "сделки из CRM и диалоги из чатов",
        ReportMode::ChatsOnly => "только диалоги из чатов",
        ReportMode::CrmOnly => "только сделки из CRM",
    }
}

fn numbers(out: &mut String, s: &Summary) {
    let _ = writeln!(out, "Сводка:");
    let _ = writeln!(out, "- сделок: {}", s.total_deals);
    let _ = writeln!(out, "- сделок с диалогами: {}", s.deals_with_dialogs);
    let _ = writeln!(out, "- сообщений: {}", s.total_messages);
}

/// `secs` for people: `5 ч 10 мин`, `45 мин`, `меньше минуты`.
pub fn duration_text(secs: u64) -> String {
    let (hours, minutes) = (secs / 3600, secs % 3600 / 60);
    match (hours, minutes) {
        (0, 0) => "меньше минуты".to_owned(),
        (0, m) => format!("{m} мин"),
        (h, 0) => format!("{h} ч"),
        (h, m) => format!("{h} ч {m} мин"),
    }
}

/// The measured responses and waits: the day's figures, the longest waits and slowest first
/// responses (at most [`TOP`] each, by deal and manager), and each manager's response times.
fn responses(out: &mut String, a: &Analytics) {
    let d = &a.day;
    if d.inbound_messages + d.outbound_messages == 0 {
        return;
    }
    let _ = writeln!(out, "\nОтветы и ожидание:");
    let _ = writeln!(out, "- сообщений от клиентов: {}, от менеджеров: {}", d.inbound_messages, d.outbound_messages);
    if let (Some(median), Some(p90)) = (d.first_response_median_secs, d.first_response_p90_secs) {
        let (median, p90) = (duration_text(median), duration_text(p90));
        let _ = writeln!(
            out,
            "- первый ответ клиенту: медиана {median}, 90% ответов быстрее {p90} ({} ответов)",
            d.responses
        );
    }
    let _ = writeln!(out, "- клиентов ждут ответа на конец окна: {}", d.clients_waiting);
    if !a.waiting.is_empty() {
        let _ = writeln!(out, "Дольше всех ждут ответа:");
        for w in a.waiting.iter().take(TOP) {
            let (deal, manager) = (short(&w.deal_name), short(display_label(&w.manager)));
            let _ =
                writeln!(out, "- {deal} (сделка {}, менеджер {manager}): {}", w.deal_id, duration_text(w.waiting_secs));
        }
    }
    if !a.slowest.is_empty() {
        let _ = writeln!(out, "Самые долгие первые ответы:");
        for s in a.slowest.iter().take(TOP) {
            let (deal, manager) = (short(&s.deal_name), short(display_label(&s.manager)));
            let _ = writeln!(
                out,
                "- {deal} (сделка {}, менеджер {manager}): {}",
                s.deal_id,
                duration_text(s.response_secs)
            );
        }
    }
    let measured: Vec<_> =
        a.managers.iter().filter(|m| m.first_response_median_secs.is_some() || m.clients_waiting > 0).collect();
    if !measured.is_empty() {
        let _ = writeln!(out, "Менеджеры (первый ответ, ждут ответа):");
        for m in measured.iter().take(TOP) {
            let median = m.first_response_median_secs.map_or("нет ответов".to_owned(), duration_text);
            let _ =
                writeln!(out, "- {}: медиана {median}, ждут {}", short(display_label(&m.manager)), m.clients_waiting);
        }
    }
}

/// At most [`TOP`] entries by count, then a line for the rest.
fn top(out: &mut String, title: &str, counts: &BTreeMap<String, u64>) {
    if counts.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}:");
    let sorted = by_count(counts);
    for (name, count) in sorted.iter().take(TOP) {
        let _ = writeln!(out, "- {}: {count}", short(display_label(name)));
    }
    if sorted.len() > TOP {
        let rest: u64 = sorted[TOP..].iter().map(|(_, c)| **c).sum();
        let _ = writeln!(out, "- остальные ({}): {rest}", sorted.len() - TOP);
    }
}

/// Entries by count, largest first, then by name.
fn by_count(counts: &BTreeMap<String, u64>) -> Vec<(&String, &u64)> {
    let mut sorted: Vec<_> = counts.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    sorted
}

/// The summary's placeholder labels, in the readers' language.
fn display_label(name: &str) -> &str {
    match name {
        NO_STAGE => "(без этапа)",
        UNASSIGNED => "(без ответственного)",
        other => other,
    }
}

fn preview_block(p: &DealPreview) -> String {
    let title = if p.deal_id < 0 {
        "диалог без сделки".to_owned()
    } else {
        format!("сделка {}", p.deal_id)
    };
    let mut block = format!(
        "\n### {} ({title})\nЭтап: {}; менеджер: {}; сообщений: {}\n",
        short(&p.name),
        short(display_label(&p.status)),
        short(display_label(&p.responsible)),
        p.messages
    );
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
fn cut(text: &str, max_chars: usize) -> &str {
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
        }
    }

    fn position(haystack: &str, needle: &str) -> usize {
        haystack.find(needle).unwrap_or_else(|| panic!("{needle:?} missing from:\n{haystack}"))
    }

    #[test]
    fn the_context_has_tenant_mode_window_numbers_and_sorted_stages() {
        let previews = [preview(42, "2026-03-02 10:00  client: сколько стоит?"), preview(-7, "")];
        let c = build_context("Acme", ReportMode::CrmChats, window(), &berlin(), &summary(), &analytics(), &previews);
        for needle in ["Компания: Acme", "crm_chats", "2026-03-01 22:01 – 2026-03-02 22:01 Europe/Berlin"] {
            position(&c, needle);
        }
        for needle in ["сделок: 19", "сделок с диалогами: 12", "сообщений: 345", "Oleg: 11", "Irina: 8"]
        {
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
        let c = build_context("Acme", ReportMode::ChatsOnly, window(), &berlin(), &s, &Analytics::default(), &[]);
        assert!(c.contains("stage 09: 91") && !c.contains("stage 10"), "{c}");
        assert!(c.contains("остальные (5): 440"), "{c}"); // 90 + 89 + 88 + 87 + 86
        assert!(c.contains("manager 09: 1") && !c.contains("manager 10") && c.contains("остальные (2): 2"));
    }

    #[test]
    fn the_context_is_bounded_and_says_what_it_left_out() {
        let long = "2026-03-02 10:00  client: ".to_owned() + &"очень длинное сообщение ".repeat(17);
        let previews: Vec<DealPreview> = (1..=200).map(|id| preview(id, &long)).collect();
        let c = build_context(
            &"A".repeat(5_000),
            ReportMode::CrmOnly,
            window(),
            &berlin(),
            &summary(),
            &analytics(),
            &previews,
        );
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
        let text = fallback_report("Acme", window(), &berlin(), &summary(), &analytics(), why);
        position(&text, "Отчёт: Acme");
        position(&text, "2026-03-01 22:01 – 2026-03-02 22:01 Europe/Berlin");
        let said = position(&text, "ИИ недоступен (сервис ИИ не ответил): отчёт составлен по правилам");
        let sections = ["1. Итоги", "2. Риски", "3. Сильные стороны", "4. Рекомендации"].map(|s| position(&text, s));
        assert!(said < sections[0] && sections.windows(2).all(|w| w[0] < w[1]), "{text}");
        for needle in [
            "сделок: 19, с диалогами: 12, сообщений: 345 (от клиентов 200, от менеджеров 145)",
            "первый ответ клиенту: медиана 15 мин, 90% быстрее 2 ч 10 мин",
            "1 клиент(ов) ждут ответа дольше 2 ч:",
            "  - Deal 42 (сделка 42, менеджер Oleg): 5 ч 10 мин",
            "  - Deal 44 (сделка 44, менеджер (без ответственного)): 2 ч 10 мин",
            "- Oleg отвечает быстро: медиана 10 мин",
            "- ответить клиенту: Deal 42 (сделка 42, менеджер Oleg)",
            "- ответить клиенту: Deal 43 (сделка 43, менеджер Oleg)",
            "- разобрать с менеджером Oleg долгие ответы (10% ответов дольше 1 ч)",
            "- Won: 7",
            "- Irina: 8",
        ] {
            position(&text, needle);
        }
        assert!(!text.contains("Deal 43 (сделка 43, менеджер Oleg): 30 мин"), "a 30-minute wait is no risk: {text}");
        for word in ["error", "401", "timeout"] {
            assert!(!text.to_lowercase().contains(word), "{word} in {text}");
        }

        let empty = fallback_report("Acme", window(), &berlin(), &Summary::default(), &Analytics::default(), why);
        for needle in
            ["сделок: 0", "измеренных рисков нет", "по измеренным данным выделить нечего", "продолжать в том же темпе"]
        {
            position(&empty, needle);
        }
        assert!(!empty.contains("Этапы") && !empty.contains("первый ответ"), "{empty}");
    }

    #[test]
    fn the_delivery_text_starts_with_a_header_and_a_blank_line() {
        let text = delivery_text("Acme", (date!(2026 - 03 - 01), date!(2026 - 03 - 02)), "\nИтоги: всё хорошо.\n");
        assert_eq!(text, "Acme — отчёт за 2026-03-01 – 2026-03-02\n\nИтоги: всё хорошо.");
        let one_day = delivery_text("Acme", (date!(2026 - 03 - 02), date!(2026 - 03 - 02)), "x");
        assert_eq!(one_day.lines().next(), Some("Acme — отчёт за 2026-03-02"));
    }

    #[test]
    fn followups_see_the_report_numbers_and_the_last_six_exchanges_oldest_first() {
        let history: Vec<(String, String)> = (1..=8).map(|i| (format!("вопрос {i}"), format!("ответ {i}"))).collect();
        let (system, context) = followup_context("Итоги: 19 сделок.", Some(&summary()), &history, " А риски? ");
        assert!(system.contains("в отчёте этого нет"), "{system}");
        position(&context, "Итоги: 19 сделок.");
        position(&context, "\"total_messages\": 345");
        assert!(!context.contains("вопрос 2") && !context.contains("ответ 1\n"), "only the last six");
        let order: Vec<usize> =
            (3..=8).map(|i| position(&context, &format!("Вопрос: вопрос {i}\nОтвет: ответ {i}"))).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "oldest first: {context}");
        assert!(context.ends_with("Новый вопрос:\nА риски?"), "{context}");
        let (_, bare) = followup_context("r", None, &[], "q");
        assert!(!bare.contains("Предыдущие") && bare.contains("Сводные числа:\nнет"), "{bare}");
    }
}

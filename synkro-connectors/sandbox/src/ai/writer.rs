//! What the fake models write when they are given a Synkro report context or a follow-up
//! question: a report in the four sections whose numbers and names come from the context, or
//! an answer that quotes the report. Deterministic: the same input gives the same text. The
//! reply is in the language of the instructions (Russian when they hold Cyrillic letters).
//!
//! The fake reads the context the way a model would: by its labels, in Russian or English.

/// The labels of a Synkro report context and follow-up, in one language.
struct Labels {
    company: &'static str,
    deals: &'static str,
    with_dialogs: &'static str,
    messages: &'static str,
    deals_updated: &'static str,
    without_deal: &'static str,
    median: &'static str,
    within: &'static str,
    waiting: &'static str,
    longest_waits: &'static str,
    slowest: &'static str,
    managers: &'static str,
    report: &'static str,
    numbers: &'static str,
    question: &'static str,
    hours: &'static str,
    minutes: &'static str,
}

const RU: Labels = Labels {
    company: "Компания: ",
    deals: "- сделок: ",
    with_dialogs: "- сделок с диалогами: ",
    messages: "- сообщений: ",
    deals_updated: "- сделок обновлено в CRM за окно: ",
    without_deal: "- диалогов без сделки в окне: ",
    median: "медиана ",
    within: "быстрее ",
    waiting: "- клиентов ждут ответа на конец окна: ",
    longest_waits: "Дольше всех ждут ответа:",
    slowest: "Самые долгие первые ответы:",
    managers: "Менеджеры (первый ответ, ждут ответа):",
    report: "Отчёт:",
    numbers: "Сводные числа:",
    question: "Новый вопрос:",
    hours: "ч",
    minutes: "мин",
};

const EN: Labels = Labels {
    company: "Company: ",
    deals: "- deals: ",
    with_dialogs: "- deals with dialogs: ",
    messages: "- messages: ",
    deals_updated: "- deals updated in the CRM in the window: ",
    without_deal: "- dialogs without a deal in the window: ",
    median: "median ",
    within: "within ",
    waiting: "- clients waiting for an answer at the window's end: ",
    longest_waits: "Waiting longest for an answer:",
    slowest: "Slowest first responses:",
    managers: "Managers (first response, waiting):",
    report: "Report:",
    numbers: "Summary numbers:",
    question: "New question:",
    hours: "h",
    minutes: "min",
};

/// Names of deals or managers listed per point.
const NAMES: usize = 3;

/// The fake's text for `context` under `instructions`, or `None` when the context is neither
/// a Synkro report context nor a follow-up.
pub(crate) fn write(model: &str, instructions: &str, context: &str) -> Option<String> {
    let russian = if instructions.trim().is_empty() {
        context.starts_with(RU.company) || context.starts_with(RU.report)
    } else {
        instructions.chars().any(|c| matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё'))
    };
    let out = if russian { &RU_TEXT } else { &EN_TEXT };
    for labels in [&RU, &EN] {
        if context.starts_with(labels.company) {
            return Some(report(out, &Facts::read(labels, context), model));
        }
        if context.starts_with(labels.report) && context.contains(labels.question) {
            return Some(answer(out, labels, context));
        }
    }
    None
}

/// What the context says.
#[derive(Default)]
struct Facts {
    company: String,
    deals: Option<u64>,
    with_dialogs: Option<u64>,
    messages: Option<u64>,
    deals_updated: Option<u64>,
    without_deal: Option<u64>,
    median: Option<String>,
    p90: Option<String>,
    waiting: Option<u64>,
    /// (deal, wait), longest first.
    waits: Vec<(String, String)>,
    /// (deal, response), slowest first.
    slowest: Vec<(String, String)>,
    /// (manager, median in seconds, median as written).
    managers: Vec<(String, u64, String)>,
}

impl Facts {
    fn read(l: &Labels, context: &str) -> Self {
        let mut f = Facts::default();
        let number = |line: &str, label: &str| line.strip_prefix(label).and_then(|n| n.trim().parse().ok());
        let mut list: Option<&str> = None;
        for line in context.lines() {
            if let Some(name) = line.strip_prefix(l.company) {
                f.company = name.trim().to_owned();
            }
            f.deals = f.deals.or(number(line, l.deals));
            f.with_dialogs = f.with_dialogs.or(number(line, l.with_dialogs));
            f.messages = f.messages.or(number(line, l.messages));
            f.deals_updated = f.deals_updated.or(number(line, l.deals_updated));
            f.without_deal = f.without_deal.or(number(line, l.without_deal));
            f.waiting = f.waiting.or(number(line, l.waiting));
            if f.median.is_none()
                && let Some(rest) = line.split_once(l.median).map(|(_, rest)| rest)
                && let Some((median, rest)) = rest.split_once(", 90%")
                && list.is_none()
            {
                f.median = Some(median.to_owned());
                f.p90 = rest.split_once(l.within).map(|(_, p)| p.split(" (").next().unwrap_or(p).to_owned());
            }
            if [l.longest_waits, l.slowest, l.managers].contains(&line.trim()) {
                list = Some(line.trim());
                continue;
            }
            let Some(which) = list else { continue };
            let Some(item) = line.strip_prefix("- ") else {
                list = None;
                continue;
            };
            let Some((who, what)) = item.rsplit_once(": ") else { continue };
            let entry = (who.to_owned(), what.to_owned());
            if which == l.longest_waits {
                f.waits.push(entry);
            } else if which == l.slowest {
                f.slowest.push(entry);
            } else if let Some(median) = what.strip_prefix(l.median).and_then(|m| m.split(',').next()) {
                f.managers.push((who.to_owned(), seconds(l, median), median.to_owned()));
            }
        }
        f
    }
}

/// `5 ч 10 мин` / `5 h 10 min` in seconds (a phrase without numbers is 0).
fn seconds(l: &Labels, text: &str) -> u64 {
    let mut total = 0;
    let mut words = text.split_whitespace().peekable();
    while let Some(word) = words.next() {
        if let Ok(n) = word.parse::<u64>() {
            match words.peek() {
                Some(unit) if *unit == l.hours => total += n * 3600,
                Some(unit) if *unit == l.minutes => total += n * 60,
                _ => {}
            }
        }
    }
    total
}

/// The phrases of the fake's reply, in one language.
struct Text {
    sections: [&'static str; 4],
    totals: fn(u64, u64, u64) -> String,
    updated: fn(u64) -> String,
    responses: fn(&str, &str) -> String,
    waiting: fn(u64) -> String,
    waits: fn(&str, &str) -> String,
    slow: &'static str,
    without_deal: fn(u64) -> String,
    no_risks: &'static str,
    fastest: fn(&str, &str) -> String,
    all_answered: &'static str,
    little_data: &'static str,
    answer_today: fn(&str) -> String,
    review: fn(&str) -> String,
    add_deals: fn(u64) -> String,
    keep_going: &'static str,
    signature: fn(&str) -> String,
    quote: fn(&str) -> String,
    not_in_report: &'static str,
}

const RU_TEXT: Text = Text {
    sections: ["1. Итоги", "2. Риски", "3. Сильные стороны", "4. Рекомендации"],
    totals: |deals, dialogs, messages| {
        format!("Сделок в отчёте: {deals}, из них с диалогами: {dialogs}; сообщений за день: {messages}.")
    },
    updated: |n| format!("Обновлено сделок в CRM: {n}."),
    responses: |median, p90| format!("Первый ответ клиенту: медиана {median}, 90% ответов быстрее {p90}."),
    waiting: |n| format!("На конец дня ждут ответа клиентов: {n}."),
    waits: |who, how_long| format!("{who} — ждёт {how_long}"),
    slow: "Самые долгие первые ответы:",
    without_deal: |n| format!("Диалогов без сделки в окне: {n} — проверьте, есть ли у этих клиентов сделки в CRM."),
    no_risks: "Явных рисков по данным нет.",
    fastest: |who, median| format!("{who} — самый быстрый первый ответ (медиана {median})."),
    all_answered: "Все клиенты получили ответ до конца дня.",
    little_data: "Данных для выводов мало.",
    answer_today: |who| format!("Ответить в начале дня: {who}."),
    review: |who| format!("Разобрать долгий первый ответ: {who}."),
    add_deals: |n| format!("Проверить клиентов из диалогов без сделки ({n}) и завести сделки, где их нет."),
    keep_going: "Продолжать в том же темпе.",
    signature: |model| format!("(sandbox {model})"),
    quote: |line| format!("По отчёту: «{line}»"),
    not_in_report: "В отчёте этого нет.",
};

const EN_TEXT: Text = Text {
    sections: ["1. Results", "2. Risks", "3. Strengths", "4. Recommendations"],
    totals: |deals, dialogs, messages| {
        format!("Deals in the report: {deals}, with dialogs: {dialogs}; messages in the day: {messages}.")
    },
    updated: |n| format!("Deals updated in the CRM: {n}."),
    responses: |median, p90| format!("First response to a client: median {median}, 90% of responses within {p90}."),
    waiting: |n| format!("Clients waiting for an answer at the end of the day: {n}."),
    waits: |who, how_long| format!("{who} — waiting {how_long}"),
    slow: "Slowest first responses:",
    without_deal: |n| {
        format!("Dialogs without a deal in the window: {n} — check whether these clients have a deal in the CRM.")
    },
    no_risks: "The data shows no clear risks.",
    fastest: |who, median| format!("{who} — the fastest first response (median {median})."),
    all_answered: "Every client had an answer by the end of the day.",
    little_data: "There is little data to draw conclusions from.",
    answer_today: |who| format!("Answer first thing: {who}."),
    review: |who| format!("Go over the slow first response: {who}."),
    add_deals: |n| format!("Check the clients of the dialogs without a deal ({n}) and create deals where none exists."),
    keep_going: "Keep up the pace.",
    signature: |model| format!("(sandbox {model})"),
    quote: |line| format!("The report says: \"{line}\""),
    not_in_report: "The report does not say.",
};

/// The report in four sections from what the context says.
fn report(t: &Text, f: &Facts, model: &str) -> String {
    let mut out: Vec<String> = vec![t.sections[0].to_owned()];
    let line = |out: &mut Vec<String>, text: String| out.push(format!("- {text}"));
    line(&mut out, (t.totals)(f.deals.unwrap_or(0), f.with_dialogs.unwrap_or(0), f.messages.unwrap_or(0)));
    if let Some(n) = f.deals_updated {
        line(&mut out, (t.updated)(n));
    }
    if let (Some(median), Some(p90)) = (&f.median, &f.p90) {
        line(&mut out, (t.responses)(median, p90));
    }

    out.push(String::new());
    out.push(t.sections[1].to_owned());
    let waiting = f.waiting.unwrap_or(0);
    if waiting > 0 {
        line(&mut out, (t.waiting)(waiting));
        out.extend(f.waits.iter().take(NAMES).map(|(who, wait)| format!("  - {}", (t.waits)(who, wait))));
    }
    if !f.slowest.is_empty() {
        line(&mut out, t.slow.to_owned());
        out.extend(f.slowest.iter().take(NAMES).map(|(who, took)| format!("  - {who}: {took}")));
    }
    let without_deal = f.without_deal.unwrap_or(0);
    if without_deal > 0 {
        line(&mut out, (t.without_deal)(without_deal));
    }
    if waiting == 0 && f.slowest.is_empty() && without_deal == 0 {
        line(&mut out, t.no_risks.to_owned());
    }

    out.push(String::new());
    out.push(t.sections[2].to_owned());
    let fastest = f.managers.iter().min_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    if let Some((who, _, median)) = fastest {
        line(&mut out, (t.fastest)(who, median));
    }
    if waiting == 0 && f.with_dialogs.unwrap_or(0) > 0 {
        line(&mut out, t.all_answered.to_owned());
    }
    if fastest.is_none() && (waiting > 0 || f.with_dialogs.unwrap_or(0) == 0) {
        line(&mut out, t.little_data.to_owned());
    }

    out.push(String::new());
    out.push(t.sections[3].to_owned());
    for (who, _) in f.waits.iter().take(NAMES) {
        line(&mut out, (t.answer_today)(who));
    }
    if let Some((who, _)) = f.slowest.first() {
        line(&mut out, (t.review)(who));
    }
    if without_deal > 0 {
        line(&mut out, (t.add_deals)(without_deal));
    }
    if f.waits.is_empty() && f.slowest.is_empty() && without_deal == 0 {
        line(&mut out, t.keep_going.to_owned());
    }
    out.push(String::new());
    out.push((t.signature)(model));
    out.join("\n")
}

/// An answer quoting the report line that shares the most words with the question, or that
/// the report does not say.
fn answer(t: &Text, l: &Labels, context: &str) -> String {
    let report = context.strip_prefix(l.report).unwrap_or(context);
    let report = report.split(l.numbers).next().unwrap_or(report);
    let question = context.rsplit(l.question).next().unwrap_or_default();
    let asked = stems(question);
    let best = report
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| (stems(line).iter().filter(|s| asked.contains(s)).count(), line))
        .fold((0, ""), |best, next| if next.0 > best.0 { next } else { best });
    match best {
        (0, _) => t.not_in_report.to_owned(),
        (_, line) => (t.quote)(line.trim_start_matches("- ")),
    }
}

/// The first five letters of every word of at least four, lowercased: a crude stem that lets
/// "ждут" meet "ждёт" no better than a model would, but "клиенты" meet "клиентов".
fn stems(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 4)
        .map(|w| w.to_lowercase().chars().take(5).collect())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::write;

    const CONTEXT: &str = "Компания: Acme
Режим: crm_chats (сделки из CRM и диалоги из чатов)
Окно: 2026-03-01 22:01 – 2026-03-02 22:01 Europe/Berlin

Сводка:
- сделок: 19
- сделок с диалогами: 12
- сообщений: 345
- сделок обновлено в CRM за окно: 31
- диалогов без сделки в окне: 4

Ответы и ожидание:
- сообщений от клиентов: 200, от менеджеров: 145
- первый ответ клиенту: медиана 15 мин, 90% ответов быстрее 2 ч 10 мин (40 ответов)
- клиентов ждут ответа на конец окна: 2
Дольше всех ждут ответа:
- Deal 42 (сделка 42, менеджер Oleg): 5 ч 10 мин
- Deal 43 (сделка 43, менеджер Oleg): 30 мин
Самые долгие первые ответы:
- Deal 44 (сделка 44, менеджер Irina): 2 ч 10 мин
Менеджеры (первый ответ, ждут ответа):
- Oleg: медиана 10 мин, ждут 2
- Irina: медиана 1 ч 5 мин, ждут 0

Сделки с превью диалогов (1 шт.):
";

    #[test]
    fn a_report_context_gets_four_sections_with_its_own_numbers_and_names() {
        let text = write("gpt-4o-mini", "Ты — руководитель отдела продаж.", CONTEXT).unwrap();
        let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle:?} missing from:\n{text}"));
        let sections = ["1. Итоги", "2. Риски", "3. Сильные стороны", "4. Рекомендации"].map(at);
        assert!(sections.windows(2).all(|w| w[0] < w[1]), "{text}");
        at("Сделок в отчёте: 19, из них с диалогами: 12; сообщений за день: 345.");
        at("Обновлено сделок в CRM: 31.");
        at("Первый ответ клиенту: медиана 15 мин, 90% ответов быстрее 2 ч 10 мин.");
        at("На конец дня ждут ответа клиентов: 2.");
        at("  - Deal 42 (сделка 42, менеджер Oleg) — ждёт 5 ч 10 мин");
        at("  - Deal 44 (сделка 44, менеджер Irina): 2 ч 10 мин");
        at("Диалогов без сделки в окне: 4");
        at("Oleg — самый быстрый первый ответ (медиана 10 мин).");
        at("Ответить в начале дня: Deal 43 (сделка 43, менеджер Oleg).");
        assert_eq!(write("gpt-4o-mini", "Ты — руководитель отдела продаж.", CONTEXT).unwrap(), text, "deterministic");

        let english = write("gemini-2.0-flash", "You are a head of sales.", CONTEXT).unwrap();
        assert!(english.contains("4. Recommendations") && english.contains("Deals in the report: 19"), "{english}");
    }

    #[test]
    fn a_follow_up_quotes_the_report_or_says_it_does_not_know() {
        let context = "Отчёт:\nИтоги: всё спокойно.\n- Клиентов ждут ответа: 2, дольше всех Deal 42.\n\n\
                       Сводные числа:\nнет\n\nНовый вопрос:\nСколько клиентов ждут ответа?";
        let reply = write("m", "Отвечай на русском языке.", context).unwrap();
        assert_eq!(reply, "По отчёту: «Клиентов ждут ответа: 2, дольше всех Deal 42.»");
        let unknown = context.replace("Сколько клиентов ждут ответа?", "Какая погода в Берлине?");
        assert_eq!(write("m", "Отвечай на русском языке.", &unknown).unwrap(), "В отчёте этого нет.");
        assert_eq!(write("m", "Answer in English.", "deal 1: won"), None, "not a Synkro context");
    }
}

//! Every word Synkro writes for a tenant's people, in each [`Language`]: the AI's default
//! instructions and context, the rule-based report, the Telegram header, what the bot replies and
//! the alerts. One [`Words`] per language, so a phrase missing in one of them does not compile.

use synkro_core::{
    connector::FailureClass,
    domain::{Language, ReportMode},
};

/// The phrases of one language. Functions take the parts they place.
pub struct Words {
    /// The default AI instructions for a report.
    pub default_prompt: &'static str,
    /// The AI instructions for a follow-up answer.
    pub followup_system: &'static str,

    // The AI context.
    pub company: &'static str,
    pub mode: &'static str,
    pub window: &'static str,
    pub mode_text: fn(ReportMode) -> &'static str,
    pub summary: &'static str,
    pub deals: &'static str,
    pub deals_with_dialogs: &'static str,
    pub deals_updated: &'static str,
    pub dialogs_without_deal: &'static str,
    pub messages: &'static str,
    pub stages_by_deals: &'static str,
    pub managers_by_deals: &'static str,
    pub the_rest: fn(usize) -> String,
    pub responses_title: &'static str,
    pub messages_each_way: fn(u64, u64) -> String,
    pub first_response_measured: fn(&str, &str, u64) -> String,
    pub waiting_at_end: fn(u64) -> String,
    pub longest_waits: &'static str,
    pub slowest_responses: &'static str,
    pub managers_responses: &'static str,
    pub manager_responses: fn(&str, &str, u64) -> String,
    pub no_responses: &'static str,
    pub deal_ref: fn(&str, i64, &str) -> String,
    pub previews_title: fn(usize) -> String,
    pub context_cut: fn(usize, usize) -> String,
    pub preview_deal: fn(i64) -> String,
    pub dialog_without_deal: &'static str,
    pub preview_line: fn(&str, &str, u64) -> String,
    pub no_stage: &'static str,
    pub unassigned: &'static str,

    // Why the AI was unavailable.
    pub ai_failure: fn(FailureClass) -> &'static str,
    pub no_ai_integration: &'static str,

    // The rule-based report.
    pub report_for: &'static str,
    pub period: &'static str,
    pub ai_unavailable: fn(&str) -> String,
    pub sections: [&'static str; 4],
    pub results_line: fn(u64, u64, u64, u64, u64) -> String,
    pub first_response_day: fn(&str, &str) -> String,
    pub long_waits: fn(usize, &str) -> String,
    pub slow_responses: fn(&str) -> String,
    pub quiet_dialogs: fn(u64) -> String,
    pub unmatched_risk: fn(u64) -> String,
    pub unmatched_todo: fn(u64) -> String,
    pub no_risks: &'static str,
    pub quick_manager: fn(&str, &str) -> String,
    pub all_answered: &'static str,
    pub no_strengths: &'static str,
    pub answer_client: fn(&str) -> String,
    pub review_slow: fn(&str, &str) -> String,
    pub remind_quiet: &'static str,
    pub keep_going: &'static str,

    // Durations.
    pub hours: &'static str,
    pub minutes: &'static str,
    pub under_a_minute: &'static str,

    // Telegram.
    pub delivery_header: fn(&str, &str) -> String,
    pub figures: &'static str,
    pub followup_report: &'static str,
    pub followup_numbers: &'static str,
    pub none: &'static str,
    pub followup_history: &'static str,
    pub question: &'static str,
    pub answer: &'static str,
    pub new_question: &'static str,
    pub no_reports_yet: &'static str,
    pub cannot_answer: fn(&str) -> String,
    pub tenant_paused: &'static str,
    pub internal_error: &'static str,
    pub window_closed: fn(&str) -> String,
    /// `strftime` of the closing time.
    pub deadline_format: &'static str,
    pub ask_in_dashboard: fn(Option<&str>) -> String,

    // Alerts to the tenant's admins.
    pub alert_title: fn(&str) -> String,
    pub alert_failed: fn(&str, &str) -> String,
    pub alert_fallback: fn(&str, &str) -> String,
    pub alert_delivery: fn(&str, &str) -> String,
    pub alert_missed: fn(&str, &str) -> String,
    pub alert_where: fn(Option<&str>) -> String,
    pub job_failed: fn(i32) -> String,
    pub messenger_failure: fn(FailureClass) -> &'static str,
    pub delivery_retrying: &'static str,
    pub delivery_unknown: &'static str,
}

/// The phrases of `language`.
pub fn words(language: Language) -> &'static Words {
    match language {
        Language::Ru => &RU,
        Language::En => &EN,
    }
}

static RU: Words = Words {
    default_prompt: "\
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
- Называй сделки и менеджеров так, как они названы в контексте.",
    followup_system: "\
Ты отвечаешь на вопросы руководителя по готовому отчёту отдела продаж. Отвечай только по тексту \
отчёта, его сводным числам и предыдущим вопросам и ответам из контекста. Если в отчёте нет \
ответа, прямо скажи, что в отчёте этого нет, и ничего не придумывай. Отвечай кратко, на русском \
языке.",
    company: "Компания",
    mode: "Режим",
    window: "Окно",
    mode_text: |mode| match mode {
        ReportMode::CrmChats => "сделки из CRM и диалоги из чатов",
        ReportMode::ChatsOnly => "только диалоги из чатов",
        ReportMode::CrmOnly => "только сделки из CRM",
    },
    summary: "Сводка",
    deals: "сделок",
    deals_with_dialogs: "сделок с диалогами",
    deals_updated: "сделок обновлено в CRM за окно",
    dialogs_without_deal: "диалогов без сделки в окне",
    messages: "сообщений",
    stages_by_deals: "Этапы (сделок)",
    managers_by_deals: "Менеджеры (сделок)",
    the_rest: |n| format!("остальные ({n})"),
    responses_title: "Ответы и ожидание",
    messages_each_way: |inbound, outbound| format!("сообщений от клиентов: {inbound}, от менеджеров: {outbound}"),
    first_response_measured: |median, p90, n| {
        format!("первый ответ клиенту: медиана {median}, 90% ответов быстрее {p90} ({n} ответов)")
    },
    waiting_at_end: |n| format!("клиентов ждут ответа на конец окна: {n}"),
    longest_waits: "Дольше всех ждут ответа",
    slowest_responses: "Самые долгие первые ответы",
    managers_responses: "Менеджеры (первый ответ, ждут ответа)",
    manager_responses: |name, median, waiting| format!("{name}: медиана {median}, ждут {waiting}"),
    no_responses: "нет ответов",
    deal_ref: |name, id, manager| format!("{name} (сделка {id}, менеджер {manager})"),
    previews_title: |n| format!("Сделки с превью диалогов ({n} шт.)"),
    context_cut: |max, left| format!("[Контекст сокращён до {max} символов; не показано сделок: {left}.]"),
    preview_deal: |id| format!("сделка {id}"),
    dialog_without_deal: "диалог без сделки",
    preview_line: |stage, manager, n| format!("Этап: {stage}; менеджер: {manager}; сообщений: {n}"),
    no_stage: "(без этапа)",
    unassigned: "(без ответственного)",
    ai_failure: |class| match class {
        FailureClass::Auth => "ключ ИИ не принят",
        FailureClass::Permission => "у ключа ИИ нет доступа к модели",
        FailureClass::Config => "настройки ИИ неверны",
        FailureClass::RateLimited => "сервис ИИ ограничил частоту запросов",
        FailureClass::Network => "сервис ИИ не ответил вовремя",
        FailureClass::Upstream => "сервис ИИ ответил ошибкой",
    },
    no_ai_integration: "интеграция ИИ не настроена",
    report_for: "Отчёт",
    period: "Период",
    ai_unavailable: |why| format!("ИИ недоступен ({why}): отчёт составлен по правилам из измеренных данных."),
    sections: ["1. Итоги", "2. Риски", "3. Сильные стороны", "4. Рекомендации"],
    results_line: |deals, dialogs, messages, inbound, outbound| {
        format!(
            "сделок: {deals}, с диалогами: {dialogs}, сообщений: {messages} (от клиентов {inbound}, от менеджеров \
             {outbound})"
        )
    },
    first_response_day: |median, p90| format!("первый ответ клиенту: медиана {median}, 90% быстрее {p90}"),
    long_waits: |n, over| format!("{n} клиент(ов) ждут ответа дольше {over}:"),
    slow_responses: |over| format!("первые ответы дольше {over}:"),
    quiet_dialogs: |n| format!("диалогов, где клиент замолчал после ответа менеджера: {n}"),
    unmatched_risk: |n| format!("диалогов без сделки в окне: {n} — проверьте, есть ли у этих клиентов сделки в CRM"),
    unmatched_todo: |n| format!("проверить клиентов из диалогов без сделки ({n}) и завести сделки, где их нет"),
    no_risks: "измеренных рисков нет",
    quick_manager: |name, median| format!("{name} отвечает быстро: медиана {median}"),
    all_answered: "на конец дня все клиенты получили ответ",
    no_strengths: "по измеренным данным выделить нечего",
    answer_client: |deal| format!("ответить клиенту: {deal}"),
    review_slow: |name, p90| format!("разобрать с менеджером {name} долгие ответы (10% ответов дольше {p90})"),
    remind_quiet: "напомнить о себе клиентам, замолчавшим после ответа менеджера",
    keep_going: "продолжать в том же темпе",
    hours: "ч",
    minutes: "мин",
    under_a_minute: "меньше минуты",
    delivery_header: |tenant, dates| format!("{tenant} — отчёт за {dates}"),
    figures: "Цифры",
    followup_report: "Отчёт:",
    followup_numbers: "Сводные числа:",
    none: "нет",
    followup_history: "Предыдущие вопросы и ответы (от старых к новым):",
    question: "Вопрос:",
    answer: "Ответ:",
    new_question: "Новый вопрос:",
    no_reports_yet: "Отчётов пока нет.",
    cannot_answer: |why| format!("Не получилось ответить: {why}."),
    tenant_paused: "работа компании в Synkro приостановлена",
    internal_error: "внутренняя ошибка Synkro, попробуйте позже",
    window_closed: |when| format!("Окно вопросов по последнему отчёту закрылось{when}."),
    deadline_format: "%d.%m.%Y в %H:%M",
    ask_in_dashboard: |url| match url {
        Some(url) => format!("Задать вопрос по отчёту можно в панели Synkro: {url}/"),
        None => "Задать вопрос по отчёту можно в веб-панели Synkro.".to_owned(),
    },
    alert_title: |tenant| format!("⚠️ Synkro, {tenant}"),
    alert_failed: |window, why| format!("Отчёт за {window} не построен: {why}."),
    alert_fallback: |window, why| format!("Отчёт за {window} составлен без ИИ ({why}): проверьте интеграцию ИИ."),
    alert_delivery: |window, why| format!("Отчёт за {window} не доставлен в чат: {why}."),
    alert_missed: |window, due| format!("Отчёта за {window} нет, хотя он ожидался к {due}."),
    alert_where: |url| match url {
        Some(url) => format!("Подробности: {url}/"),
        None => "Подробности — в журнале задач Synkro.".to_owned(),
    },
    job_failed: |attempts| format!("задача завершилась ошибкой (попыток: {attempts})"),
    messenger_failure: |class| match class {
        FailureClass::Auth => "токен бота не принят",
        FailureClass::Permission => "у бота нет доступа к чату",
        FailureClass::Config => "настройки мессенджера неверны",
        FailureClass::RateLimited => "мессенджер ограничил частоту отправки",
        FailureClass::Network => "мессенджер не ответил вовремя",
        FailureClass::Upstream => "мессенджер ответил ошибкой",
    },
    delivery_retrying: "Synkro повторит отправку",
    delivery_unknown: "отправка прервалась, и неизвестно, дошёл ли отчёт; проверьте чат и отправьте заново",
};

static EN: Words = Words {
    default_prompt: "\
You are a head of sales and an analyst. From the context below (the day's summary and previews \
of the dialogs with clients, by deal) write the day's management report.

Sections:
1. Results — the day's main points: deals, dialogs, messages, key events.
2. Risks — deals and clients at risk: clients waiting for an answer and the slowest responses \
(the context's \"Responses and waiting\" part, with deal and manager names), dissatisfaction, \
unanswered questions, managers' mistakes.
3. Strengths — what the managers did well.
4. Recommendations — concrete actions for tomorrow: who does what on which deal.

Rules:
- Be brief and to the point, no preamble, in English.
- Take every number from the context's summary; do not recount.
- Do not invent facts: rely on the summary and the previews only. If there is little data, say so.
- Name deals and managers as the context names them.",
    followup_system: "\
You answer a manager's questions about a finished sales report. Answer only from the report's \
text, its summary numbers and the earlier questions and answers in the context. If the report \
does not contain the answer, say plainly that the report does not say, and invent nothing. Answer \
briefly, in English.",
    company: "Company",
    mode: "Mode",
    window: "Window",
    mode_text: |mode| match mode {
        ReportMode::CrmChats => "CRM deals and chat dialogs",
        ReportMode::ChatsOnly => "chat dialogs only",
        ReportMode::CrmOnly => "CRM deals only",
    },
    summary: "Summary",
    deals: "deals",
    deals_with_dialogs: "deals with dialogs",
    deals_updated: "deals updated in the CRM in the window",
    dialogs_without_deal: "dialogs without a deal in the window",
    messages: "messages",
    stages_by_deals: "Stages (deals)",
    managers_by_deals: "Managers (deals)",
    the_rest: |n| format!("others ({n})"),
    responses_title: "Responses and waiting",
    messages_each_way: |inbound, outbound| format!("messages from clients: {inbound}, from managers: {outbound}"),
    first_response_measured: |median, p90, n| {
        format!("first response to a client: median {median}, 90% of responses within {p90} ({n} responses)")
    },
    waiting_at_end: |n| format!("clients waiting for an answer at the window's end: {n}"),
    longest_waits: "Waiting longest for an answer",
    slowest_responses: "Slowest first responses",
    managers_responses: "Managers (first response, waiting)",
    manager_responses: |name, median, waiting| format!("{name}: median {median}, waiting {waiting}"),
    no_responses: "no responses",
    deal_ref: |name, id, manager| format!("{name} (deal {id}, manager {manager})"),
    previews_title: |n| format!("Deals with dialog previews ({n})"),
    context_cut: |max, left| format!("[Context cut to {max} characters; deals not shown: {left}.]"),
    preview_deal: |id| format!("deal {id}"),
    dialog_without_deal: "dialog without a deal",
    preview_line: |stage, manager, n| format!("Stage: {stage}; manager: {manager}; messages: {n}"),
    no_stage: "(no stage)",
    unassigned: "(unassigned)",
    ai_failure: |class| match class {
        FailureClass::Auth => "the AI key was refused",
        FailureClass::Permission => "the AI key has no access to the model",
        FailureClass::Config => "the AI settings are wrong",
        FailureClass::RateLimited => "the AI service limited the request rate",
        FailureClass::Network => "the AI service did not answer in time",
        FailureClass::Upstream => "the AI service answered with an error",
    },
    no_ai_integration: "no AI integration is set up",
    report_for: "Report",
    period: "Period",
    ai_unavailable: |why| {
        format!("The AI was unavailable ({why}): this report was written by rules from measured data.")
    },
    sections: ["1. Results", "2. Risks", "3. Strengths", "4. Recommendations"],
    results_line: |deals, dialogs, messages, inbound, outbound| {
        format!(
            "deals: {deals}, with dialogs: {dialogs}, messages: {messages} (from clients {inbound}, from managers \
             {outbound})"
        )
    },
    first_response_day: |median, p90| format!("first response to a client: median {median}, 90% within {p90}"),
    long_waits: |n, over| format!("{n} client(s) waiting for an answer longer than {over}:"),
    slow_responses: |over| format!("first responses slower than {over}:"),
    quiet_dialogs: |n| format!("dialogs where the client fell silent after the manager's answer: {n}"),
    unmatched_risk: |n| {
        format!("dialogs without a deal in the window: {n} — check whether these clients have a deal in the CRM")
    },
    unmatched_todo: |n| {
        format!("check the clients of the dialogs without a deal ({n}) and create deals where none exists")
    },
    no_risks: "no measured risks",
    quick_manager: |name, median| format!("{name} answers quickly: median {median}"),
    all_answered: "every client had an answer by the end of the day",
    no_strengths: "nothing stands out in the measured data",
    answer_client: |deal| format!("answer the client: {deal}"),
    review_slow: |name, p90| format!("go over slow answers with {name} (10% of answers took longer than {p90})"),
    remind_quiet: "follow up with clients who fell silent after the manager's answer",
    keep_going: "keep up the pace",
    hours: "h",
    minutes: "min",
    under_a_minute: "under a minute",
    delivery_header: |tenant, dates| format!("{tenant} — report for {dates}"),
    figures: "Figures",
    followup_report: "Report:",
    followup_numbers: "Summary numbers:",
    none: "none",
    followup_history: "Earlier questions and answers (oldest first):",
    question: "Question:",
    answer: "Answer:",
    new_question: "New question:",
    no_reports_yet: "There are no reports yet.",
    cannot_answer: |why| format!("Could not answer: {why}."),
    tenant_paused: "the company is paused in Synkro",
    internal_error: "an internal Synkro error, please try later",
    window_closed: |when| format!("Questions about the latest report closed{when}."),
    deadline_format: "%Y-%m-%d at %H:%M",
    ask_in_dashboard: |url| match url {
        Some(url) => format!("Ask about the report in the Synkro dashboard: {url}/"),
        None => "Ask about the report in the Synkro dashboard.".to_owned(),
    },
    alert_title: |tenant| format!("⚠️ Synkro, {tenant}"),
    alert_failed: |window, why| format!("The report for {window} was not made: {why}."),
    alert_fallback: |window, why| {
        format!("The report for {window} was written without the AI ({why}): check the AI integration.")
    },
    alert_delivery: |window, why| format!("The report for {window} did not reach the chat: {why}."),
    alert_missed: |window, due| format!("There is no report for {window}, though it was due by {due}."),
    alert_where: |url| match url {
        Some(url) => format!("Details: {url}/"),
        None => "Details are in Synkro's job log.".to_owned(),
    },
    job_failed: |attempts| format!("the job failed (attempts: {attempts})"),
    messenger_failure: |class| match class {
        FailureClass::Auth => "the bot token was refused",
        FailureClass::Permission => "the bot has no access to the chat",
        FailureClass::Config => "the messenger settings are wrong",
        FailureClass::RateLimited => "the messenger limited the sending rate",
        FailureClass::Network => "the messenger did not answer in time",
        FailureClass::Upstream => "the messenger answered with an error",
    },
    delivery_retrying: "Synkro will try again",
    delivery_unknown: "sending stopped part-way and it is unknown whether the report arrived; check the chat and re-send it",
};

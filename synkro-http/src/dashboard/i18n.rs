//! Every word of the dashboard's interface in each language. Each phrase is one line giving
//! both languages, so a phrase cannot exist in one of them only; the tests below fail on an
//! empty phrase or one left untranslated.

#![allow(missing_docs)]

use synkro_core::domain::Language;

macro_rules! words {
    ($($name:ident: $ru:expr, $en:expr;)*) => {
        /// The interface's words in one language.
        pub struct Ui {
            /// `lang` attribute of the page.
            pub code: &'static str,
            $(pub $name: &'static str,)*
        }

        static RU: Ui = Ui { code: "ru", $($name: $ru,)* };
        static EN: Ui = Ui { code: "en", $($name: $en,)* };

        impl Ui {
            /// Every phrase with its name, for the tests.
            #[cfg(test)]
            fn phrases(&self) -> Vec<(&'static str, &'static str)> {
                vec![$((stringify!($name), self.$name),)*]
            }
        }
    };
}

/// The words of `language`.
pub fn ui(language: Language) -> &'static Ui {
    match language {
        Language::Ru => &RU,
        Language::En => &EN,
    }
}

words! {
    product: "Synkro", "Synkro";
    skip_to_content: "Перейти к содержимому", "Skip to content";
    navigation: "Разделы", "Sections";
    sign_in: "Вход", "Sign in";
    username: "Логин", "Username";
    password: "Пароль", "Password";
    sign_in_button: "Войти", "Sign in";
    session_ended: "Сессия завершилась. Войдите снова.", "Your session ended. Please sign in again.";
    bad_credentials: "Неверный логин или пароль.", "Wrong username or password.";
    too_many_attempts: "Слишком много попыток. Попробуйте снова через несколько минут.",
        "Too many attempts. Try again in a few minutes.";
    form_expired_title: "Форма устарела", "The form expired";
    form_expired: "Форма устарела. Обновите страницу и попробуйте ещё раз.",
        "The form expired. Reload the page and try again.";
    sign_out: "Выйти", "Sign out";
    overview: "Обзор", "Overview";
    reports: "Отчёты", "Reports";
    settings: "Настройки", "Settings";
    administration: "Администрирование", "Administration";
    profile: "Профиль", "Profile";
    back_to_overview: "К обзору", "Back to the overview";
    not_found_title: "Не найдено", "Not found";
    not_found: "Такой страницы нет или у вас нет к ней доступа.", "There is no such page, or you have no access to it.";
    invalid_title: "Проверьте данные", "Check what you entered";
    invalid: "Запрос не принят: проверьте поле, названное ниже.", "The request was refused: check the field named below.";
    check_field: "Проверьте поле", "Check the field";
    slow_down_title: "Слишком часто", "Too many requests";
    slow_down: "Слишком много запросов. Подождите и попробуйте снова.", "Too many requests. Wait and try again.";
    conflict_title: "Сейчас нельзя", "Not possible now";
    conflict: "Это действие сейчас невозможно.", "This cannot be done right now.";
    server_error_title: "Ошибка сервера", "Server error";
    server_error: "На сервере что-то пошло не так. Попробуйте позже; администратор увидит это в журнале.",
        "Something went wrong on the server. Try again later; the administrator will find it in the log.";
    no_tenants: "У вас пока нет доступа ни к одной компании. Попросите администратора выдать роль.",
        "You have no access to a company yet. Ask an administrator for a role.";
    tenant: "Компания", "Company";
    show: "Показать", "Show";
    last_report: "Последний отчёт", "Latest report";
    no_reports: "Отчётов пока нет.", "No reports yet.";
    run_first_report: "Запустите первый отчёт", "Run the first report";
    job_running: "Идёт построение отчёта", "A report is being built";
    job_stalled: "Отчёт не двигается несколько минут", "The report has not moved for minutes";
    stalled: "завис", "stalled";
    open_log: "журнал шагов", "step log";
    status: "Статус", "Status";
    status_active: "работает", "active";
    status_paused: "приостановлена", "paused";
    status_disabled: "отключена", "disabled";
    integrations: "Интеграции", "Integrations";
    no_integrations: "Интеграции ещё не настроены: начните с amoCRM или Radist.",
        "No integrations yet: start with amoCRM or Radist.";
    open_settings: "Открыть настройки", "Open the settings";
    ask_admin: "Попросите администратора компании их настроить.", "Ask the company's administrator to set them up.";
    integration_ok: "работает", "working";
    integration_error: "ошибка", "failing";
    integration_unchecked: "не проверена", "not checked";
    checked_at: "проверена", "checked";
    deals: "Сделки", "Deals";
    deals_with_dialogs: "Сделки с диалогами", "Deals with dialogs";
    messages: "Сообщения", "Messages";
    trend_title: "Последние отчёты: сделки, сделки с диалогами, сообщения",
        "Recent reports: deals, deals with dialogs, messages";
    run_report: "Построить отчёт", "Run a report";
    window_hint: "Время — по часовому поясу компании,", "Times are in the company's time zone,";
    window_limits_1: "Окно — не длиннее", "The window may be at most";
    window_limits_2: "ч и начинаться не раньше чем", "hours long and start at most";
    window_limits_3: "дн. назад. Пустые поля — последний закрытый рабочий день.",
        "days ago. Leave both empty for the last closed business day.";
    window_start: "Начало окна", "Window start";
    window_end: "Конец окна", "Window end";
    mode: "Режим", "Mode";
    mode_crm_chats: "amoCRM + чаты Radist", "amoCRM + Radist chats";
    mode_chats_only: "только чаты Radist", "Radist chats only";
    mode_crm_only: "только amoCRM", "amoCRM only";
    run: "Запустить", "Run";
    no_right_to_run: "Ваша роль позволяет только читать отчёты.", "Your role lets you read reports only.";
    already_running: "У компании уже строится отчёт: дождитесь его или остановите.",
        "The company already has a report being built: wait for it or stop it.";
    tenant_inactive: "Компания приостановлена или отключена: отчёты не строятся.",
        "The company is paused or disabled: no reports are built.";
    stop: "Остановить", "Stop";
    step_log: "Журнал шагов", "Step log";
    log_empty: "Строк пока нет.", "No lines yet.";
    job_finished_reload: "готово, обновляем страницу…", "done, reloading…";
    recent_jobs: "Последние задачи", "Recent jobs";
    no_jobs: "Задач ещё не было.", "No jobs yet.";
    created: "Создан", "Created";
    kind: "Вид", "Kind";
    step: "Шаг", "Step";
    actions: "Действия", "Actions";
    job_manual: "ручной отчёт", "manual report";
    job_scheduled: "отчёт по расписанию", "scheduled report";
    job_delivery: "доставка", "delivery";
    job_pending: "в очереди", "queued";
    job_running_word: "выполняется", "running";
    job_success: "готово", "done";
    job_failed: "ошибка", "failed";
    job_cancelled: "остановлена", "stopped";
    report_list: "Список отчётов", "Report list";
    any: "любой", "any";
    period_from: "С", "From";
    period_to: "По", "To";
    filter: "Отобрать", "Filter";
    clear_filter: "Сбросить", "Clear";
    no_matching_reports: "Нет отчётов с такими условиями.", "No reports match.";
    no_reports_yet: "Отчётов пока нет: запустите первый формой выше.", "No reports yet: run the first one with the form above.";
    period: "Период", "Period";
    older_reports: "Более ранние отчёты", "Older reports";
    report_draft: "черновик", "draft";
    report_ready: "готов", "ready";
    report_sent: "отправлен", "sent";
    report_failed: "ошибка", "failed";
    report: "Отчёт", "Report";
    window: "Окно", "Window";
    export_csv: "Строки (CSV)", "Rows (CSV)";
    export_text: "Текст (Markdown)", "Text (Markdown)";
    delivery: "Доставка в Telegram", "Delivery to Telegram";
    delivery_none: "Этот отчёт не отправлялся.", "This report was not sent.";
    delivery_sent: "отправлен", "sent";
    delivery_sending: "отправляется", "sending";
    delivery_retrying: "повторная попытка", "retrying";
    delivery_failed: "не доставлен", "failed";
    delivery_unknown: "неизвестно, дошёл ли", "unknown";
    resend: "Отправить ещё раз", "Send again";
    summary: "Цифры", "Figures";
    deals_updated: "Сделок обновлено в CRM", "Deals updated in the CRM";
    inbound: "Сообщений от клиентов", "Messages from clients";
    outbound: "Сообщений от менеджеров", "Messages from managers";
    clients_waiting: "Клиентов ждут ответа", "Clients waiting for an answer";
    first_response_median: "Первый ответ, медиана", "First response, median";
    first_response_p90: "Первый ответ, 90-й перцентиль", "First response, 90th percentile";
    dialogs_without_deal: "Диалогов без сделки", "Dialogs without a deal";
    report_text: "Текст отчёта", "Report text";
    ai_fallback: "ИИ не ответил: текст составлен по правилам из цифр.", "The AI did not answer: this text was written by rules from the figures.";
    ai_truncated: "Данных было больше, чем помещается в запрос к ИИ: часть диалогов не вошла.",
        "There was more data than fits one AI request: some dialogs were left out.";
    charts: "Графики", "Charts";
    chart_stages: "Сделки по этапам", "Deals by stage";
    chart_managers: "Сделки по менеджерам", "Deals by manager";
    chart_hours: "Диалоги по часам окна", "Dialogs over the window's hours";
    chart_responses: "Первый ответ по менеджерам, медиана", "First response by manager, median";
    chart_empty: "Нет данных", "No data";
    analytics: "Разговоры", "Conversations";
    clients_left_waiting: "Клиенты без ответа", "Clients left waiting";
    slowest_responses: "Самые медленные первые ответы", "Slowest first responses";
    client: "Клиент", "Client";
    manager: "Менеджер", "Manager";
    waiting_for: "Ждёт", "Waiting for";
    first_response: "Первый ответ", "First response";
    follow_up: "Вопросы по отчёту", "Questions about the report";
    no_questions: "Вопросов пока не было.", "No questions yet.";
    question: "Вопрос", "Question";
    your_question: "Ваш вопрос", "Your question";
    ask: "Спросить", "Ask";
    saved: "Сохранено.", "Saved.";
    email: "Эл. почта", "E-mail";
    phone: "Телефон", "Phone";
    timezone: "Часовой пояс", "Time zone";
    timezone_hint: "Название IANA, например Europe/Moscow. Пусто — пояс компании.",
        "An IANA name such as Europe/Berlin. Empty: the company's zone.";
    language: "Язык", "Language";
    language_browser: "как в браузере", "as the browser";
    save: "Сохранить", "Save";
    change_password: "Сменить пароль", "Change the password";
    current_password: "Текущий пароль", "Current password";
    new_password: "Новый пароль", "New password";
    repeat_password: "Новый пароль ещё раз", "New password again";
    password_hint: "От 8 символов, не из списка самых частых паролей. Другие ваши сессии завершатся.",
        "At least 8 characters, not one of the most common passwords. Your other sessions will end.";
    api_tokens: "API-токены", "API tokens";
    api_tokens_hint: "Для скриптов: токен действует от вашего имени с вашими ролями.",
        "For scripts: a token acts as you, with your roles.";
    token_once: "Скопируйте токен сейчас — он показывается один раз:", "Copy the token now; it is shown only once:";
    name: "Название", "Name";
    token_prefix: "Начало", "Starts with";
    last_used: "Использован", "Last used";
    expires: "Истекает", "Expires";
    never: "никогда", "never";
    revoked: "отозван", "revoked";
    revoke: "Отозвать", "Revoke";
    expires_in_days: "Срок, дней (пусто — бессрочно)", "Lifetime in days (empty: no expiry)";
    create_token: "Создать токен", "Create a token";
    settings_intro: "Каждая карточка — один коннектор. Сохраните настройки, затем нажмите «Проверить»: проверка ничего не меняет у сервиса.",
        "Each card is one connector. Save its settings, then press Check: a check changes nothing at the service.";
    not_configured: "не настроена", "not set up";
    last_error: "Последняя ошибка", "Last error";
    check: "Проверить", "Check";
    check_ok: "Проверка прошла", "Check passed";
    check_failed: "Проверка не прошла", "Check failed";
    failure_class: "класс ошибки", "failure class";
    hint: "Что сделать", "What to do";
    save_first: "Сначала сохраните настройки этой интеграции.", "Save this integration's settings first.";
    load_models: "Загрузить список моделей у провайдера", "Load the provider's model list";
    models_loaded: "Моделей у провайдера:", "Models offered by the provider:";
    models_failed: "Список моделей не получен", "The model list could not be loaded";
    secret_set: "задан", "set";
    secret_not_set: "не задан", "not set";
    secret_replace: "Новое значение (пусто — оставить как есть)", "New value (empty: keep the current one)";
    secret_enter: "Значение", "Value";
    secret_clear: "Удалить сохранённое значение", "Remove the stored value";
    runtime_config: "Расписание и отчёт", "Schedule and report";
    help_mode: "Откуда берутся данные: сделки amoCRM, чаты Radist или и то и другое (чаты сопоставляются со сделками по телефону).",
        "Where the data comes from: amoCRM deals, Radist chats, or both (chats joined to deals by phone).";
    report_language: "Язык отчётов и бота", "Language of reports and the bot";
    help_language: "На этом языке пишутся отчёт, сообщения в Telegram, ответы на вопросы и оповещения.",
        "Reports, Telegram messages, answers and alerts are written in this language.";
    help_timezone: "Часовой пояс компании (IANA, например Europe/Moscow): по нему считаются рабочий день и расписание.",
        "The company's time zone (IANA, such as Europe/Berlin): the business day and the schedule follow it.";
    business_day_start: "Начало рабочего дня", "Business day starts at";
    help_business_day_start: "Отчёт охватывает сутки от этого времени до того же времени следующего дня.",
        "A report covers the day from this time to the same time the next day.";
    scheduled_run_time: "Время ежедневного отчёта", "Daily report time";
    help_scheduled_run_time: "Когда строится и отправляется отчёт за закрывшийся рабочий день.",
        "When the report for the business day that just closed is built and sent.";
    schedule_enabled: "Строить отчёт каждый день", "Build the report every day";
    help_schedule_enabled: "Выключите, чтобы строить отчёты только вручную.", "Turn off to build reports by hand only.";
    min_dialogs: "Минимум диалогов для отчёта", "Fewest dialogs for a report";
    help_min_dialogs: "Если диалогов меньше, отчёт не строится (день без работы).", "With fewer dialogs no report is built (a day without work).";
    window_hours: "Самое длинное ручное окно, ч", "Longest manual window, hours";
    help_window_hours: "Ограничивает ручные отчёты: от 1 часа до 31 дня.", "Limits manual reports: 1 hour to 31 days.";
    lookback_days: "Насколько назад можно строить, дней", "How far back manual reports may start, days";
    help_lookback_days: "Ручной отчёт не может начинаться раньше.", "A manual report cannot start earlier than this.";
    followup_minutes: "Вопросы в Telegram, минут после отчёта", "Telegram questions, minutes after the report";
    help_followup_minutes: "Сколько минут после отправки бот отвечает на вопросы в чате; 0 — не отвечает.",
        "For how many minutes after sending the bot answers questions in the chat; 0: it does not.";
    working_hours: "Рабочие часы", "Working hours";
    help_working_hours: "Если включены, время первого ответа считается только в рабочие часы компании.",
        "When on, first response times count only the company's working hours.";
    working_hours_on: "Считать только рабочие часы", "Count working hours only";
    hours_start: "Начало", "Start";
    hours_end: "Конец", "End";
    mon: "пн", "Mon";
    tue: "вт", "Tue";
    wed: "ср", "Wed";
    thu: "чт", "Thu";
    fri: "пт", "Fri";
    sat: "сб", "Sat";
    sun: "вс", "Sun";
    prompt: "Инструкции для ИИ", "Instructions for the AI";
    help_prompt: "Пусто — стандартные инструкции на языке отчётов (ниже). Не больше 20 000 символов.",
        "Empty: the standard instructions in the report language (below). At most 20,000 characters.";
    default_prompt: "Стандартные инструкции", "Standard instructions";
    audit_log: "Журнал действий", "Audit log";
    tenants: "Компании", "Companies";
    no_tenants_admin: "Компаний пока нет: создайте первую формой ниже.", "No companies yet: create the first one with the form below.";
    slug: "Короткое имя", "Slug";
    slug_hint: "Латиница в нижнем регистре, цифры и дефис; используется в командах и адресах.",
        "Lowercase letters, digits and hyphens; used in commands and addresses.";
    apply: "Применить", "Apply";
    delete: "Удалить", "Delete";
    new_tenant: "Новая компания", "New company";
    create: "Создать", "Create";
    users: "Пользователи", "Users";
    roles: "Роли", "Roles";
    role: "Роль", "Role";
    superuser: "суперпользователь", "superuser";
    inactive: "отключён", "inactive";
    active_user: "активен", "active";
    deactivate: "Отключить", "Deactivate";
    activate: "Включить", "Activate";
    reset_password: "Задать новый пароль", "Reset the password";
    set_password: "Задать пароль", "Set the password";
    new_user: "Новый пользователь", "New user";
    password_hint_new: "От 8 символов. Пусто — войти по паролю нельзя, пока его не зададут.",
        "At least 8 characters. Empty: no password sign-in until one is set.";
    grant_role: "Выдать роль", "Grant a role";
    grant: "Выдать", "Grant";
    every_tenant: "все компании", "every company";
    roles_hint: "Пользователь читает отчёты и задаёт вопросы; admin_lite ещё настраивает интеграции; super_admin ещё управляет людьми.",
        "A user reads reports and asks questions; admin_lite also sets up integrations; super_admin also manages people.";
    role_super_admin: "super_admin (управляет компанией)", "super_admin (manages the company)";
    role_admin_lite: "admin_lite (настройки)", "admin_lite (settings)";
    role_user: "пользователь (отчёты)", "user (reports)";
    not_allowed: "Ваша роль этого не позволяет.", "Your role does not allow this.";
    delete_tenant: "Удалить компанию", "Delete the company";
    delete_warning: "Будут удалены все интеграции, задачи, отчёты и роли компании. Журнал действий останется. Отменить нельзя.",
        "Every integration, job, report and role of the company is deleted. The audit log stays. This cannot be undone.";
    delete_wrong_slug: "Короткое имя не совпало: ничего не удалено.", "The slug did not match: nothing was deleted.";
    type_slug: "Для подтверждения введите короткое имя", "To confirm, type the slug";
    delete_for_good: "Удалить навсегда", "Delete for good";
    cancel: "Отмена", "Cancel";
    action: "Действие", "Action";
    actor: "Кто", "Who";
    when: "Когда", "When";
    what: "Что", "What";
    no_audit: "Записей нет.", "No entries.";
    older_entries: "Более ранние записи", "Older entries";
    bad_choice: "выберите значение из списка", "choose one of the listed values";
    not_an_id: "это не идентификатор", "is not an id";
    both_ends: "укажите оба конца окна", "give both ends of the window";
    not_whole_number: "должно быть целым числом", "must be a whole number";
    type_or_clear: "введите новое значение или удалите сохранённое, но не то и другое",
        "type a new value or remove the stored one, not both";
    passwords_differ: "не совпадает с новым паролем", "does not match the new password";
    days_range: "целое число дней от 1 до 3650", "a whole number of days, 1-3650";
    seconds: "с", "s";
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Phrases that are the same in both languages on purpose.
    const SAME: &[&str] = &["product"];

    #[test]
    fn every_phrase_is_written_in_both_languages() {
        let (ru, en) = (RU.phrases(), EN.phrases());
        assert_eq!(ru.len(), en.len());
        for ((name, ru), (_, en)) in ru.iter().zip(&en) {
            assert!(!ru.trim().is_empty() && !en.trim().is_empty(), "{name} is empty in one language");
            if !SAME.contains(name) {
                assert_ne!(ru, en, "{name} is not translated");
                assert!(
                    ru.chars().any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c)) || c == 'ё')
                        || ru.contains("amoCRM"),
                    "{name}: the Russian phrase has no Russian letter: {ru:?}"
                );
            }
        }
        assert_eq!((RU.code, EN.code), ("ru", "en"));
    }
}

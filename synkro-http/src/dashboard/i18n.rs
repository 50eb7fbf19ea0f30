//! Every word of the dashboard's interface in each language: one table per language, so a
//! phrase missing in one of them does not compile.

#![allow(missing_docs)]

use synkro_core::domain::Language;

/// The interface's words in one language.
pub struct Ui {
    /// `lang` attribute of the page.
    pub code: &'static str,
    pub product: &'static str,
    pub sign_in: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub sign_in_button: &'static str,
    pub session_ended: &'static str,
    pub bad_credentials: &'static str,
    pub too_many_attempts: &'static str,
    pub form_expired: &'static str,
    pub sign_out: &'static str,
    pub overview: &'static str,
    pub signed_in_as: &'static str,
    pub tenants: &'static str,
    pub no_tenants: &'static str,
    pub last_report: &'static str,
    pub no_reports: &'static str,
    pub job_running: &'static str,
    pub status: &'static str,
    pub status_active: &'static str,
    pub status_paused: &'static str,
    pub status_disabled: &'static str,
}

/// The words of `language`.
pub fn ui(language: Language) -> &'static Ui {
    match language {
        Language::Ru => &RU,
        Language::En => &EN,
    }
}

static RU: Ui = Ui {
    code: "ru",
    product: "Synkro",
    sign_in: "Вход",
    username: "Логин",
    password: "Пароль",
    sign_in_button: "Войти",
    session_ended: "Сессия завершилась. Войдите снова.",
    bad_credentials: "Неверный логин или пароль.",
    too_many_attempts: "Слишком много попыток. Попробуйте снова через несколько минут.",
    form_expired: "Форма устарела. Попробуйте ещё раз.",
    sign_out: "Выйти",
    overview: "Обзор",
    signed_in_as: "Вы вошли как",
    tenants: "Компании",
    no_tenants: "У вас пока нет доступа ни к одной компании. Попросите администратора выдать роль.",
    last_report: "Последний отчёт",
    no_reports: "Отчётов пока нет",
    job_running: "Идёт построение отчёта",
    status: "Статус",
    status_active: "работает",
    status_paused: "приостановлена",
    status_disabled: "отключена",
};

static EN: Ui = Ui {
    code: "en",
    product: "Synkro",
    sign_in: "Sign in",
    username: "Username",
    password: "Password",
    sign_in_button: "Sign in",
    session_ended: "Your session ended. Please sign in again.",
    bad_credentials: "Wrong username or password.",
    too_many_attempts: "Too many attempts. Try again in a few minutes.",
    form_expired: "The form expired. Please try again.",
    sign_out: "Sign out",
    overview: "Overview",
    signed_in_as: "Signed in as",
    tenants: "Companies",
    no_tenants: "You have no access to a company yet. Ask an administrator for a role.",
    last_report: "Latest report",
    no_reports: "No reports yet",
    job_running: "A report is being built",
    status: "Status",
    status_active: "active",
    status_paused: "paused",
    status_disabled: "disabled",
};

//! The web dashboard (issue 14), server-rendered from templates compiled into the binary
//! (askama, auto-escaping every value), with every asset embedded.
//!
//! Page handlers hold no business rules: they read through the store and the access rules, and
//! every change goes through the same functions the JSON API's handlers call (which authorize,
//! throttle, call the service's verb and write the audit entry).
//!
//! Every page is sent with a strict Content-Security-Policy (nothing inline, nothing from
//! elsewhere), `nosniff`, no framing and no caching. Forms carry a CSRF token: the session's for
//! a signed-in user, a short-lived double-submit cookie's for the sign-in form. The language is
//! the profile's, else the browser's (`Accept-Language`), Russian by default; times are shown in
//! the profile's time zone, else the tenant's.

#![allow(clippy::result_large_err, reason = "a page handler's error is the page to send, as big as its success")]

mod admin;
pub(crate) mod assets;
mod i18n;
mod overview;
mod profile;
mod reports;
mod settings;
mod sign_in;

use askama::Template;
use poem::{
    EndpointExt, Request, Response, Route, get,
    http::{StatusCode, header},
    middleware::SetHeader,
    web::Data,
};
use synkro_core::{
    domain::{Language, TenantStatus},
    time::{TimeZoneName, Timestamp},
};

pub use self::i18n::{Ui, ui};
use crate::{
    AppState, access,
    auth::{self, Caller, Credential, SESSION_COOKIE},
    error::ApiError,
    net,
};

/// The policy every page is sent with: scripts, styles and images from this server only, no
/// inline code, no plugins, no framing, forms post here only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The dashboard's routes, to add beside the API's.
pub fn routes(route: Route) -> Route {
    let headers = || {
        SetHeader::new()
            .overriding(header::CONTENT_SECURITY_POLICY, CSP)
            .overriding(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .overriding(header::X_FRAME_OPTIONS, "DENY")
            .overriding(header::REFERRER_POLICY, "same-origin")
    };
    route
        .at("/login", get(sign_in::login_page).post(sign_in::login_submit).with(headers()))
        .at("/logout", poem::post(sign_in::logout).with(headers()))
        .at("/reports", get(reports::reports_page).post(reports::start).with(headers()))
        .at("/jobs/:id/stop", poem::post(reports::stop).with(headers()))
        .at("/reports/:id", get(reports::report_page).with(headers()))
        .at("/reports/:id/questions", poem::post(reports::ask).with(headers()))
        .at("/reports/:id/resend", poem::post(reports::resend).with(headers()))
        .at("/profile", get(profile::profile_page).post(profile::save_profile).with(headers()))
        .at("/profile/password", poem::post(profile::change_password).with(headers()))
        .at("/profile/tokens", poem::post(profile::create_token).with(headers()))
        .at("/profile/tokens/:id/revoke", poem::post(profile::revoke_token).with(headers()))
        .at("/settings", get(settings::settings_page).with(headers()))
        .at("/settings/runtime", poem::post(settings::save_runtime).with(headers()))
        .at("/settings/integrations/:kind", poem::post(settings::save_card).with(headers()))
        .at("/settings/integrations/:kind/check", poem::post(settings::check_card).with(headers()))
        .at("/settings/integrations/:kind/models", poem::post(settings::models_card).with(headers()))
        .at("/admin", get(admin::admin_page).with(headers()))
        .at("/admin/audit", get(admin::audit_page).with(headers()))
        .at("/admin/tenants", poem::post(admin::new_tenant).with(headers()))
        .at("/admin/tenants/:id/status", poem::post(admin::set_tenant_status).with(headers()))
        .at("/admin/tenants/:id/delete", get(admin::confirm_delete).post(admin::delete).with(headers()))
        .at("/admin/users", poem::post(admin::new_user).with(headers()))
        .at("/admin/users/:id", poem::post(admin::change_user).with(headers()))
        .at("/admin/roles", poem::post(admin::grant).with(headers()))
        .at("/admin/roles/:id/revoke", poem::post(admin::revoke).with(headers()))
        .at("/assets/:name", get(assets::asset).with(headers()))
        .at("/*rest", get(root_or_missing).with(headers()))
}

/// The paths [`routes`] serves, for request metrics.
pub const PATHS: [&str; 27] = [
    "/",
    "/login",
    "/logout",
    "/reports",
    "/jobs/{id}/stop",
    "/reports/{id}",
    "/reports/{id}/questions",
    "/reports/{id}/resend",
    "/profile",
    "/profile/password",
    "/profile/tokens",
    "/profile/tokens/{id}/revoke",
    "/settings",
    "/settings/runtime",
    "/settings/integrations/{kind}",
    "/settings/integrations/{kind}/check",
    "/settings/integrations/{kind}/models",
    "/admin",
    "/admin/audit",
    "/admin/tenants",
    "/admin/tenants/{id}/status",
    "/admin/tenants/{id}/delete",
    "/admin/users",
    "/admin/users/{id}",
    "/admin/roles",
    "/admin/roles/{id}/revoke",
    "/assets/{name}",
];

/// The language the browser asks for among the supported ones, else Russian.
fn browser_language(req: &Request) -> Language {
    req.headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Language::from_accept_language)
        .unwrap_or_default()
}

/// The part of the page around its content: the forms' token and, when signed in, the
/// navigation.
pub(crate) struct Frame {
    /// The session's CSRF token for the page's forms (empty when nobody is signed in).
    pub csrf: String,
    pub nav: Option<Nav>,
}

/// The signed-in header: who, where, and which sections they may open.
pub(crate) struct Nav {
    pub username: String,
    /// The current section's name (`overview`, `reports`, `settings`, `admin`, `profile`).
    pub current: &'static str,
    pub settings: bool,
    pub admin: bool,
}

/// The dashboard's sections, for the navigation's current marker.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Overview,
    Reports,
    Settings,
    Admin,
    Profile,
}

impl Section {
    fn name(self) -> &'static str {
        match self {
            Self::Overview => "overview",
            Self::Reports => "reports",
            Self::Settings => "settings",
            Self::Admin => "admin",
            Self::Profile => "profile",
        }
    }
}

impl Frame {
    /// The frame of a page nobody is signed in to.
    pub(crate) fn anonymous() -> Self {
        Self { csrf: String::new(), nav: None }
    }

    /// The stylesheet's address.
    pub(crate) fn css(&self) -> &'static str {
        assets::CSS.path()
    }

    /// htmx's address.
    pub(crate) fn htmx(&self) -> &'static str {
        assets::HTMX.path()
    }

    /// The dashboard script's address.
    pub(crate) fn js(&self) -> &'static str {
        assets::APP_JS.path()
    }
}

/// A signed-in visit: the caller and how pages speak to them.
pub(crate) struct Visit {
    pub caller: Caller,
    pub t: &'static Ui,
    pub language: Language,
    /// The profile's time zone, if set.
    pub timezone: Option<TimeZoneName>,
    csrf: String,
}

impl Visit {
    /// The frame of a page of `section`.
    pub(crate) fn frame(&self, section: Section) -> Frame {
        let nav = Nav {
            username: self.caller.user.username.clone(),
            current: section.name(),
            settings: manages_settings(&self.caller),
            admin: access::manages_users(&self.caller),
        };
        Frame { csrf: self.csrf.clone(), nav: Some(nav) }
    }

    /// `at` in the profile's time zone, else `fallback` (the tenant's), as `2026-12-05 14:03`.
    pub(crate) fn time(&self, at: Timestamp, fallback: &TimeZoneName) -> String {
        self.timezone.as_ref().unwrap_or(fallback).format(at, "%Y-%m-%d %H:%M")
    }

    /// An error page in the visitor's language.
    pub(crate) fn error(&self, e: ApiError) -> Response {
        error_page(self.t, Some(self.frame(Section::Overview)), e)
    }
}

/// May open the settings: a superuser, or an `admin_lite` or higher anywhere.
pub(crate) fn manages_settings(caller: &Caller) -> bool {
    caller.user.is_superuser || caller.roles.iter().any(|r| r.is_active && r.role != synkro_core::domain::Role::User)
}

/// The signed-in visitor, or where to send the browser instead: the sign-in page, saying the
/// session ended when the browser still had one.
pub(crate) async fn visit(state: &AppState, req: &Request) -> Result<Visit, Response> {
    let caller = match auth::session_caller(state, req).await {
        Ok(caller) => caller,
        Err(ApiError::Unauthenticated) => {
            let had = auth::cookie(req, SESSION_COOKIE).is_some_and(|c| !c.is_empty());
            let mut response = see_other(if had { "/login?ended=1" } else { "/login" });
            if had && let Ok(value) = auth::set_cookie("", 0, net::request_is_secure(&state.config, req)).parse() {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            return Err(response);
        }
        Err(e) => return Err(error_page(ui(browser_language(req)), None, e)),
    };
    let Credential::Session(session) = &caller.credential else { return Err(see_other("/login")) };
    let csrf = session.csrf_token.clone();
    let profile = match state.profile(caller.user.id).await {
        Ok(profile) => profile,
        Err(e) => return Err(error_page(ui(browser_language(req)), None, e.into())),
    };
    let (language, timezone) = match profile {
        Some(p) => (p.language.unwrap_or_else(|| browser_language(req)), p.timezone),
        None => (browser_language(req), None),
    };
    Ok(Visit { caller, t: ui(language), language, timezone, csrf })
}

/// The signed-in visitor sending a form, if `csrf` (the form's token) is their session's;
/// otherwise where to send the browser, or the "form expired" page.
pub(crate) async fn form_visit(state: &AppState, req: &Request, csrf: &str) -> Result<Visit, Response> {
    let v = visit(state, req).await?;
    if auth::equal(csrf, &v.csrf) { Ok(v) } else { Err(v.error(ApiError::Csrf)) }
}

/// Why a form's change was refused, in the visitor's words (a field error names the field).
pub(crate) fn refusal(t: &Ui, e: &ApiError) -> String {
    match e {
        ApiError::Invalid(v) => format!("{} {}: {}", t.check_field, v.field, v.message),
        ApiError::Forbidden => t.not_allowed.to_owned(),
        ApiError::ActiveJob(_) => t.already_running.to_owned(),
        ApiError::TenantInactive(_) => t.tenant_inactive.to_owned(),
        ApiError::RateLimited { retry_after, .. } => format!("{} ({retry_after} {})", t.slow_down, t.seconds),
        other => other.to_string(),
    }
}

/// The id in a form field or a query parameter, if one is given (blank: none); anything else
/// is refused naming `field`.
pub(crate) fn id_in(t: &Ui, field: &'static str, text: Option<&str>) -> Result<Option<uuid::Uuid>, ApiError> {
    let given = text.map(str::trim).filter(|s| !s.is_empty());
    given.map(|s| s.parse().map_err(|_| synkro_core::ValidationError::new(field, t.not_an_id).into())).transpose()
}

/// A rendered page with the given status, never cached.
pub(crate) fn page(status: StatusCode, rendered: Result<String, askama::Error>) -> Response {
    match rendered {
        Ok(html) => Response::builder()
            .status(status)
            .content_type("text/html; charset=utf-8")
            .header(header::CACHE_CONTROL, "no-store")
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "a dashboard page could not be rendered");
            poem::Error::from(ApiError::internal("page")).into_response()
        }
    }
}

/// A redirect after a form or to the sign-in page.
pub(crate) fn see_other(to: &str) -> Response {
    Response::builder().status(StatusCode::SEE_OTHER).header(header::LOCATION, to).finish()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: &'static Ui,
    f: Frame,
    title: &'a str,
    message: &'a str,
    detail: Option<String>,
}

/// `e` as a page in the visitor's language, with the API's status. Objects the visitor may not
/// see are "not found", exactly like missing ones; field errors name the field.
pub(crate) fn error_page(t: &'static Ui, frame: Option<Frame>, e: ApiError) -> Response {
    let status = poem::error::ResponseError::status(&e);
    let (title, message, detail) = match &e {
        ApiError::NotFound(_) | ApiError::Forbidden => (t.not_found_title, t.not_found, None),
        ApiError::Csrf => (t.form_expired_title, t.form_expired, None),
        ApiError::Invalid(v) => (t.invalid_title, t.invalid, Some(format!("{}: {}", v.field, v.message))),
        ApiError::BadRequest { message, .. } => (t.invalid_title, t.invalid, Some(message.clone())),
        ApiError::RateLimited { retry_after, .. } | ApiError::Throttled(retry_after) => {
            (t.slow_down_title, t.slow_down, Some(format!("{retry_after} {}", t.seconds)))
        }
        ApiError::Conflict(_) | ApiError::ActiveJob(_) | ApiError::TenantInactive(_) | ApiError::DeliveryBusy(_) => {
            (t.conflict_title, t.conflict, Some(e.to_string()))
        }
        _ if status.is_server_error() => (t.server_error_title, t.server_error, None),
        _ => (t.invalid_title, t.invalid, Some(e.to_string())),
    };
    let f = frame.unwrap_or_else(Frame::anonymous);
    page(status, ErrorPage { t, f, title, message, detail }.render())
}

/// Every address no other route serves. poem's router gives `/` to this catch-all too, so the
/// overview is served from here; anything else is "not found" in the visitor's language (the
/// API's own addresses answer JSON from their own routes).
#[poem::handler]
async fn root_or_missing(state: Data<&AppState>, req: &Request) -> Response {
    if req.uri().path() == "/" {
        return overview::overview_page(&state, req).await;
    }
    match visit(&state, req).await {
        Ok(v) => v.error(ApiError::NotFound("page")),
        Err(_) => error_page(ui(browser_language(req)), None, ApiError::NotFound("page")),
    }
}

/// A tenant's status in the interface's words.
pub(crate) fn status_word(t: &Ui, status: TenantStatus) -> &'static str {
    match status {
        TenantStatus::Active => t.status_active,
        TenantStatus::Paused => t.status_paused,
        TenantStatus::Disabled => t.status_disabled,
    }
}

/// The `csrf` field every dashboard form carries.
#[derive(serde::Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// Whether the request came from htmx (which then wants only the changed part of the page).
pub(crate) fn from_htmx(req: &Request) -> bool {
    req.headers().get("HX-Request").is_some_and(|v| v == "true")
}

/// A response that is a page or, for a form, a redirect; errors as pages.
pub(crate) type PageResult = Result<Response, Response>;

/// Either side of a [`PageResult`].
pub(crate) fn either(result: PageResult) -> Response {
    result.unwrap_or_else(|e| e)
}

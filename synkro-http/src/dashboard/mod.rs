//! The web dashboard (issue 14), server-rendered from templates compiled into the binary
//! (askama, auto-escaping every value), with every asset embedded. First pages: sign in (the
//! API's throttling and TEMP_LOGIN rules, the same sessions), "your session ended", sign out,
//! and the overview of the caller's companies.
//!
//! Every page is sent with a strict Content-Security-Policy (nothing inline, nothing from
//! elsewhere), `nosniff`, no framing and no caching. Forms carry a CSRF token: the session's for
//! a signed-in user, a short-lived double-submit cookie's for the sign-in form. The language is
//! the browser's (`Accept-Language`), Russian by default.

mod i18n;

use std::sync::OnceLock;

use askama::Template;
use poem::{
    EndpointExt, Request, Response, Route, get, handler,
    http::{StatusCode, header},
    middleware::SetHeader,
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use synkro_core::{
    PageRequest,
    domain::{Language, TenantStatus},
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

/// The cookie holding the sign-in form's CSRF token.
const LOGIN_CSRF_COOKIE: &str = "synkro_login_csrf";

/// The stylesheet, embedded.
const CSS: &str = include_str!("../../assets/app.css");

/// The stylesheet's address, with its content hash in the name so it can be cached for good.
fn css_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| format!("/assets/app-{}.css", &hex::encode(Sha256::digest(CSS.as_bytes()))[..12]))
}

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
        .at("/", get(overview).with(headers()))
        .at("/login", get(login_page).post(login_submit).with(headers()))
        .at("/logout", poem::post(logout).with(headers()))
        .at("/assets/:name", get(asset).with(headers()))
}

/// The paths [`routes`] serves, for request metrics.
pub const PATHS: [&str; 4] = ["/", "/login", "/logout", "/assets/{name}"];

/// The language of the request: the browser's preference among the supported ones, else Russian.
fn language(req: &Request) -> Language {
    req.headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Language::from_accept_language)
        .unwrap_or_default()
}

/// A rendered page with the given status, never cached.
fn page(status: StatusCode, rendered: Result<String, askama::Error>) -> Response {
    match rendered {
        Ok(html) => Response::builder()
            .status(status)
            .content_type("text/html; charset=utf-8")
            .header(header::CACHE_CONTROL, "no-store")
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "a dashboard page could not be rendered");
            error(ApiError::internal("page"))
        }
    }
}

/// An error as the API answers it.
fn error(e: ApiError) -> Response {
    poem::Error::from(e).into_response()
}

/// A redirect after a form or to the sign-in page.
fn see_other(to: &str) -> Response {
    Response::builder().status(StatusCode::SEE_OTHER).header(header::LOCATION, to).finish()
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: &'static Ui,
    css: &'static str,
    csrf: &'a str,
    message: Option<&'a str>,
    username: &'a str,
}

#[derive(Deserialize)]
struct LoginQuery {
    ended: Option<String>,
}

/// The sign-in form, with a fresh CSRF token in a cookie and in the form.
fn login_form(state: &AppState, req: &Request, status: StatusCode, message: Option<&str>, username: &str) -> Response {
    let t = ui(language(req));
    let Ok(csrf) = auth::random_token() else { return error(ApiError::internal("token")) };
    let secure = if net::request_is_secure(&state.config, req) { "; Secure" } else { "" };
    let cookie = format!("{LOGIN_CSRF_COOKIE}={csrf}; Path=/login; Max-Age=3600; HttpOnly; SameSite=Strict{secure}");
    let rendered = LoginPage { t, css: css_path(), csrf: &csrf, message, username }.render();
    let mut response = page(status, rendered);
    if let Ok(value) = cookie.parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[handler]
async fn login_page(state: Data<&AppState>, req: &Request, query: Query<LoginQuery>) -> Response {
    let t = ui(language(req));
    let message = query.0.ended.is_some().then_some(t.session_ended);
    login_form(&state, req, StatusCode::OK, message, "")
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

#[handler]
async fn login_submit(state: Data<&AppState>, req: &Request, form: Form<LoginForm>) -> Response {
    let t = ui(language(req));
    let LoginForm { username, password, csrf } = form.0;
    let expected = auth::cookie(req, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !auth::equal(&csrf, &expected) {
        return login_form(&state, req, StatusCode::FORBIDDEN, Some(t.form_expired), "");
    }
    let username = username.trim();
    if username.is_empty() || username.len() > 150 || password.len() > 1024 {
        return login_form(&state, req, StatusCode::UNAUTHORIZED, Some(t.bad_credentials), "");
    }
    match auth::login(&state, req, username, &password).await {
        Ok(done) => {
            let secure = net::request_is_secure(&state.config, req);
            let session = auth::set_cookie(&done.token, state.config.session_ttl.as_secs(), secure);
            let clear = format!("{LOGIN_CSRF_COOKIE}=; Path=/login; Max-Age=0; HttpOnly; SameSite=Strict");
            let mut response = see_other("/");
            for value in [session, clear] {
                if let Ok(value) = value.parse() {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(ApiError::BadCredentials) => {
            login_form(&state, req, StatusCode::UNAUTHORIZED, Some(t.bad_credentials), username)
        }
        Err(ApiError::Throttled(wait)) => {
            let mut response =
                login_form(&state, req, StatusCode::TOO_MANY_REQUESTS, Some(t.too_many_attempts), username);
            if let Ok(value) = wait.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Err(e) => error(e),
    }
}

/// The signed-in caller, or where to send the browser instead: the sign-in page, saying the
/// session ended when the browser still had one.
async fn signed_in(state: &AppState, req: &Request) -> Result<Caller, Response> {
    match auth::session_caller(state, req).await {
        Ok(caller) => Ok(caller),
        Err(ApiError::Unauthenticated) => {
            let had = auth::cookie(req, SESSION_COOKIE).is_some_and(|c| !c.is_empty());
            let mut response = see_other(if had { "/login?ended=1" } else { "/login" });
            if had && let Ok(value) = auth::set_cookie("", 0, net::request_is_secure(&state.config, req)).parse() {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            Err(response)
        }
        Err(e) => Err(error(e)),
    }
}

/// One company on the overview.
struct TenantCard {
    name: String,
    status: &'static str,
    last_report: Option<String>,
    running: bool,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage<'a> {
    t: &'static Ui,
    css: &'static str,
    csrf: &'a str,
    username: &'a str,
    tenants: Vec<TenantCard>,
}

#[handler]
async fn overview(state: Data<&AppState>, req: &Request) -> Response {
    let caller = match signed_in(&state, req).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let t = ui(language(req));
    let cards = async {
        let mut cards = Vec::new();
        let mut tenants = access::visible_tenants(state.store(), &caller, &PageRequest::first(50)?).await?.items;
        tenants.sort_by(|a, b| a.name.cmp(&b.name));
        for tenant in tenants {
            let last = state.store().latest_report(tenant.id).await?;
            let running = state.store().active_report_job(tenant.id).await?.is_some();
            let last_report = last.map(|r| {
                let dates = synkro_pipeline::ai_text::dates_text((r.period_start, r.period_end));
                format!("{dates} ({})", r.status)
            });
            cards.push(TenantCard { name: tenant.name, status: status_word(t, tenant.status), last_report, running });
        }
        Ok::<_, ApiError>(cards)
    };
    let tenants = match cards.await {
        Ok(cards) => cards,
        Err(e) => return error(e),
    };
    let Credential::Session(session) = &caller.credential else { return see_other("/login") };
    let rendered =
        OverviewPage { t, css: css_path(), csrf: &session.csrf_token, username: &caller.user.username, tenants }
            .render();
    page(StatusCode::OK, rendered)
}

/// A tenant's status in the interface's words.
fn status_word(t: &Ui, status: TenantStatus) -> &'static str {
    match status {
        TenantStatus::Active => t.status_active,
        TenantStatus::Paused => t.status_paused,
        TenantStatus::Disabled => t.status_disabled,
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[handler]
async fn logout(state: Data<&AppState>, req: &Request, form: Form<CsrfForm>) -> Response {
    let caller = match signed_in(&state, req).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let Credential::Session(session) = &caller.credential else { return see_other("/login") };
    if !auth::equal(&form.0.csrf, &session.csrf_token) {
        return error(ApiError::Csrf);
    }
    if let Err(e) = auth::logout(&state, req, &caller, session).await {
        return error(e);
    }
    let mut response = see_other("/login");
    if let Ok(value) = auth::set_cookie("", 0, net::request_is_secure(&state.config, req)).parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[handler]
fn asset(name: Path<String>) -> Response {
    if format!("/assets/{}", name.0) != css_path() {
        return error(ApiError::NotFound("asset"));
    }
    Response::builder()
        .content_type("text/css; charset=utf-8")
        .header(header::CACHE_CONTROL, "public, max-age=31536000, immutable")
        .body(CSS)
}

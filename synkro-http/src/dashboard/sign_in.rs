//! Signing in (the API's throttling and TEMP_LOGIN rules, the same sessions), "your session
//! ended", and signing out.

use askama::Template;
use poem::{
    Request, Response, handler,
    http::{StatusCode, header},
    web::{Data, Form, Query},
};
use serde::Deserialize;

use super::{CsrfForm, Frame, Ui, browser_language, either, error_page, form_visit, page, see_other, ui};
use crate::{AppState, auth, auth::Credential, error::ApiError, net};

/// The cookie holding the sign-in form's CSRF token.
const LOGIN_CSRF_COOKIE: &str = "synkro_login_csrf";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: &'static Ui,
    f: Frame,
    csrf: &'a str,
    message: Option<&'a str>,
    username: &'a str,
}

#[derive(Deserialize)]
pub(super) struct LoginQuery {
    ended: Option<String>,
}

/// The sign-in form, with a fresh CSRF token in a cookie and in the form.
fn login_form(state: &AppState, req: &Request, status: StatusCode, message: Option<&str>, username: &str) -> Response {
    let t = ui(browser_language(req));
    let Ok(csrf) = auth::random_token() else { return error_page(t, None, ApiError::internal("token")) };
    let secure = if net::request_is_secure(&state.config, req) { "; Secure" } else { "" };
    let cookie = format!("{LOGIN_CSRF_COOKIE}={csrf}; Path=/login; Max-Age=3600; HttpOnly; SameSite=Strict{secure}");
    let rendered = LoginPage { t, f: Frame::anonymous(), csrf: &csrf, message, username }.render();
    let mut response = page(status, rendered);
    if let Ok(value) = cookie.parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[handler]
pub(super) async fn login_page(state: Data<&AppState>, req: &Request, query: Query<LoginQuery>) -> Response {
    let t = ui(browser_language(req));
    let message = query.0.ended.is_some().then_some(t.session_ended);
    login_form(&state, req, StatusCode::OK, message, "")
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

#[handler]
pub(super) async fn login_submit(state: Data<&AppState>, req: &Request, form: Form<LoginForm>) -> Response {
    let t = ui(browser_language(req));
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
        Err(e) => error_page(t, None, e),
    }
}

#[handler]
pub(super) async fn logout(state: Data<&AppState>, req: &Request, form: Form<CsrfForm>) -> Response {
    either(
        async {
            let v = form_visit(&state, req, &form.0.csrf).await?;
            let Credential::Session(session) = &v.caller.credential else { return Err(see_other("/login")) };
            auth::logout(&state, req, &v.caller, session).await.map_err(|e| v.error(e))?;
            let mut response = see_other("/login");
            if let Ok(value) = auth::set_cookie("", 0, net::request_is_secure(&state.config, req)).parse() {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            Ok(response)
        }
        .await,
    )
}

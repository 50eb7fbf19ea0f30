//! The dashboard's first pages over a real listener: sign in through the form (the API's session,
//! throttling and TEMP_LOGIN rules), the browser's language, a strict Content-Security-Policy on
//! every page, CSRF tokens on every form, escaped names, only the caller's companies, sign out,
//! and "your session ended".

use reqwest::Method;
use synkro_core::domain::TenantUpdate;

use crate::support::{Answer, PASSWORD, World};

synkro_core::on_both_backends!(
    start = crate::support::World::start;
    the_sign_in_page_speaks_the_browsers_language_under_a_strict_policy,
    signing_in_needs_the_forms_token_and_opens_the_apis_session,
    the_overview_escapes_names_and_shows_only_the_callers_companies,
    signing_out_needs_the_token_and_a_dead_session_says_it_ended
);

/// The value of the `name=` cookie a response sets.
fn set_cookie(a: &Answer, name: &str) -> Option<String> {
    a.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The value of the form's hidden `csrf` field.
fn form_token(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

/// Signs `username` in through the form; returns the answer (a redirect on success).
async fn sign_in(w: &World, username: &str, password: &str) -> Answer {
    let page = w.get("/login", None).await;
    let cookie = set_cookie(&page, "synkro_login_csrf").unwrap();
    let form = [("username", username), ("password", password), ("csrf", &form_token(&page.text))];
    let req = w.request(Method::POST, "/login").header("cookie", format!("synkro_login_csrf={cookie}")).form(&form);
    w.send(req).await
}

/// The session cookie of a successful sign-in.
async fn session(w: &World, username: &str) -> String {
    let a = sign_in(w, username, PASSWORD).await;
    assert_eq!(a.status, 303, "{}", a.text);
    format!("synkro_session={}", set_cookie(&a, "synkro_session").unwrap())
}

async fn page(w: &World, path: &str, cookie: &str) -> Answer {
    w.send(w.request(Method::GET, path).header("cookie", cookie)).await
}

async fn the_sign_in_page_speaks_the_browsers_language_under_a_strict_policy(w: &World) {
    let english = w.send(w.request(Method::GET, "/login").header("accept-language", "en-GB,en;q=0.9")).await;
    assert_eq!(english.status, 200);
    assert!(english.text.contains("<html lang=\"en\">") && english.text.contains(">Sign in</button>"));
    assert!(english.text.contains("<label for=\"username\">Username</label>"), "every field has a label");
    assert_eq!(english.header("content-security-policy").as_deref(), Some(synkro_http::dashboard::CSP));
    assert_eq!(english.header("x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(english.header("cache-control").as_deref(), Some("no-store"));
    assert!(!english.text.contains("<script") && !english.text.contains("style="), "nothing inline");
    let russian = w.get("/login", None).await;
    assert!(russian.text.contains("<html lang=\"ru\">") && russian.text.contains(">Войти</button>"));

    let css = english.text.split("href=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let sheet = w.get(&css, None).await;
    assert_eq!((sheet.status, sheet.header("content-type").as_deref()), (200, Some("text/css; charset=utf-8")));
    assert!(sheet.header("cache-control").unwrap().contains("immutable"));
    assert_eq!(w.get("/assets/app-000000000000.css", None).await.status, 404);
}

async fn signing_in_needs_the_forms_token_and_opens_the_apis_session(w: &World) {
    // No token from the form: refused before the password is even looked at.
    let forged = w.request(Method::POST, "/login").form(&[("username", "plain"), ("password", PASSWORD)]);
    let forged = w.send(forged).await;
    assert_eq!(forged.status, 403);
    assert!(set_cookie(&forged, "synkro_session").is_none());

    let wrong = sign_in(w, "<b>plain</b>", "wrong").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.text.contains("Неверный логин или пароль."), "{}", wrong.text);
    assert!(wrong.text.contains("value=\"&#60;b&#62;plain&#60;/b&#62;\""), "the name is kept, escaped: {}", wrong.text);

    let cookie = session(w, "plain").await;
    let me = page(w, "/api/v1/auth/me", &cookie).await;
    assert_eq!((me.status, me.json()["user"]["username"].clone()), (200, serde_json::json!("plain")), "one session");
    let overview = page(w, "/", &cookie).await;
    assert_eq!(overview.status, 200, "{}", overview.text);
    assert!(overview.text.contains("plain"));
}

async fn the_overview_escapes_names_and_shows_only_the_callers_companies(w: &World) {
    let payload = "<script>alert(1)</script> & Co";
    let rename = TenantUpdate { name: Some(payload.into()), ..Default::default() };
    w.store.update_tenant(w.cast.acme.id, &rename).await.unwrap();
    let cookie = session(w, "plain").await;
    let overview = page(w, "/", &cookie).await;
    assert!(overview.text.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; Co"), "{}", overview.text);
    assert!(!overview.text.contains("<script"), "{}", overview.text);
    assert!(!overview.text.contains(&w.cast.other.name), "another company's name never shows");
    let root = page(w, "/", &session(w, "root").await).await;
    assert!(root.text.contains(&w.cast.other.name), "a superuser sees every company");
}

async fn signing_out_needs_the_token_and_a_dead_session_says_it_ended(w: &World) {
    assert_eq!(w.get("/", None).await.header("location").as_deref(), Some("/login"));
    let cookie = session(w, "plain").await;
    let overview = page(w, "/", &cookie).await;
    let forged = w.send(w.request(Method::POST, "/logout").header("cookie", &cookie).form(&[("csrf", "x")])).await;
    assert_eq!(forged.status, 403);
    assert_eq!(page(w, "/", &cookie).await.status, 200, "a forged sign-out changes nothing");

    let token = form_token(&overview.text);
    let out = w.send(w.request(Method::POST, "/logout").header("cookie", &cookie).form(&[("csrf", &token)])).await;
    assert_eq!((out.status, out.header("location").as_deref()), (303, Some("/login")));
    let after = page(w, "/", &cookie).await;
    assert_eq!((after.status, after.header("location").as_deref()), (303, Some("/login?ended=1")));
    let ended = w.send(w.request(Method::GET, "/login?ended=1").header("accept-language", "en")).await;
    assert!(ended.text.contains("Your session ended. Please sign in again."), "{}", ended.text);
}

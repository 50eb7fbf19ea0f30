//! The dashboard's first pages over a real listener: sign in through the form (the API's session,
//! throttling and TEMP_LOGIN rules), the browser's language, a strict Content-Security-Policy on
//! every page, CSRF tokens on every form, escaped names, only the caller's companies, sign out,
//! and "your session ended".

use reqwest::Method;
use synkro_core::domain::TenantUpdate;

use crate::support::{Answer, CANARY, PASSWORD, World};

synkro_core::on_both_backends!(
    start = crate::support::World::start;
    the_sign_in_page_speaks_the_browsers_language_under_a_strict_policy,
    signing_in_needs_the_forms_token_and_opens_the_apis_session,
    the_overview_escapes_names_and_shows_only_the_callers_companies,
    signing_out_needs_the_token_and_a_dead_session_says_it_ended,
    the_reports_page_starts_a_report_within_the_limits_and_shows_its_log,
    the_report_page_shows_its_figures_and_answers_questions_in_place,
    the_profile_sets_the_language_the_password_and_tokens,
    settings_cards_come_from_the_registry_check_and_never_echo_secrets,
    the_runtime_settings_form_explains_and_saves_every_field,
    administration_manages_companies_people_roles_and_shows_the_audit_log,
    people_without_the_role_find_no_settings_or_administration,
    a_failed_delivery_shows_and_only_admins_send_it_again
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

/// `text` as the pages write it (askama's escaping).
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;").replace('<', "&#60;").replace('>', "&#62;").replace('"', "&#34;").replace('\'', "&#39;")
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
    assert!(!english.text.contains("style="), "no inline style");
    let scripts: Vec<&str> = english.text.split("<script").skip(1).collect();
    assert!(scripts.len() == 2 && scripts.iter().all(|s| s.starts_with(" src=\"/assets/")), "no inline script");
    let russian = w.get("/login", None).await;
    assert!(russian.text.contains("<html lang=\"ru\">") && russian.text.contains(">Войти</button>"));

    let css = english.text.split("href=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let sheet = w.get(&css, None).await;
    assert_eq!((sheet.status, sheet.header("content-type").as_deref()), (200, Some("text/css; charset=utf-8")));
    assert!(sheet.header("cache-control").unwrap().contains("immutable"));
    assert_eq!(w.get("/assets/app-000000000000.css", None).await.status, 404);
    let missing = w.send(w.request(Method::GET, "/no/such/page").header("accept-language", "en")).await;
    assert_eq!(missing.status, 404);
    assert!(missing.text.contains("<h1>Not found</h1>"), "a page, in the browser's language: {}", missing.text);
    let api = w.get("/api/v1/no/such/endpoint", None).await;
    assert_eq!((api.status, api.json()["code"].as_str()), (404, Some("not_found")), "the API still answers JSON");
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
    assert!(!overview.text.contains("<script>"), "{}", overview.text);
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

/// POSTs a dashboard form as the session `cookie`, with the page's CSRF token added.
async fn post_form(w: &World, path: &str, cookie: &str, token: &str, fields: &[(&str, &str)]) -> Answer {
    let mut form: Vec<(&str, &str)> = vec![("csrf", token)];
    form.extend_from_slice(fields);
    w.send(w.request(Method::POST, path).header("cookie", cookie).form(&form)).await
}

async fn the_reports_page_starts_a_report_within_the_limits_and_shows_its_log(w: &World) {
    let cookie = session(w, "plain").await;
    let acme = w.cast.acme.id.as_uuid();
    let reports = page(w, "/reports", &cookie).await;
    assert_eq!(reports.status, 200, "{}", reports.text);
    assert!(reports.text.contains("<h2>Acme</h2>"), "the caller's only company is chosen");
    assert!(reports.text.contains(&format!("/reports/{}", w.cast.acme_report.id.as_uuid())), "the report list");
    assert!(!reports.text.contains(&w.cast.other_report.id.as_uuid().to_string()));
    assert!(
        reports.text.contains("name=\"window_start\"") && reports.text.contains("не длиннее 24 ч"),
        "the window's limits"
    );
    assert!(reports.text.contains("fetched 12 dialogs"), "the latest job's step log");
    let token = form_token(&reports.text);

    // A window longer than the tenant allows: the form again, naming the field, nothing started.
    let jobs_before = w.store.list_jobs(Some(w.cast.acme.id), &synkro_core::PageRequest::first(50).unwrap()).await;
    let too_long = [
        ("tenant", acme.to_string()),
        ("window_start", "2026-12-01T00:00".into()),
        ("window_end", "2026-12-09T00:00".into()),
    ];
    let fields: Vec<(&str, &str)> = too_long.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = post_form(w, "/reports", &cookie, &token, &fields).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("Проверьте поле window_"), "{}", refused.text);
    let jobs_after = w.store.list_jobs(Some(w.cast.acme.id), &synkro_core::PageRequest::first(50).unwrap()).await;
    assert_eq!(jobs_before.unwrap().items.len(), jobs_after.unwrap().items.len());

    // Another company: not found, in the browser's language.
    let other = [("tenant", w.cast.other.id.as_uuid().to_string())];
    let fields: Vec<(&str, &str)> = other.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let hidden = post_form(w, "/reports", &cookie, &token, &fields).await;
    assert_eq!(hidden.status, 404);
    assert!(hidden.text.contains("Не найдено"));
    assert_eq!(page(w, &format!("/reports?tenant={}", w.cast.other.id.as_uuid()), &cookie).await.status, 404);
    let garbled = page(w, "/reports?tenant=abc&job=1", &cookie).await;
    assert_eq!(garbled.status, 422, "a malformed id is bad input, named");
    assert!(
        garbled.text.contains("Проверьте поле tenant") || garbled.text.contains("tenant: это не идентификатор"),
        "{}",
        garbled.text
    );

    // A forged form is refused.
    let forged = post_form(w, "/reports", &cookie, "forged", &[("tenant", &acme.to_string())]).await;
    assert_eq!(forged.status, 403);

    // The last closed business day (empty window): started, and the page follows it.
    let started =
        post_form(w, "/reports", &cookie, &token, &[("tenant", &acme.to_string()), ("mode", "crm_only")]).await;
    assert_eq!(started.status, 303, "{}", started.text);
    let to = started.header("location").unwrap();
    assert!(to.starts_with(&format!("/reports?tenant={acme}&job=")), "{to}");
    let job_id: uuid::Uuid = to.rsplit('=').next().unwrap().parse().unwrap();
    let job = w.store.get_job(synkro_core::ids::JobId::from_uuid(job_id)).await.unwrap();
    assert_eq!(job.mode, Some(synkro_core::domain::ReportMode::CrmOnly));
    let followed = page(w, &to, &cookie).await;
    assert!(
        followed.text.contains(&format!("data-stream=\"/api/v1/jobs/{job_id}/stream\"")) || job.status.is_finished()
    );
    assert!(
        followed.text.contains(&format!("/jobs/{job_id}/stop")) || job.status.is_finished(),
        "a manual job can be stopped"
    );
    let audit = w.audit().await;
    assert!(audit.iter().any(|e| e.message == "started a manual report"), "the API's audit entry");
}

async fn the_report_page_shows_its_figures_and_answers_questions_in_place(w: &World) {
    let cookie = session(w, "plain").await;
    let id = w.cast.acme_report.id.as_uuid();
    let report = w
        .send(
            w.request(Method::GET, &format!("/reports/{id}")).header("cookie", &cookie).header("accept-language", "en"),
        )
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    assert!(report.text.contains("Report for acme"), "the text");
    assert!(report.text.contains("<dt>Deals</dt><dd>3</dd>"), "the summary numbers: {}", report.text);
    assert!(report.text.contains(&format!("/api/v1/reports/{id}/rows.csv")) && report.text.contains("text.md"));
    assert!(report.text.contains("<svg class=\"chart"), "charts");
    assert!(!report.text.contains("/resend"), "a user cannot re-send");
    let other = page(w, &format!("/reports/{}", w.cast.other_report.id.as_uuid()), &cookie).await;
    assert_eq!(other.status, 404, "another company's report is not found");

    let token = form_token(&report.text);
    let question = "<img src=x onerror=alert(1)> what went well?";
    let asked = post_form(w, &format!("/reports/{id}/questions"), &cookie, &token, &[("question", question)]).await;
    assert_eq!((asked.status, asked.header("location")), (303, Some(format!("/reports/{id}#conversation"))));
    let again = page(w, &format!("/reports/{id}"), &cookie).await;
    assert!(again.text.contains("&#60;img src=x onerror=alert(1)&#62; what went well?"), "escaped: {}", again.text);
    assert!(!again.text.contains("<img src=x"));

    // With htmx: only the new exchange comes back, to be added in place.
    let req = w
        .request(Method::POST, &format!("/reports/{id}/questions"))
        .header("cookie", &cookie)
        .header("HX-Request", "true");
    let fragment = w.send(req.form(&[("csrf", token.as_str()), ("question", "and the risks?")])).await;
    assert_eq!(fragment.status, 200, "{}", fragment.text);
    assert!(
        fragment.text.trim_start().starts_with("<li class=\"exchange\">") && fragment.text.contains("and the risks?")
    );
    assert!(!fragment.text.contains("<html"));
    let empty = w
        .request(Method::POST, &format!("/reports/{id}/questions"))
        .header("cookie", &cookie)
        .header("HX-Request", "true");
    let empty = w.send(empty.form(&[("csrf", token.as_str()), ("question", "  ")])).await;
    assert_eq!(empty.status, 422);
    assert!(empty.text.contains("question"), "{}", empty.text);
    let stored = w.store.recent_report_messages(w.cast.acme_report.id, 10).await.unwrap();
    assert_eq!(stored.len(), 2, "two questions answered, the empty one refused");
}

async fn the_profile_sets_the_language_the_password_and_tokens(w: &World) {
    let cookie = session(w, "plain").await;
    let profile = page(w, "/profile", &cookie).await;
    assert_eq!(profile.status, 200, "{}", profile.text);
    assert!(profile.text.contains("<html lang=\"ru\">"));
    let token = form_token(&profile.text);

    let bad = post_form(w, "/profile", &cookie, &token, &[("timezone", "Mars/Base"), ("language", "en")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.text.contains("timezone"), "{}", bad.text);
    let bad_email = post_form(w, "/profile", &cookie, &token, &[("email", "not an address")]).await;
    assert_eq!(bad_email.status, 422);
    assert!(bad_email.text.contains("email"), "{}", bad_email.text);
    let fields = [("timezone", "Asia/Almaty"), ("language", "en"), ("phone", ""), ("email", "plain@example.com")];
    let saved = post_form(w, "/profile", &cookie, &token, &fields).await;
    assert_eq!((saved.status, saved.header("location").as_deref()), (303, Some("/profile?saved=1")));
    let english = page(w, "/profile?saved=1", &cookie).await;
    assert!(
        english.text.contains("<html lang=\"en\">") && english.text.contains("Saved."),
        "the profile's language wins over the browser's"
    );
    assert!(english.text.contains("value=\"Asia/Almaty\"") && english.text.contains("value=\"plain@example.com\""));
    let api = page(w, "/api/v1/auth/profile", &cookie).await.json();
    assert_eq!((api["language"].as_str(), api["timezone"].as_str()), (Some("en"), Some("Asia/Almaty")));

    let created =
        post_form(w, "/profile/tokens", &cookie, &token, &[("name", "nightly export"), ("expires_in_days", "30")])
            .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let secret = created.text.split("<code class=\"token\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert!(secret.starts_with("synkro_pat_"));
    let me = w.with_token("GET", "/api/v1/auth/me", &secret, None).await;
    assert_eq!(me.status, 200, "the token works");
    let listed = page(w, "/profile", &cookie).await;
    assert!(listed.text.contains("nightly export") && !listed.text.contains(&secret), "shown once");
    let token_id = listed.text.split("/profile/tokens/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let revoked = post_form(w, &format!("/profile/tokens/{token_id}/revoke"), &cookie, &token, &[]).await;
    assert_eq!(revoked.status, 303);
    assert_eq!(w.with_token("GET", "/api/v1/auth/me", &secret, None).await.status, 401);

    let mismatch =
        [("current_password", PASSWORD), ("new_password", "a much longer one"), ("repeat_password", "another")];
    let refused = post_form(w, "/profile/password", &cookie, &token, &mismatch).await;
    assert_eq!(refused.status, 422);
    assert!(refused.text.contains("repeat_password"));
    let good = [
        ("current_password", PASSWORD),
        ("new_password", "a much longer one"),
        ("repeat_password", "a much longer one"),
    ];
    let changed = post_form(w, "/profile/password", &cookie, &token, &good).await;
    assert_eq!(changed.status, 303, "{}", changed.text);
    assert_eq!(sign_in(w, "plain", "a much longer one").await.status, 303, "the new password works");
}

async fn settings_cards_come_from_the_registry_check_and_never_echo_secrets(w: &World) {
    let cookie = session(w, "lite").await;
    let settings = page(w, "/settings", &cookie).await;
    assert_eq!(settings.status, 200, "{}", settings.text);
    for spec in w.state.service.registry().specs() {
        assert!(settings.text.contains(&format!("id=\"card-{}\"", spec.kind)), "a card for {}", spec.kind);
        for field in spec.public_fields.iter().chain(spec.secret_fields) {
            assert!(settings.text.contains(&escaped(field.description)), "{}.{} is explained", spec.kind, field.name);
        }
    }
    assert!(settings.text.contains("api_key *"), "the AI key field");
    assert!(settings.text.contains("задан"), "a stored secret shows as set");
    assert!(!settings.text.contains(CANARY), "never its value");
    let token = form_token(&settings.text);
    let tenant = w.cast.acme.id.as_uuid().to_string();

    // Typing a new key and clearing it at once is refused, naming the field; nothing changes.
    let both = [
        ("tenant", tenant.as_str()),
        ("public.provider", "openai"),
        ("public.model", "fake-1"),
        ("secret.api_key", "x"),
        ("clear.api_key", "1"),
    ];
    let refused = post_form(w, "/settings/integrations/ai", &cookie, &token, &both).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("api_key"), "{}", refused.text);

    // Saved with the key left empty: the key is kept.
    let keep = [
        ("tenant", tenant.as_str()),
        ("public.provider", "openai"),
        ("public.model", "fake-2"),
        ("public.temperature", "0.5"),
    ];
    let saved = post_form(w, "/settings/integrations/ai", &cookie, &token, &keep).await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    let ai = synkro_core::domain::ConnectorKind::new("ai").unwrap();
    let stored = w.store.get_integration(w.cast.acme.id, &ai).await.unwrap();
    assert_eq!(
        (stored.public_config["model"].as_str(), stored.public_config["temperature"].as_str()),
        (Some("fake-2"), Some("0.5"))
    );
    let checked = post_form(w, "/settings/integrations/ai/check", &cookie, &token, &[("tenant", &tenant)]).await;
    assert_eq!(checked.status, 200, "{}", checked.text);
    assert!(checked.text.contains("Проверка прошла"), "the kept key still works: {}", checked.text);
    let forged = post_form(w, "/settings/integrations/ai/models", &cookie, "forged", &[("tenant", &tenant)]).await;
    assert_eq!(forged.status, 403, "asking the provider needs the form's token");
    let models = post_form(w, "/settings/integrations/ai/models", &cookie, &token, &[("tenant", &tenant)]).await;
    assert!(
        models.text.contains("<option value=\"fake-1\">") && models.text.contains("<option value=\"fake-2\">"),
        "{}",
        models.text
    );

    // A new wrong key: the check fails with its class and hint, the key never shows.
    let wrong = [
        ("tenant", tenant.as_str()),
        ("public.provider", "openai"),
        ("public.model", "fake-2"),
        ("secret.api_key", "sk-wrong-<script>"),
    ];
    assert_eq!(post_form(w, "/settings/integrations/ai", &cookie, &token, &wrong).await.status, 303);
    let failed = post_form(w, "/settings/integrations/ai/check", &cookie, &token, &[("tenant", &tenant)]).await;
    assert!(failed.text.contains("Проверка не прошла") && failed.text.contains("auth"), "{}", failed.text);
    assert!(!failed.text.contains("sk-wrong") && !failed.text.contains(CANARY));
    // A card never saved cannot be checked yet.
    let unsaved = post_form(w, "/settings/integrations/radist/check", &cookie, &token, &[("tenant", &tenant)]).await;
    assert!(unsaved.text.contains("Сначала сохраните"), "{}", unsaved.text);
    let audit = w.audit().await;
    assert!(audit.iter().any(|e| e.message == "changed the ai integration"), "the API's audit entry");
    assert!(audit.iter().all(|e| !e.metadata.to_string().contains("sk-wrong")));
}

async fn the_runtime_settings_form_explains_and_saves_every_field(w: &World) {
    let cookie = session(w, "lite").await;
    let settings =
        w.send(w.request(Method::GET, "/settings").header("cookie", &cookie).header("accept-language", "en")).await;
    assert!(settings.text.contains("A report covers the day from this time"), "fields are explained");
    let token = form_token(&settings.text);
    let tenant = w.cast.acme.id.as_uuid().to_string();
    let mut form = vec![
        ("tenant", tenant.as_str()),
        ("mode", "crm_only"),
        ("language", "en"),
        ("timezone", "Europe/Berlin"),
        ("business_day_start", "06:00"),
        ("scheduled_run_time", "06:30"),
        ("min_dialogs_for_report", "2"),
        ("max_force_window_hours", "48"),
        ("max_force_lookback_days", "7"),
        ("telegram_followup_minutes", "30"),
        ("hours_on", "true"),
        ("hours_start", "09:00"),
        ("hours_end", "18:00"),
        ("day", "mon"),
        ("day", "fri"),
        ("prompt", ""),
    ];
    let zone_listed = || async {
        let listed = page(w, "/api/v1/tenants", &cookie).await.json();
        listed["items"][0]["timezone"].as_str().unwrap().to_owned()
    };
    assert_eq!(zone_listed().await, "UTC", "read once, so the tenant is remembered");
    let saved = post_form(w, "/settings/runtime", &cookie, &token, &form).await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    assert_eq!(zone_listed().await, "Europe/Berlin", "a new time zone is not served from memory");
    let to = saved.header("location").unwrap();
    assert!(page(w, &to, &cookie).await.text.contains("Сохранено."), "the page says it was saved");
    let c = w.state.service.runtime_config(w.cast.acme.id).await.unwrap();
    assert_eq!((c.mode.as_str(), c.timezone.as_str(), c.max_force_window_hours), ("crm_only", "Europe/Berlin", 48));
    assert!(!c.is_schedule_enabled, "an unticked box turns the schedule off");
    assert_eq!(c.working_hours.unwrap().days.names(), ["mon", "fri"]);
    assert_eq!(c.prompt, None, "an empty prompt is the default one");
    form[3] = ("timezone", "Mars/Olympus");
    let refused = post_form(w, "/settings/runtime", &cookie, &token, &form).await;
    assert_eq!(refused.status, 422);
    assert!(refused.text.contains("timezone"), "{}", refused.text);
    assert_eq!(w.state.service.runtime_config(w.cast.acme.id).await.unwrap().timezone.as_str(), "Europe/Berlin");
}

async fn administration_manages_companies_people_roles_and_shows_the_audit_log(w: &World) {
    let cookie = session(w, "root").await;
    let admin = page(w, "/admin", &cookie).await;
    assert_eq!(admin.status, 200, "{}", admin.text);
    let token = form_token(&admin.text);
    let created = post_form(
        w,
        "/admin/tenants",
        &cookie,
        &token,
        &[("name", "Beta <b>"), ("slug", "beta"), ("timezone", "Asia/Almaty")],
    )
    .await;
    assert_eq!(created.status, 303, "{}", created.text);
    let beta = w.store.get_tenant_by_slug(&synkro_core::domain::Slug::new("beta").unwrap()).await.unwrap();
    let bad = post_form(w, "/admin/tenants", &cookie, &token, &[("name", "X"), ("slug", "Not A Slug")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.text.contains("slug"));
    let paused =
        post_form(w, &format!("/admin/tenants/{}/status", beta.id.as_uuid()), &cookie, &token, &[("status", "paused")])
            .await;
    assert_eq!(paused.status, 303);
    assert_eq!(w.store.get_tenant(beta.id).await.unwrap().status, synkro_core::domain::TenantStatus::Paused);

    let made =
        post_form(w, "/admin/users", &cookie, &token, &[("username", "newbie"), ("password", "a long password 1")])
            .await;
    assert_eq!(made.status, 303, "{}", made.text);
    let newbie = w.store.get_user_by_username("newbie").await.unwrap();
    let grant =
        [("user", newbie.id.as_uuid().to_string()), ("tenant", beta.id.as_uuid().to_string()), ("role", "user".into())];
    let grant: Vec<(&str, &str)> = grant.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(post_form(w, "/admin/roles", &cookie, &token, &grant).await.status, 303);
    let no_user = post_form(w, "/admin/roles", &cookie, &token, &[("user", "someone"), ("role", "user")]).await;
    assert_eq!(no_user.status, 422);
    assert!(no_user.text.contains("user: это не идентификатор"), "{}", no_user.text);
    let listed = page(w, "/admin", &cookie).await;
    assert!(listed.text.contains("Beta &#60;b&#62;") && listed.text.contains("newbie"), "{}", listed.text);
    let off =
        post_form(w, &format!("/admin/users/{}", newbie.id.as_uuid()), &cookie, &token, &[("action", "deactivate")])
            .await;
    assert_eq!(off.status, 303);
    assert!(!w.store.get_user(newbie.id).await.unwrap().is_active);

    let audit = page(w, "/admin/audit?action=tenant.create", &cookie).await;
    assert!(audit.text.contains("created tenant beta"), "{}", audit.text);
    let root = w.store.get_user_by_username("root").await.unwrap();
    let by_root = page(w, &format!("/admin/audit?actor={}", root.id.as_uuid()), &cookie).await;
    assert!(
        by_root.text.contains("created user newbie") && by_root.text.contains("deactivated")
            || by_root.text.contains("changed user newbie")
    );
    let bad_filter = page(w, "/admin/audit?from=yesterday", &cookie).await;
    assert_eq!(bad_filter.status, 422);

    let confirm = page(w, &format!("/admin/tenants/{}/delete", beta.id.as_uuid()), &cookie).await;
    assert!(confirm.text.contains("<code>beta</code>"));
    let wrong =
        post_form(w, &format!("/admin/tenants/{}/delete", beta.id.as_uuid()), &cookie, &token, &[("confirm", "acme")])
            .await;
    assert_eq!(wrong.status, 422);
    assert!(w.store.get_tenant(beta.id).await.is_ok(), "nothing deleted");
    let gone =
        post_form(w, &format!("/admin/tenants/{}/delete", beta.id.as_uuid()), &cookie, &token, &[("confirm", "beta")])
            .await;
    assert_eq!(gone.status, 303);
    assert!(w.store.get_tenant(beta.id).await.is_err());

    // A company's super_admin administers its people only: no company forms, no other company.
    let tadmin = session(w, "tadmin").await;
    let theirs = page(w, "/admin", &tadmin).await;
    assert_eq!(theirs.status, 200);
    assert!(!theirs.text.contains("action=\"/admin/tenants\"") && !theirs.text.contains(&w.cast.other.name));
    assert!(theirs.text.contains("plain") && !theirs.text.contains("stranger"));
    assert_eq!(page(w, &format!("/admin/tenants/{}/delete", w.cast.acme.id.as_uuid()), &tadmin).await.status, 404);
}

async fn people_without_the_role_find_no_settings_or_administration(w: &World) {
    let plain = session(w, "plain").await;
    let overview = page(w, "/", &plain).await;
    assert!(!overview.text.contains("href=\"/settings\"") && !overview.text.contains("href=\"/admin\""));
    for path in ["/settings", "/admin", "/admin/audit", &format!("/settings?tenant={}", w.cast.acme.id.as_uuid())] {
        let answer = page(w, path, &plain).await;
        assert_eq!(answer.status, 404, "{path}");
        assert!(answer.text.contains("Не найдено"), "{path}");
    }
    let token = form_token(&overview.text);
    let tenant = w.cast.acme.id.as_uuid().to_string();
    let forced =
        post_form(w, "/settings/integrations/ai", &plain, &token, &[("tenant", &tenant), ("secret.api_key", "mine")])
            .await;
    assert_eq!(forced.status, 404);
    let lite = session(w, "lite").await;
    assert!(page(w, "/", &lite).await.text.contains("href=\"/settings\""), "admins see the settings");
    let other = page(w, &format!("/settings?tenant={}", w.cast.other.id.as_uuid()), &lite).await;
    assert_eq!(other.status, 404, "another company's settings do not exist for them");
    assert_eq!(page(w, "/admin", &lite).await.status, 404, "admin_lite does not manage people");
}

async fn a_failed_delivery_shows_and_only_admins_send_it_again(w: &World) {
    let report = &w.cast.acme_report;
    let now = synkro_core::time::Timestamp::now();
    w.store.begin_delivery(report.id, report.job_id, "telegram", now, false).await.unwrap();
    let failed = synkro_core::store::DeliveryState::Failed;
    w.store.finish_delivery(report.id, failed, 0, Some("telegram: chat not found"), now).await.unwrap();
    let path = format!("/reports/{}", report.id.as_uuid());

    let plain = session(w, "plain").await;
    let seen = page(w, &path, &plain).await;
    assert!(seen.text.contains("не доставлен") && seen.text.contains("telegram: chat not found"), "{}", seen.text);
    assert!(!seen.text.contains("/resend"), "a user cannot send it again");
    let forced = post_form(w, &format!("{path}/resend"), &plain, &form_token(&seen.text), &[]).await;
    assert_eq!(forced.status, 403, "refused for a user");

    let lite = session(w, "lite").await;
    let admin_view = page(w, &path, &lite).await;
    assert!(admin_view.text.contains(&format!("action=\"{path}/resend\"")), "{}", admin_view.text);
    let sent = post_form(w, &format!("{path}/resend"), &lite, &form_token(&admin_view.text), &[]).await;
    assert_eq!((sent.status, sent.header("location")), (303, Some(path.clone())));
    assert!(w.audit().await.iter().any(|a| a.action == "report.resend"), "the API's audit entry");
}

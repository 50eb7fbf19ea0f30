//! The dashboard in a real browser: Debian's Chromium, headless, driven through chromedriver's
//! WebDriver protocol (plain JSON over HTTP, with the test's own client). The whole path a
//! tenant's admin takes: sign in, set up every integration against the sandbox and check it,
//! set the runtime config, run a report and watch its live log finish, open it, see the charts,
//! ask a follow-up and see the answer in place; then the same pages in Russian; a `user` finds
//! no settings or administration; another tenant's admin sees none of the first tenant's
//! objects; a canary secret never reaches a page and an HTML/script payload never runs.
//!
//! Needs `chromium` and `chromium-driver` (`.ci/run` installs them); with
//! SYNKRO_TEST_REQUIRE_SERVICES=1 a missing driver fails instead of skipping. With
//! `SYNKRO_SCREENSHOTS=docs/screenshots` it saves the main pages (both languages, desktop and
//! phone width) there.

use std::{
    io::Write,
    process::{Child, Command, Stdio},
    time::Duration,
};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::{CANARY, PASSWORD, World};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The WebDriver key code of Enter.
const ENTER: &str = "\u{E007}";
/// A payload that would run if any page wrote it unescaped.
const PAYLOAD: &str = "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=1\">";

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start() -> Option<Self> {
        if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists() {
            assert!(
                std::env::var("SYNKRO_TEST_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "SYNKRO_TEST_REQUIRE_SERVICES=1 but {CHROMEDRIVER} or {CHROMIUM} is missing: \
                 apt-get install -y chromium chromium-driver"
            );
            let _ = writeln!(std::io::stderr(), "skipped: browser (install chromium and chromium-driver)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let driver = Driver { child, url: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() };
        for _ in 0..100 {
            if let Ok(r) = driver.http.get(format!("{}/status", driver.url)).send().await
                && r.json::<Value>().await.is_ok_and(|v| v["value"]["ready"] == json!(true))
            {
                return Some(driver);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start");
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.url));
        if method != reqwest::Method::GET && method != reqwest::Method::DELETE {
            req = req.json(&body);
        }
        let answer: Value = req.send().await.unwrap().json().await.unwrap();
        assert!(answer["value"].get("error").is_none(), "{path}: {answer}");
        answer["value"].clone()
    }
}

/// A headless browser session.
struct Browser<'a> {
    driver: &'a Driver,
    id: String,
    base: String,
    /// Every page source seen, for the canary check.
    seen: std::sync::Mutex<Vec<String>>,
}

impl<'a> Browser<'a> {
    async fn open(driver: &'a Driver, base: &str, language: &str) -> Self {
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     format!("--lang={language}"), "--window-size=1280,900"],
            "prefs": {"intl.accept_languages": language}}}}});
        let session = driver.call(reqwest::Method::POST, "/session", caps).await;
        let id = session["sessionId"].as_str().unwrap().to_owned();
        Browser { driver, id, base: base.to_owned(), seen: Default::default() }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        self.driver.call(method, &format!("/session/{}{path}", self.id), body).await
    }

    async fn go(&self, path: &str) {
        self.cmd(reqwest::Method::POST, "/url", json!({"url": format!("{}{path}", self.base)})).await;
    }

    async fn elements(&self, css: &str) -> Vec<String> {
        let found = self.cmd(reqwest::Method::POST, "/elements", json!({"using": "css selector", "value": css})).await;
        found
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    async fn element(&self, css: &str) -> String {
        self.elements(css).await.into_iter().next().unwrap_or_else(|| panic!("no {css} on {}", self.base))
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.element(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{el}/clear"), json!({})).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{el}/value"), json!({"text": text})).await;
    }

    async fn click(&self, css: &str) {
        let el = self.element(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{el}/click"), json!({})).await;
    }

    async fn script(&self, script: &str) -> Value {
        self.cmd(reqwest::Method::POST, "/execute/sync", json!({"script": script, "args": []})).await
    }

    async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", Value::Null).await.as_str().unwrap().to_owned()
    }

    async fn source(&self) -> String {
        let source = self.cmd(reqwest::Method::GET, "/source", Value::Null).await.as_str().unwrap().to_owned();
        self.seen.lock().unwrap().push(source.clone());
        source
    }

    /// Waits (up to `secs`, a hang guard, not a timing assertion) until the page source
    /// contains `text`.
    async fn waits_for(&self, text: &str, secs: u64) -> String {
        let mut last = String::new();
        for _ in 0..secs * 5 {
            last = self.source().await;
            if last.contains(text) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("{text:?} never showed; the page was:\n{last}");
    }

    /// Waits until the page's address ends with `suffix`.
    async fn lands_on(&self, suffix: &str) -> bool {
        for _ in 0..100 {
            if self.url().await.ends_with(suffix) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    async fn sign_in(&self, username: &str) {
        self.go("/login").await;
        self.type_into("#username", username).await;
        // The keyboard alone: Enter in the password field sends the form.
        self.type_into("#password", &format!("{PASSWORD}{ENTER}")).await;
        assert!(self.lands_on(&format!("{}/", self.base)).await, "{username} signed in: {}", self.url().await);
    }

    async fn sign_out(&self) {
        self.click("header form button[type=submit]").await;
        assert!(self.lands_on("/login").await, "signed out: {}", self.url().await);
    }

    async fn resize(&self, width: u32, height: u32) {
        self.cmd(reqwest::Method::POST, "/window/rect", json!({"width": width, "height": height})).await;
    }

    /// The elements that stick out of the window's width (the whole page would scroll sideways),
    /// as `tag.class` names; none when the page fits.
    async fn too_wide(&self) -> Value {
        self.script(
            "if (document.documentElement.scrollWidth <= window.innerWidth + 1) return []; \
             return Array.from(document.querySelectorAll('body *')) \
               .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.scroll')) \
               .map(e => e.tagName + '.' + e.className).slice(0, 10);",
        )
        .await
    }

    /// Saves a screenshot as `<dir>/<name>.png` when `SYNKRO_SCREENSHOTS` names a directory.
    async fn screenshot(&self, name: &str) {
        let Ok(dir) = std::env::var("SYNKRO_SCREENSHOTS") else { return };
        self.script("window.scrollTo(0, 0)").await;
        let png = self.cmd(reqwest::Method::GET, "/screenshot", Value::Null).await;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), bytes).unwrap();
    }

    /// Screenshots of the current page at desktop and phone width; checks it fits a phone.
    async fn shoot(&self, name: &str) {
        self.screenshot(&format!("{name}-desktop")).await;
        self.resize(375, 812).await;
        // The page is laid out again after the resize: give it a moment (a hang guard).
        let mut wide = self.too_wide().await;
        for _ in 0..20 {
            if wide == json!([]) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            wide = self.too_wide().await;
        }
        assert_eq!(wide, json!([]), "{name} is usable 375 px wide");
        self.screenshot(&format!("{name}-phone")).await;
        self.resize(1280, 900).await;
    }

    fn sources(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    async fn close(self) {
        self.cmd(reqwest::Method::DELETE, "", Value::Null).await;
    }
}

/// Fills and saves one connector card, then checks it and expects the check to pass.
async fn set_up(b: &Browser<'_>, kind: &str, public: &[(&str, &str)], secrets: &[(&str, &str)]) {
    b.go("/settings").await;
    for (name, value) in public {
        b.type_into(&format!("#{kind}-{name}"), value).await;
    }
    for (name, value) in secrets {
        b.type_into(&format!("#{kind}-secret-{name}"), value).await;
    }
    b.click(&format!("#card-{kind} form[action='/settings/integrations/{kind}'] button[type=submit]")).await;
    b.waits_for("Saved.", 10).await;
    b.click(&format!("#card-{kind} form[action='/settings/integrations/{kind}/check'] button")).await;
    // The check's outcome names its time in milliseconds.
    let page = b.waits_for(" ms)", 30).await;
    assert!(page.contains("Check passed"), "{kind} check: {page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_admin_sets_up_runs_and_reads_a_report_in_a_real_browser() {
    let Some(driver) = Driver::start().await else { return };
    let w = World::start("sqlite", "browser").await.unwrap();
    w.workers.start().await;
    let c = w.sandbox.credentials().clone();
    let b = Browser::open(&driver, &w.base, "en-US").await;

    // Signed out: the sign-in page, in the browser's language.
    b.go("/").await;
    assert!(b.url().await.ends_with("/login"), "signed-out visitors are sent to sign in");
    assert!(b.source().await.contains(">Sign in</button>"));
    b.shoot("login-en").await;

    // The tenant's admin sets up every integration against the sandbox and checks each.
    b.sign_in("tadmin").await;
    let overview = b.source().await;
    assert!(overview.contains(&w.cast.acme.name) && !overview.contains(&w.cast.other.name));
    let domain = c.amocrm_subdomain.clone();
    set_up(&b, "amocrm", &[("domain", &domain)], &[("long_lived_token", &c.amocrm_token_for(&domain))]).await;
    let company = c.radist_company_id.to_string();
    set_up(&b, "radist", &[("company_id", &company)], &[("api_key", &c.radist_api_key)]).await;
    set_up(&b, "supabase", &[("url", "https://sandbox.supabase.co")], &[("service_key", &c.supabase_secret_key)]).await;
    let chat = c.telegram_chat_id.to_string();
    set_up(&b, "telegram", &[("chat_id", &chat)], &[("bot_token", &c.telegram_bot_token)]).await;
    // The AI key is the canary: kept when the field is left empty, never shown.
    set_up(&b, "ai", &[("model", "fake-1")], &[]).await;
    b.click("#card-ai form[action$='/models'] button").await;
    b.waits_for("<option value=\"fake-2\">", 10).await;
    b.shoot("settings-en").await;

    // The runtime config: English reports, every day's schedule on.
    b.go("/settings").await;
    b.click("#language option[value=en]").await;
    b.type_into("#min_dialogs_for_report", "1").await;
    b.click("#runtime button[type=submit]").await;
    b.waits_for("Saved.", 10).await;
    assert_eq!(w.state.service.runtime_config(w.cast.acme.id).await.unwrap().language.as_str(), "en");

    // A manual report over the sandbox's day, its step log followed live to the end.
    b.go("/reports").await;
    let zone = synkro_core::time::TimeZoneName::utc();
    let from = zone.format(w.sandbox.config().window_start, "%Y-%m-%dT%H:%M");
    let to = zone.format(w.sandbox.config().window_end(), "%Y-%m-%dT%H:%M");
    b.script(&format!(
        "document.getElementById('window_start').value = '{from}'; document.getElementById('window_end').value = '{to}';"
    ))
    .await;
    b.click("form[method=post][action='/reports'] button[type=submit]").await;
    b.waits_for("data-job-status", 10).await;
    assert!(b.url().await.contains("&job="), "the job's page: {}", b.url().await);
    let done = b.waits_for("state-success", 90).await;
    assert!(done.contains("class=\"level-info\""), "the step log: {done}");
    b.shoot("reports-en").await;

    // The report: text, figures, charts, exports; a follow-up answered in place.
    b.click("table a[href^='/reports/']").await;
    let report = b.waits_for("Questions about the report", 10).await;
    assert!(report.contains("<svg class=\"chart") && report.contains("Deals by stage"), "charts");
    assert!(report.contains("rows.csv") && report.contains("Delivery to Telegram"));
    b.script("window.__stayed = true").await;
    b.type_into("#question", &format!("{PAYLOAD} Which deals need attention?")).await;
    b.click("form.ask button[type=submit]").await;
    let answered = b.waits_for("Which deals need attention?</p>", 30).await;
    assert!(answered.contains("class=\"answer\""), "{answered}");
    assert_eq!(b.script("return window.__stayed === true").await, json!(true), "answered in place, no new page");
    assert_eq!(b.script("return window.__xss === undefined").await, json!(true), "the payload did not run");
    b.shoot("report-en").await;
    b.go("/").await;
    b.shoot("overview-en").await;

    // The same pages in Russian, chosen in the profile.
    b.go("/profile").await;
    b.click("#language option[value=ru]").await;
    b.click("form[action='/profile'] button[type=submit]").await;
    b.waits_for("Сохранено.", 10).await;
    b.go("/").await;
    assert!(b.waits_for("Обзор", 5).await.contains("<html lang=\"ru\">"));
    b.shoot("overview-ru").await;
    b.go("/reports").await;
    b.waits_for("Список отчётов", 5).await;
    b.shoot("reports-ru").await;
    b.click("table a[href^='/reports/']").await;
    b.waits_for("Вопросы по отчёту", 10).await;
    b.shoot("report-ru").await;
    b.go("/settings").await;
    b.waits_for("Расписание и отчёт", 5).await;
    b.shoot("settings-ru").await;
    b.go("/profile").await;
    b.waits_for("API-токены", 5).await;
    // A payload as a token name: shown as text.
    b.type_into("#token_name", PAYLOAD).await;
    b.click("form[action='/profile/tokens'] button[type=submit]").await;
    b.waits_for("показывается один раз", 10).await;
    assert_eq!(b.script("return window.__xss === undefined").await, json!(true), "the payload did not run");
    b.shoot("profile-ru").await;
    b.sign_out().await;
    b.shoot("login-ru").await;

    // A `user` of the same tenant (English, the browser's language): reports only.
    b.sign_in("plain").await;
    let page = b.source().await;
    assert!(!page.contains("href=\"/settings\"") && !page.contains("href=\"/admin\""));
    for path in ["/settings", "/admin", "/admin/audit"] {
        b.go(path).await;
        assert!(b.source().await.contains("Not found"), "{path} does not exist for a user");
    }
    let first = synkro_core::PageRequest::first(1).unwrap();
    let listed = w.store.list_report_items(w.cast.acme.id, &Default::default(), &first).await.unwrap();
    let report_id = listed.items[0].id.as_uuid();
    b.go(&format!("/reports/{report_id}")).await;
    assert!(b.source().await.contains("Which deals need attention?"), "a user reads the tenant's reports");
    b.sign_out().await;

    // Another tenant's admin sees none of it: not its company, report, settings or people.
    let mut other_admin = synkro_core::domain::NewUser::new("otheradmin").unwrap();
    other_admin.password_hash = Some(synkro_http::auth::password::hash(PASSWORD).unwrap());
    let other_admin = w.store.create_user(&other_admin).await.unwrap();
    let role = synkro_core::domain::Role::SuperAdmin;
    let grant = synkro_core::domain::NewUserRole { user_id: other_admin.id, tenant_id: Some(w.cast.other.id), role };
    w.store.grant_role(&grant).await.unwrap();
    b.sign_in("otheradmin").await;
    let theirs = b.source().await;
    assert!(theirs.contains(&w.cast.other.name) && !theirs.contains(&w.cast.acme.name));
    for path in [format!("/reports/{report_id}"), format!("/reports?tenant={}", w.cast.acme.id.as_uuid())] {
        b.go(&path).await;
        assert!(b.source().await.contains("Not found"), "{path}");
    }
    b.go(&format!("/settings?tenant={}", w.cast.acme.id.as_uuid())).await;
    assert!(b.source().await.contains("Not found"));
    b.go("/settings").await;
    let settings = b.source().await;
    assert!(settings.contains(&w.cast.other.name) && !settings.contains(&w.cast.acme.name), "only its own settings");
    b.go("/admin").await;
    let admin = b.source().await;
    assert!(!admin.contains("tadmin") && !admin.contains(">plain<"), "none of the other company's people");
    b.go("/admin/audit").await;
    assert!(!b.source().await.contains("the amocrm integration"), "nor its audit log");
    b.sign_out().await;

    // No payload ran on any page, and no page ever held a secret.
    assert_eq!(b.script("return window.__xss === undefined").await, json!(true), "the payload never ran");
    let secrets = [CANARY, &c.radist_api_key, &c.supabase_secret_key, &c.telegram_bot_token];
    for source in b.sources() {
        for secret in secrets {
            assert!(!source.contains(secret), "a page showed a secret");
        }
        assert!(!source.contains("<script>window.__xss"), "the payload reached a page unescaped");
    }
    b.close().await;
    w.finish().await;
}

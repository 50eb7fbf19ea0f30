//! The dashboard in a real browser: Debian's Chromium, headless, driven through chromedriver's
//! WebDriver protocol (plain JSON over HTTP, with the test's own client). Signs in through the
//! form and lands on the overview — the Content-Security-Policy, the cookies and the redirects as
//! a browser applies them. Needs `chromium` and `chromium-driver` (`.ci/run` installs them); with
//! SYNKRO_TEST_REQUIRE_SERVICES=1 a missing driver fails instead of skipping.

use std::{
    io::Write,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

use crate::support::{PASSWORD, World};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

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
}

impl<'a> Browser<'a> {
    async fn open(driver: &'a Driver, language: &str) -> Self {
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     format!("--lang={language}"), "--window-size=1280,900"],
            "prefs": {"intl.accept_languages": language}}}}});
        let session = driver.call(reqwest::Method::POST, "/session", caps).await;
        Browser { driver, id: session["sessionId"].as_str().unwrap().to_owned() }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        self.driver.call(method, &format!("/session/{}{path}", self.id), body).await
    }

    async fn go(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", json!({"url": url})).await;
    }

    async fn element(&self, css: &str) -> String {
        let found = self.cmd(reqwest::Method::POST, "/element", json!({"using": "css selector", "value": css})).await;
        found.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).unwrap().to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.element(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{el}/value"), json!({"text": text})).await;
    }

    async fn click(&self, css: &str) {
        let el = self.element(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{el}/click"), json!({})).await;
    }

    async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", Value::Null).await.as_str().unwrap().to_owned()
    }

    async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", Value::Null).await.as_str().unwrap().to_owned()
    }

    /// Waits (up to 10 s, a hang guard) until the page's address ends with `suffix`.
    async fn lands_on(&self, suffix: &str) -> bool {
        for _ in 0..100 {
            if self.url().await.ends_with(suffix) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    async fn close(self) {
        self.cmd(reqwest::Method::DELETE, "", Value::Null).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_signs_in_through_the_form_and_sees_its_companies() {
    let Some(driver) = Driver::start().await else { return };
    let w = World::start("sqlite", "browser").await.unwrap();
    let browser = Browser::open(&driver, "en-US").await;

    browser.go(&format!("{}/", w.base)).await;
    assert!(browser.url().await.ends_with("/login"), "signed-out visitors are sent to sign in");
    assert!(browser.source().await.contains(">Sign in</button>"), "the browser's language");
    browser.type_into("#username", "plain").await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;

    let overview = format!("{}/", w.base);
    assert!(browser.lands_on(&overview).await, "signed in, the overview: {}", browser.url().await);
    let page = browser.source().await;
    assert!(page.contains(&w.cast.acme.name) && !page.contains(&w.cast.other.name), "{page}");

    browser.click("header form button[type=submit]").await;
    assert!(browser.lands_on("/login").await, "signed out: {}", browser.url().await);
    browser.close().await;
    w.finish().await;
}

//! A running server on port 0 over a fresh SQLite file (or PostgreSQL schema), a fake AI
//! service, and a cast of users with every role; every response body is kept so tests can
//! prove what never appears in one.

#![allow(dead_code, clippy::unwrap_used)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use poem::{Route, handler, post, web::Json};
use serde_json::{Value, json};
use synkro_connectors as _; // links the bundled connectors
use synkro_core::{
    Keyring, Store,
    connector::HttpSettings,
    domain::{
        ConnectorKind, JobRun, NewIntegrationConfig, NewJobEvent, NewReport, NewTenant, NewUser, NewUserRole, Report,
        ReportStatus, ReportType, Role, Tenant, Window,
    },
    secrets::SecretMap,
    time::Timestamp,
};
use synkro_http::{AppState, HttpConfig, auth::password};
use synkro_pipeline::{ReportRequest, Service, WorkerConfig, Workers};
use tokio::sync::oneshot;

/// The AI key stored in the tenant's integration; no response may ever contain it.
pub const CANARY: &str = "canary-sk-5f1e9a77c0d24b";
/// Every seeded user's password.
pub const PASSWORD: &str = "correct horse battery";

#[handler]
fn fake_completion(req: &poem::Request) -> Json<Value> {
    let auth = req.header("authorization").unwrap_or_default();
    let text = if auth.contains(CANARY) { "Sales were steady." } else { "unexpected key" };
    Json(json!({"model": "fake", "choices": [{"finish_reason": "stop", "message": {"content": text}}]}))
}

#[handler]
fn fake_models(req: &poem::Request) -> poem::Response {
    use poem::IntoResponse;
    let auth = req.header("authorization").unwrap_or_default();
    if auth.contains(CANARY) {
        Json(json!({"object": "list", "data": [{"id": "fake-2"}, {"id": "fake-1"}]})).into_response()
    } else {
        let body = json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}});
        Json(body).with_status(poem::http::StatusCode::UNAUTHORIZED).into_response()
    }
}

/// Every log line of this test binary (all tests share it), for proving what never appears.
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every log line at debug level and above (the sandbox's own excepted: it is the
/// fake service, not Synkro) for the whole test binary.
fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::new("debug,synkro_sandbox=off");
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(|| LogWriter).with_ansi(false).try_init();
    });
}

/// Everything logged so far by this test binary.
pub fn logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

/// The cast: one user per role, and the objects they may or may not see.
pub struct Cast {
    pub acme: Tenant,
    pub other: Tenant,
    pub acme_report: Report,
    pub other_report: Report,
    pub acme_job: JobRun,
    pub other_job: JobRun,
}

/// A server with its database, a sandbox of the outside services and the cast.
pub struct World {
    pub base: String,
    pub store: Store,
    pub state: AppState,
    /// Two workers over the state's service, started by the tests that run reports.
    pub workers: Workers,
    pub cast: Cast,
    pub sandbox: synkro_sandbox::Sandbox,
    http: reqwest::Client,
    bodies: Arc<Mutex<Vec<String>>>,
    stop: Vec<oneshot::Sender<()>>,
    backend: synkro_core::testing::TestStore,
}

/// A response: status, headers and body text.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned())
    }
}

/// A signed-in user's cookie and CSRF token.
#[derive(Clone, Debug)]
pub struct Login {
    pub cookie: String,
    pub csrf: String,
}

async fn serve_on_port_0(app: impl poem::Endpoint + 'static) -> (String, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).unwrap();
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(
        app,
        async move {
            let _ = rx.await;
        },
        Some(Duration::from_secs(1)),
    ));
    (base, tx)
}

impl World {
    pub async fn start(kind: &str, test: &str) -> Option<Self> {
        Self::start_with(kind, test, HttpConfig::default()).await
    }

    pub async fn start_with(kind: &str, test: &str, config: HttpConfig) -> Option<Self> {
        capture_logs();
        let backend = synkro_core::testing::store(kind, test).await?;
        let store = backend.store.clone();
        let fake_ai = Route::new().at("/chat/completions", post(fake_completion)).at("/models", poem::get(fake_models));
        let (ai_base, ai_stop) = serve_on_port_0(fake_ai).await;
        let keyring = Keyring::generate();
        let registry = synkro_core::connector::Registry::from_linked().unwrap();
        // Telegram paces one message per chat per 1.1 s; the sandbox accepts them faster.
        // The sandbox's data is yesterday (UTC), inside the window a manual report may ask for.
        let yesterday = (Timestamp::now().unix_seconds() / 86_400 - 1) * 86_400;
        let sandbox = synkro_sandbox::Sandbox::start(synkro_sandbox::SandboxConfig {
            telegram_chat_interval: Duration::ZERO,
            window_start: Timestamp::from_unix_seconds(yesterday).unwrap(),
            ..Default::default()
        })
        .await;
        let mut builder = Service::builder(store.clone(), registry, keyring.clone())
            .http(HttpSettings { max_attempts: 1, ..Default::default() })
            .outbound(synkro_core::connector::OutboundPolicy::loopback());
        for (kind, url) in sandbox.endpoints() {
            builder = builder.endpoint(kind, url);
        }
        let service = builder.endpoint("ai", ai_base).build().await.unwrap();
        let cast = seed(&store, &keyring, &service).await;
        let workers = Workers::new(&service, WorkerConfig { workers: 2, ..Default::default() });
        let state = AppState::new(service, config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(synkro_http::serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let bodies = Arc::default();
        Some(Self { base, store, state, workers, cast, sandbox, http, bodies, stop: vec![tx, ai_stop], backend })
    }

    pub async fn finish(self) {
        self.workers.shutdown().await;
        for tx in self.stop {
            let _ = tx.send(());
        }
        self.sandbox.shutdown().await;
        self.backend.finish().await;
    }

    /// Every response body so far.
    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }

    /// Sends a request; `login` adds the cookie and (for non-GET) the CSRF token.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        login: Option<&Login>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(login) = login {
            req = req.header("cookie", &login.cookie);
            if method != reqwest::Method::GET {
                req = req.header("x-csrf-token", &login.csrf);
            }
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let response = req.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        self.bodies.lock().unwrap().push(text.clone());
        Answer { status, headers, text }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    pub async fn get(&self, path: &str, login: Option<&Login>) -> Answer {
        self.call("GET", path, login, None, &[]).await
    }

    /// Sends a request with a bearer token (no cookie, no CSRF token).
    pub async fn with_token(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.request(method, path).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        self.send(req).await
    }

    /// The audit entries so far, newest first.
    pub async fn audit(&self) -> Vec<synkro_core::domain::AuditLog> {
        let page = synkro_core::PageRequest::first(200).unwrap();
        self.store.list_audit(&Default::default(), &page).await.unwrap().items
    }

    /// A new tenant on which tadmin, lite and plain hold the roles they hold on acme (granted
    /// through the API, as an administrator would, so the server knows at once).
    pub async fn tenant_like_acme(&self, slug: &str) -> Tenant {
        let tenant = self.store.create_tenant(&NewTenant::new(slug, slug, "UTC").unwrap()).await.unwrap();
        let root = self.login("root").await;
        for (name, role) in [("tadmin", "super_admin"), ("lite", "admin_lite"), ("plain", "user")] {
            let user = self.store.get_user_by_username(name).await.unwrap();
            let grant = json!({"user_id": user.id.as_uuid(), "tenant_id": tenant.id.as_uuid(), "role": role});
            let a = self.call("POST", "/api/v1/roles", Some(&root), Some(grant), &[]).await;
            assert_eq!(a.status, 201, "{}", a.text);
        }
        tenant
    }

    /// A new user holding `role` on acme.
    pub async fn acme_user(&self, name: &str, role: Role) -> synkro_core::domain::User {
        let new = NewUser::new(name).unwrap();
        let user = self.store.create_user(&new).await.unwrap();
        let grant = NewUserRole { user_id: user.id, tenant_id: Some(self.cast.acme.id), role };
        self.store.grant_role(&grant).await.unwrap();
        user
    }

    /// Signs in; panics unless it works.
    pub async fn login(&self, username: &str) -> Login {
        let a = self.try_login(username, PASSWORD, &[]).await;
        assert_eq!(a.status, 200, "login {username}: {}", a.text);
        let cookie = a.header("set-cookie").unwrap();
        let cookie = cookie.split(';').next().unwrap().to_owned();
        Login { cookie, csrf: a.json()["csrf_token"].as_str().unwrap().to_owned() }
    }

    pub async fn try_login(&self, username: &str, password: &str, headers: &[(&str, &str)]) -> Answer {
        let body = json!({"username": username, "password": password});
        self.call("POST", "/api/v1/auth/login", None, Some(body), headers).await
    }
}

async fn user(store: &Store, name: &str, superuser: bool, role: Option<(Option<&Tenant>, Role)>) {
    let mut new = NewUser::new(name).unwrap();
    new.is_superuser = superuser;
    new.password_hash = Some(password::hash(PASSWORD).unwrap());
    let user = store.create_user(&new).await.unwrap();
    if let Some((tenant, role)) = role {
        let grant = NewUserRole { user_id: user.id, tenant_id: tenant.map(|t| t.id), role };
        store.grant_role(&grant).await.unwrap();
    }
}

async fn report_for(store: &Store, tenant: &Tenant, job: &JobRun) -> Report {
    let start = Timestamp::from_unix_seconds(1_760_000_000).unwrap();
    let end = Timestamp::from_unix_seconds(1_760_086_400).unwrap();
    let day = start.as_offset().date();
    let report = NewReport {
        tenant_id: tenant.id,
        job_id: Some(job.id),
        period_start: day,
        period_end: day,
        window: Window::new(start, end).unwrap(),
        report_type: ReportType::ALL[0],
        status: ReportStatus::ALL[0],
        summary_text: format!("Report for {}", tenant.slug),
        summary: synkro_core::domain::Summary {
            total_deals: 3,
            deals_with_dialogs: 2,
            total_messages: 12,
            ..Default::default()
        },
        ai: synkro_core::domain::AiOutcome { model: Some("gpt-4o-mini".into()), ..Default::default() },
        analytics: Default::default(),
        metadata: json!({"details": {"big": "blob"}}),
        data_ref: None,
        followup_deadline_at: None,
    };
    store.create_report(&report).await.unwrap()
}

/// Two tenants, each with a job (with one event) and a report; acme has an AI integration
/// whose key is [`CANARY`]; users: root (superuser), gadmin (global super_admin), tadmin
/// (acme super_admin), lite (acme admin_lite), plain (acme user), stranger (user on other),
/// nobody (no role).
async fn seed(store: &Store, keyring: &Keyring, service: &Service) -> Cast {
    let acme = store.create_tenant(&NewTenant::new("Acme", "acme", "UTC").unwrap()).await.unwrap();
    let other = store.create_tenant(&NewTenant::new("Other", "other", "UTC").unwrap()).await.unwrap();
    let secrets: SecretMap = [("api_key".to_owned(), CANARY.into())].into_iter().collect();
    let ai = NewIntegrationConfig::new(
        acme.id,
        ConnectorKind::new("ai").unwrap(),
        json!({"provider": "openai", "model": "fake-1", "base_url": "http://127.0.0.1:9"}),
        Some(keyring.encrypt(&secrets)),
    )
    .unwrap();
    store.create_integration(&ai).await.unwrap();
    user(store, "root", true, None).await;
    user(store, "gadmin", false, Some((None, Role::SuperAdmin))).await;
    user(store, "tadmin", false, Some((Some(&acme), Role::SuperAdmin))).await;
    user(store, "lite", false, Some((Some(&acme), Role::AdminLite))).await;
    user(store, "plain", false, Some((Some(&acme), Role::User))).await;
    user(store, "stranger", false, Some((Some(&other), Role::User))).await;
    user(store, "nobody", false, None).await;
    let mut jobs = Vec::new();
    for tenant in [&acme, &other] {
        let start = Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() - 7200).unwrap();
        let end = Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() - 3600).unwrap();
        let job = service.enqueue_report(ReportRequest::manual(tenant.id).window(start, end)).await.unwrap();
        let job = service.stop(job.id).await.unwrap();
        store.append_job_event(&NewJobEvent::info(job.id, "fetch", "fetched 12 dialogs")).await.unwrap();
        jobs.push(job);
    }
    let acme_report = report_for(store, &acme, &jobs[0]).await;
    let other_report = report_for(store, &other, &jobs[1]).await;
    let other_job = jobs.pop().unwrap();
    let acme_job = jobs.pop().unwrap();
    Cast { acme, other, acme_report, other_report, acme_job, other_job }
}

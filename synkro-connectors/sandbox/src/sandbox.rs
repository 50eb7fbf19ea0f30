//! [`Sandbox`]: starts the fake servers and lets tests steer and inspect them.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::credentials::Credentials;
use crate::data::SandboxData;
use crate::fault::{Fault, FaultTable};
use crate::http::now_unix;
use crate::record::{RecordedRequest, RequestLog};
use crate::server::{Shared, lock, spawn};
use crate::telegram::SentMessage;
use crate::{SandboxConfig, Service, amocrm, supabase, telegram};

/// In-process fake amoCRM, Radist, Supabase, OpenAI, Gemini and Telegram servers on 127.0.0.1.
///
/// Every server listens on its own ephemeral port and stops when the sandbox is dropped or
/// [`shut down`](Sandbox::shutdown).
///
/// ```no_run
/// # async fn demo() {
/// use synkro_sandbox::{Sandbox, SandboxConfig, Service};
/// let sandbox = Sandbox::start(SandboxConfig::default()).await;
/// let leads_url = format!("{}/api/v4/leads", sandbox.url(Service::Amocrm));
/// let token = &sandbox.credentials().amocrm_long_lived_token;
/// # let _ = (leads_url, token);
/// # }
/// ```
pub struct Sandbox {
    shared: Arc<Shared>,
    origins: Vec<(Service, String)>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Sandbox {
    /// Generates the data and starts every server.
    ///
    /// # Panics
    /// When a listening socket cannot be bound on 127.0.0.1; use [`Sandbox::try_start`] to get the error.
    pub async fn start(config: SandboxConfig) -> Sandbox {
        match Self::try_start(config).await {
            Ok(sandbox) => sandbox,
            Err(error) => panic!("synkro-sandbox: cannot start the fake servers: {error}"),
        }
    }

    /// Like [`Sandbox::start`] but returns a bind error instead of panicking.
    pub async fn try_start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        let data = SandboxData::generate(&config);
        let credentials = Credentials::generate(config.seed, now_unix());
        let shared = Arc::new(Shared {
            amocrm: Mutex::new(amocrm::AmoState::new(&credentials, config.seed)),
            supabase: Mutex::new(supabase::Store::new()),
            telegram: Mutex::new(telegram::TgState::new(credentials.telegram_chat_id)),
            faults: Mutex::new(FaultTable::default()),
            log: Mutex::new(RequestLog::default()),
            config,
            data,
            credentials,
        });
        let (stop, stop_rx) = watch::channel(false);
        let mut origins = Vec::new();
        let mut tasks = Vec::new();
        for service in Service::ALL {
            let (origin, task) = spawn(service, Arc::clone(&shared), stop_rx.clone()).await?;
            origins.push((service, origin));
            tasks.push(task);
        }
        Ok(Sandbox { shared, origins, stop, tasks })
    }

    /// The configuration the sandbox was started with.
    pub fn config(&self) -> &SandboxConfig {
        &self.shared.config
    }

    /// Base URL of `service`, without a trailing slash: the origin for amoCRM (API under `/api/v4`),
    /// the amoCRM OAuth server, Supabase (REST under `/rest/v1`) and Telegram (`/bot<token>/<method>`);
    /// including `/v2` for Radist, `/v1` for OpenAI and `/v1beta` for Gemini.
    pub fn url(&self, service: Service) -> String {
        let origin = self.origins.iter().find(|(s, _)| *s == service).map_or("", |(_, o)| o.as_str());
        format!("{origin}{}", service.url_suffix())
    }

    /// The generated data, for assertions.
    pub fn data(&self) -> &SandboxData {
        &self.shared.data
    }

    /// The credentials the servers accept.
    pub fn credentials(&self) -> &Credentials {
        &self.shared.credentials
    }

    /// Gives the next `times` requests to `service` whose path (plus `?query`, decoded) contains
    /// `path_contains` the `fault`; `""` matches every request. Faults apply in injection order.
    pub fn inject(&self, service: Service, path_contains: &str, fault: Fault, times: u32) {
        lock(&self.shared.faults).add(service, path_contains, fault, times);
    }

    /// Drops every pending fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Requests `service` received, in arrival order, each with its final status.
    pub fn requests(&self, service: Service) -> Vec<RecordedRequest> {
        lock(&self.shared.log).requests(service)
    }

    /// Number of requests `service` received.
    pub fn request_count(&self, service: Service) -> u64 {
        lock(&self.shared.log).count(service)
    }

    /// Number of 429 answers `service` gave (injected or enforced).
    pub fn rate_limited_count(&self, service: Service) -> u64 {
        lock(&self.shared.log).rate_limited(service)
    }

    /// HTTP methods (`GET`, `POST`, ...) `service` received.
    pub fn methods_seen(&self, service: Service) -> BTreeSet<String> {
        lock(&self.shared.log).methods(service)
    }

    /// Forgets recorded requests and zeroes the request, 429 and method counters of every service.
    /// Server state (tokens, rows, sent messages, rate-limit windows) is kept.
    pub fn reset_counters(&self) {
        lock(&self.shared.log).reset();
    }

    /// Every amoCRM OAuth access token issued so far answers 401 from now on; tokens issued by a
    /// later refresh work. The long-lived token is unaffected.
    pub fn expire_amocrm_access_tokens(&self) {
        lock(&self.shared.amocrm).expire_access_tokens();
    }

    /// When `forbid` is true, `GET /api/v4/users` answers 403 (a non-admin token).
    pub fn forbid_amocrm_users(&self, forbid: bool) {
        lock(&self.shared.amocrm).users_forbidden = forbid;
    }

    /// Every `sendMessage` the Telegram server accepted, in order.
    pub fn telegram_sent(&self) -> Vec<SentMessage> {
        lock(&self.shared.telegram).sent.clone()
    }

    /// Queues a Telegram update: a text message in `chat_id` from `from_username`. Returns its
    /// `update_id`. Mentions of `@synkro_sandbox_bot` get `mention` entities.
    pub fn telegram_push_update(&self, chat_id: i64, from_username: &str, is_bot: bool, text: &str) -> i64 {
        lock(&self.shared.telegram).push_update(chat_id, from_username, is_bot, text)
    }

    /// Adds the bot to chat `chat_id` (the sandbox's configured chat is one already; a chat
    /// someone writes in with [`Sandbox::telegram_push_update`] becomes one too).
    pub fn telegram_add_chat(&self, chat_id: i64) {
        lock(&self.shared.telegram).add_chat(chat_id);
    }

    /// Upgrades group `old` to supergroup `new`: from now on `sendMessage`/`getChat` on `old` answer
    /// 400 with `parameters.migrate_to_chat_id = new`, and `new` works. Like Telegram, it queues
    /// two service-message updates: `migrate_to_chat_id` in `old`, `migrate_from_chat_id` in `new`.
    pub fn telegram_migrate_chat(&self, old: i64, new: i64) {
        lock(&self.shared.telegram).migrate(old, new);
    }

    /// Rows of a Supabase table in insertion order (empty when the table does not exist).
    pub fn supabase_rows(&self, table: &str) -> Vec<Value> {
        lock(&self.shared.supabase).rows(table)
    }

    /// Stops every server and waits (up to about a second each) for them to finish.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("origins", &self.origins).finish_non_exhaustive()
    }
}

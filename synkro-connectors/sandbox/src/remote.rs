//! A sandbox in another process, for benchmarks that measure the memory of the process under
//! test (the sandbox's generated data and request log must not count) and for running Synkro's
//! own processes (`synkro worker`) against the fake services.
//!
//! The server side is [`serve_stdio`]: it prints an [`Announcement`] (URLs, endpoint overrides
//! and credentials) as one JSON line on stdout, answers `stats` lines on stdin with a [`Stats`]
//! JSON line, and stops when stdin closes, so it never outlives the process that started it.
//! The `synkro-sandbox` binary of this crate runs it with a [`SandboxConfig::from_env`]
//! configuration; a program that links this crate can run it itself (the pipeline benchmark
//! starts its own executable in that role, because Cargo builds no other package's binaries
//! for a benchmark).
//!
//! The client side is [`RemoteSandbox`]: it starts such a process, reads the announcement,
//! provisions tenants against it ([`provision_tenant`](crate::provision_tenant)) and reads its
//! counters.

use std::{
    collections::BTreeMap,
    io::{self, BufRead, BufReader, Write},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    sync::Mutex,
    time::Duration,
};

use serde::{Deserialize, Serialize};
use synkro_core::{Keyring, Store, StoreError, domain::Tenant, time::Timestamp};

use crate::{Credentials, Sandbox, SandboxConfig, Service, TenantSetup};

/// What a sandbox server prints first: everything a client needs to use it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Announcement {
    /// Base URL of each service by [`Service::name`], as [`Sandbox::url`] gives it.
    pub urls: BTreeMap<String, String>,
    /// Connector kind → base URL, as [`Sandbox::endpoints`] gives them (also the format of
    /// `SYNKRO_CONNECTOR_ENDPOINTS`).
    pub endpoints: BTreeMap<String, String>,
    /// The credentials the servers accept.
    pub credentials: Credentials,
    /// Start of the data window.
    pub window_start: Timestamp,
    /// End of the data window (exclusive).
    pub window_end: Timestamp,
    /// amoCRM leads generated.
    pub deals: usize,
    /// amoCRM leads updated inside the window.
    pub leads_in_window: usize,
    /// Radist chats generated.
    pub chats: usize,
    /// WhatsApp/WABA chats with at least one message inside the window.
    pub chats_in_window: usize,
    /// The server's process id.
    pub pid: u32,
}

/// A server's counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests received, by [`Service::name`].
    pub requests: BTreeMap<String, u64>,
    /// 429 answers given, by [`Service::name`].
    pub rate_limited: BTreeMap<String, u64>,
    /// Telegram messages accepted.
    pub telegram_sent: u64,
    /// Telegram messages accepted, by chat id.
    pub telegram_sent_by_chat: BTreeMap<i64, u64>,
}

impl Stats {
    /// Requests `service` received.
    pub fn requests(&self, service: Service) -> u64 {
        self.requests.get(service.name()).copied().unwrap_or(0)
    }

    /// 429 answers `service` gave.
    pub fn rate_limited(&self, service: Service) -> u64 {
        self.rate_limited.get(service.name()).copied().unwrap_or(0)
    }
}

impl Sandbox {
    /// What [`serve_stdio`] announces for this sandbox.
    pub fn announcement(&self) -> Announcement {
        let config = self.config();
        let data = self.data();
        let (start, end) = (config.window_start, config.window_end());
        Announcement {
            urls: Service::ALL.iter().map(|s| (s.name().to_owned(), self.url(*s))).collect(),
            endpoints: self.endpoints().into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            credentials: self.credentials().clone(),
            window_start: start,
            window_end: end,
            deals: data.leads.len(),
            leads_in_window: data.leads_updated_in(start, end).len(),
            chats: data.chats.len(),
            chats_in_window: data
                .chats
                .iter()
                .filter(|c| c.is_messaging() && !data.messages_in(c.id, start, end).is_empty())
                .count(),
            pid: std::process::id(),
        }
    }

    /// The counters of every service now.
    pub fn stats(&self) -> Stats {
        let mut by_chat = BTreeMap::new();
        let sent = self.telegram_sent();
        for message in &sent {
            *by_chat.entry(message.chat_id).or_insert(0) += 1;
        }
        Stats {
            requests: Service::ALL.iter().map(|s| (s.name().to_owned(), self.request_count(*s))).collect(),
            rate_limited: Service::ALL.iter().map(|s| (s.name().to_owned(), self.rate_limited_count(*s))).collect(),
            telegram_sent: sent.len() as u64,
            telegram_sent_by_chat: by_chat,
        }
    }
}

/// Environment variables [`SandboxConfig::from_env`] reads.
pub const ENV_VARS: [&str; 7] = [
    "SANDBOX_SEED",
    "SANDBOX_DEALS",
    "SANDBOX_UNRELATED_CHATS",
    "SANDBOX_WINDOW_START",
    "SANDBOX_AMOCRM_RATE_LIMIT",
    "SANDBOX_TELEGRAM_CHAT_INTERVAL_MS",
    "SANDBOX_LATENCY_MS",
];

impl SandboxConfig {
    /// The defaults, overridden by `SANDBOX_SEED`, `SANDBOX_DEALS`, `SANDBOX_UNRELATED_CHATS`,
    /// `SANDBOX_WINDOW_START` (Unix seconds), `SANDBOX_AMOCRM_RATE_LIMIT` (per second per
    /// account, 0 = unlimited), `SANDBOX_TELEGRAM_CHAT_INTERVAL_MS` and `SANDBOX_LATENCY_MS`.
    pub fn from_env() -> Result<Self, String> {
        fn var<T: std::str::FromStr>(name: &str) -> Result<Option<T>, String> {
            match std::env::var(name) {
                Err(_) => Ok(None),
                Ok(raw) => raw.trim().parse().map(Some).map_err(|_| format!("{name}={raw:?} is not a valid number")),
            }
        }
        let mut config = SandboxConfig::default();
        if let Some(seed) = var("SANDBOX_SEED")? {
            config.seed = seed;
        }
        if let Some(deals) = var("SANDBOX_DEALS")? {
            config.deals = deals;
        }
        if let Some(chats) = var("SANDBOX_UNRELATED_CHATS")? {
            config.unrelated_chats = chats;
        }
        if let Some(start) = var::<i64>("SANDBOX_WINDOW_START")? {
            config.window_start = Timestamp::from_unix_seconds(start)
                .ok_or_else(|| format!("SANDBOX_WINDOW_START={start} is out of range"))?;
        }
        if let Some(limit) = var("SANDBOX_AMOCRM_RATE_LIMIT")? {
            config.amocrm_rate_limit = limit;
        }
        if let Some(ms) = var("SANDBOX_TELEGRAM_CHAT_INTERVAL_MS")? {
            config.telegram_chat_interval = Duration::from_millis(ms);
        }
        if let Some(ms) = var("SANDBOX_LATENCY_MS")? {
            config.latency = Duration::from_millis(ms);
        }
        Ok(config)
    }

    /// The environment that makes [`SandboxConfig::from_env`] give this configuration (the
    /// window start in whole seconds).
    pub fn to_env(&self) -> Vec<(&'static str, String)> {
        let values = [
            self.seed.to_string(),
            self.deals.to_string(),
            self.unrelated_chats.to_string(),
            self.window_start.unix_seconds().to_string(),
            self.amocrm_rate_limit.to_string(),
            self.telegram_chat_interval.as_millis().to_string(),
            self.latency.as_millis().to_string(),
        ];
        ENV_VARS.into_iter().zip(values).collect()
    }
}

/// Serves `sandbox` to the process at the other end of stdin/stdout: prints its
/// [`Announcement`] as one JSON line, then answers every `stats` line on stdin with a [`Stats`]
/// JSON line and every `reset` line (zeroing the request counters) with `{}`. Returns when stdin
/// closes, after shutting the servers down.
pub async fn serve_stdio(sandbox: Sandbox) -> io::Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut out = io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(&sandbox.announcement()).map_err(io::Error::other)?)?;
    out.flush()?;
    drop(out);
    while let Some(line) = rx.recv().await {
        let answer = match line.trim() {
            "stats" => serde_json::to_string(&sandbox.stats()).map_err(io::Error::other)?,
            "reset" => {
                sandbox.reset_counters();
                "{}".to_owned()
            }
            other => serde_json::json!({"error": format!("unknown command {other:?}; use stats or reset")}).to_string(),
        };
        let mut out = io::stdout().lock();
        writeln!(out, "{answer}")?;
        out.flush()?;
    }
    sandbox.shutdown().await;
    Ok(())
}

/// Starts a sandbox from [`SandboxConfig::from_env`] and [`serve_stdio`]s it; for a program's
/// `main` (on a Tokio runtime).
pub async fn serve_stdio_from_env() -> io::Result<()> {
    let config = SandboxConfig::from_env().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    serve_stdio(Sandbox::try_start(config).await?).await
}

/// A sandbox server in a child process (see the [module](self) documentation). Killed when
/// dropped.
pub struct RemoteSandbox {
    child: Child,
    io: Mutex<(ChildStdin, BufReader<ChildStdout>)>,
    announcement: Announcement,
}

impl RemoteSandbox {
    /// Runs `command` (a program that calls [`serve_stdio`]) with `config` in its environment
    /// and reads its announcement. Its stderr is inherited.
    pub fn spawn(mut command: Command, config: &SandboxConfig) -> io::Result<Self> {
        command.envs(config.to_env()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = command.spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(io::Error::other("the sandbox process has no stdin/stdout pipes"));
        };
        let mut stdout = BufReader::new(stdout);
        let announcement = match read_json::<Announcement>(&mut stdout) {
            Ok(a) => a,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        Ok(Self { child, io: Mutex::new((stdin, stdout)), announcement })
    }

    /// What the server announced.
    pub fn announcement(&self) -> &Announcement {
        &self.announcement
    }

    /// The credentials its servers accept.
    pub fn credentials(&self) -> &Credentials {
        &self.announcement.credentials
    }

    /// Connector kind → base URL overrides that route every connector to it.
    pub fn endpoints(&self) -> Vec<(&str, &str)> {
        self.announcement.endpoints.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its counters now (a blocking round trip over the pipes).
    pub fn stats(&self) -> io::Result<Stats> {
        let mut io = self.io.lock().unwrap_or_else(|e| e.into_inner());
        let (stdin, stdout) = &mut *io;
        writeln!(stdin, "stats")?;
        stdin.flush()?;
        read_json(stdout)
    }

    /// Zeroes its request counters (server state is kept).
    pub fn reset_counters(&self) -> io::Result<()> {
        let mut io = self.io.lock().unwrap_or_else(|e| e.into_inner());
        let (stdin, stdout) = &mut *io;
        writeln!(stdin, "reset")?;
        stdin.flush()?;
        read_json::<serde_json::Value>(stdout).map(|_| ())
    }

    /// Creates a tenant whose integrations use this sandbox's credentials.
    pub async fn provision_tenant(
        &self,
        store: &Store,
        keyring: &Keyring,
        setup: &TenantSetup,
    ) -> Result<Tenant, StoreError> {
        crate::provision_tenant(store, keyring, self.credentials(), setup).await
    }
}

impl Drop for RemoteSandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl std::fmt::Debug for RemoteSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSandbox")
            .field("pid", &self.child.id())
            .field("endpoints", &self.announcement.endpoints)
            .finish_non_exhaustive()
    }
}

fn read_json<T: serde::de::DeserializeOwned>(reader: &mut impl BufRead) -> io::Result<T> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the sandbox process closed its output"));
    }
    serde_json::from_str(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{e}: {line}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_round_trips_a_config() {
        let config = SandboxConfig {
            seed: 9,
            deals: 123,
            amocrm_rate_limit: 0,
            latency: Duration::from_millis(5),
            ..Default::default()
        };
        let env: BTreeMap<&str, String> = config.to_env().into_iter().collect();
        assert_eq!(env.len(), ENV_VARS.len());
        assert_eq!(env["SANDBOX_DEALS"], "123");
        assert_eq!(env["SANDBOX_WINDOW_START"], config.window_start.unix_seconds().to_string());
    }

    #[tokio::test]
    async fn the_announcement_and_stats_describe_the_sandbox() {
        let sandbox = Sandbox::start(SandboxConfig { deals: 10, ..Default::default() }).await;
        let a = sandbox.announcement();
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Announcement>(&json).unwrap(), a);
        assert_eq!(a.urls["amocrm"], sandbox.url(Service::Amocrm));
        assert_eq!(a.endpoints["radist"], sandbox.url(Service::Radist));
        assert_eq!(a.deals, 10);
        assert!(a.leads_in_window > 0 && a.leads_in_window <= 10);
        let stats = sandbox.stats();
        assert_eq!((stats.requests(Service::Amocrm), stats.telegram_sent), (0, 0));
    }
}

//! Sandbox configuration and the list of simulated services.

use std::time::Duration;

use synkro_core::time::Timestamp;

/// Seconds in the default report window.
const DAY_SECONDS: i64 = 24 * 60 * 60;

/// 2026-03-01T00:00:00Z, the default start of the data window.
const DEFAULT_WINDOW_START: i64 = 1_772_323_200;

/// How a [`Sandbox`](crate::Sandbox) generates its data and how strict its fake servers are.
///
/// ```
/// let config = synkro_sandbox::SandboxConfig { deals: 5, ..Default::default() };
/// assert_eq!(config.seed, 7);
/// assert_eq!(config.window_end().unix_seconds() - config.window_start.unix_seconds(), 86_400);
/// ```
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Seed of the data generator; equal seeds give identical data. Default 7.
    pub seed: u64,
    /// Number of amoCRM leads (deals). Default 40; benchmarks use 20 000.
    pub deals: usize,
    /// Radist chats whose phone belongs to no amoCRM contact. Default 10.
    pub unrelated_chats: usize,
    /// Start of the day the data clusters around; the window is `[window_start, window_end())`.
    /// Default 2026-03-01T00:00:00Z.
    pub window_start: Timestamp,
    /// amoCRM requests allowed per sliding second per account (0 = unlimited). Default 7.
    pub amocrm_rate_limit: u32,
    /// Minimum spacing of accepted Telegram `sendMessage` calls per chat. Default 1 s.
    pub telegram_chat_interval: Duration,
    /// Delay added before every response of every service. Default 0.
    pub latency: Duration,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            seed: 7,
            deals: 40,
            unrelated_chats: 10,
            window_start: Timestamp::from_unix_seconds(DEFAULT_WINDOW_START).unwrap_or_else(Timestamp::now),
            amocrm_rate_limit: 7,
            telegram_chat_interval: Duration::from_secs(1),
            latency: Duration::ZERO,
        }
    }
}

impl SandboxConfig {
    /// End of the data window (exclusive): `window_start` + 24 h.
    pub fn window_end(&self) -> Timestamp {
        shift_seconds(self.window_start, DAY_SECONDS)
    }
}

/// `ts` moved by `seconds` (negative moves back). Saturates at the representable range.
pub(crate) fn shift_seconds(ts: Timestamp, seconds: i64) -> Timestamp {
    shift_micros(ts, seconds.saturating_mul(1_000_000))
}

/// `ts` moved by `micros` microseconds.
pub(crate) fn shift_micros(ts: Timestamp, micros: i64) -> Timestamp {
    Timestamp::from_unix_micros(ts.unix_micros().saturating_add(micros)).unwrap_or(ts)
}

/// One of the fake servers a [`Sandbox`](crate::Sandbox) runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// The amoCRM REST API (`/api/v4`, GET only).
    Amocrm,
    /// The amoCRM OAuth token endpoint (`POST /oauth2/access_token`), a separate server.
    AmocrmOauth,
    /// The Radist.Online v2 API.
    Radist,
    /// Supabase's PostgREST Data API (`/rest/v1`).
    Supabase,
    /// An OpenAI-compatible chat-completions API (`/v1`).
    OpenAi,
    /// Google Gemini (`/v1beta`).
    Gemini,
    /// The Telegram Bot API (`/bot<token>/<method>`).
    Telegram,
}

impl Service {
    /// Every service, in declaration order.
    pub const ALL: [Service; 7] = [
        Service::Amocrm,
        Service::AmocrmOauth,
        Service::Radist,
        Service::Supabase,
        Service::OpenAi,
        Service::Gemini,
        Service::Telegram,
    ];

    /// Position in [`Service::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Lowercase name, used in logs.
    pub fn name(self) -> &'static str {
        match self {
            Service::Amocrm => "amocrm",
            Service::AmocrmOauth => "amocrm_oauth",
            Service::Radist => "radist",
            Service::Supabase => "supabase",
            Service::OpenAi => "openai",
            Service::Gemini => "gemini",
            Service::Telegram => "telegram",
        }
    }

    /// Path prefix that [`Sandbox::url`](crate::Sandbox::url) appends to the server origin.
    pub(crate) fn url_suffix(self) -> &'static str {
        match self {
            Service::Radist => "/v2",
            Service::OpenAi => "/v1",
            Service::Gemini => "/v1beta",
            _ => "",
        }
    }
}

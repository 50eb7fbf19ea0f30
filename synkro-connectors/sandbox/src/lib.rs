//! In-process fake servers of the external APIs Synkro talks to — amoCRM, Radist, Supabase
//! (PostgREST), OpenAI-compatible and Gemini language models, and the Telegram Bot API — for
//! connector tests, benchmarks and `synkro demo`.
//!
//! [`Sandbox::start`] generates deterministic data from a seed ([`SandboxData`], the truth tests
//! assert against), binds one server per [`Service`] on an ephemeral 127.0.0.1 port and serves
//! payloads shaped as in `EXTERNAL_APIS.md`: amoCRM's HAL pages, 204 on empty pages and its
//! 7-requests-per-second limit per account (every account serves the same data: see
//! [`Credentials::amocrm_token_for`]); Radist's cursor and `until` paging; PostgREST filters,
//! the 1,000-row cap and upserts; OpenAI/Gemini completions; Telegram's 4096-character and
//! 1-message-per-second limits. Tests can inject [`Fault`]s and inspect every
//! [`RecordedRequest`]. The [`remote`] module runs a sandbox in another process (the
//! `synkro-sandbox` binary).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use synkro_sandbox::{Sandbox, SandboxConfig, Service};
//!
//! let sandbox = Sandbox::start(SandboxConfig { deals: 10, ..Default::default() }).await;
//! let account_url = format!("{}/api/v4/account", sandbox.url(Service::Amocrm));
//! // ... point a connector at sandbox.url(..) with sandbox.credentials() ...
//! assert_eq!(sandbox.request_count(Service::Amocrm), 0);
//! sandbox.shutdown().await;
//! # let _ = account_url;
//! # Ok(())
//! # }
//! ```

mod ai;
mod amocrm;
mod config;
mod contract;
mod credentials;
mod data;
mod fault;
mod http;
mod provision;
mod radist;
mod record;
pub mod remote;
mod sandbox;
mod server;
mod supabase;
mod telegram;

pub use config::{SandboxConfig, Service};
pub use contract::ContractFake;
pub use credentials::{Credentials, OPENAI_NO_QUOTA_KEY, TELEGRAM_BOT_ID, TELEGRAM_BOT_USERNAME};
pub use data::{
    Attachment, Chat, ChatSource, Contact, CustomField, Direction, FieldValue, Lead, LeadContact, Message, MessageKind,
    Pipeline, RadistCompany, RadistContact, STATUS_LOST, STATUS_WON, SandboxData, Status, User,
};
pub use fault::Fault;
pub use provision::{TenantSetup, provision_tenant};
pub use record::RecordedRequest;
pub use sandbox::Sandbox;
pub use telegram::SentMessage;

//! The HTTP layer every Synkro connector shares.
//!
//! One [`HttpClient`] per connector instance gives: connect and total timeouts; retries with
//! exponential backoff and jitter, only for failure classes where a retry can help; server
//! delay hints (`Retry-After`, `retry-after-ms`, or a connector-parsed value such as Telegram's
//! `retry_after`) honoured up to a cap; pacing through the host's per-account
//! [`RateLimiter`](synkro_core::connector::RateLimiter); request, retry and 429 counters per
//! connector kind; secrets stripped from every error and log line; and the host's
//! [`OutboundPolicy`](synkro_core::connector::OutboundPolicy) enforced on the addresses
//! actually connected to, with no redirects followed and no upstream body in any error.
//!
//! amoCRM gets [`ReadOnlyClient`], which can only send GET requests: it has no other method,
//! and never hands out the client inside it.

mod client;
mod guard;
mod readonly;
mod redact;
mod retry;
mod token;

pub use client::{Classifier, HttpClient, HttpResponse, Method, RequestSpec, default_classify};
pub use readonly::ReadOnlyClient;
pub use redact::Redactor;
pub use retry::{backoff_delay, parse_retry_after};
pub use token::TokenEndpoint;

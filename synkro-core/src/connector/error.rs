//! Connector failures: a class that drives retry policy, whether a retry can help, a human
//! hint, and a message with every secret already stripped.

use std::{fmt, time::Duration};

use serde::{Deserialize, Serialize};

/// What kind of failure a connector hit. Retry policy matches on this, never on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// Credentials are missing, wrong or expired.
    Auth,
    /// Credentials are valid but may not do this (scope, role, IP allow-list).
    Permission,
    /// Configuration is incomplete or points at something that does not exist.
    Config,
    /// The service asked us to slow down.
    RateLimited,
    /// The service could not be reached (DNS, connect, reset, timeout).
    Network,
    /// The service answered with an error of its own (5xx, malformed body).
    Upstream,
}

impl FailureClass {
    /// Whether retrying later can help by itself (no one has to change anything).
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::RateLimited | Self::Network | Self::Upstream)
    }

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Permission => "permission",
            Self::Config => "config",
            Self::RateLimited => "rate_limited",
            Self::Network => "network",
            Self::Upstream => "upstream",
        }
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A connector's error. Its message and hint never contain a secret: the shared HTTP layer
/// strips them before an error is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{class}: {message}")]
pub struct ConnectorError {
    /// What kind of failure.
    pub class: FailureClass,
    /// What happened, for logs and the job log.
    pub message: String,
    /// What a person can do about it.
    pub hint: Option<String>,
    /// Whether a retry can help. Defaults from the class; a connector may override it (an
    /// exhausted billing quota is rate-limit-shaped but not retryable).
    pub retryable: bool,
    /// How long the service asked us to wait, if it said.
    pub retry_after: Option<Duration>,
    /// The HTTP status, if the failure was an HTTP answer.
    pub status: Option<u16>,
}

impl ConnectorError {
    /// An error of `class` with `message`; retryable as the class says.
    pub fn new(class: FailureClass, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
            hint: None,
            retryable: class.is_retryable(),
            retry_after: None,
            status: None,
        }
    }

    /// A configuration error naming the field to fix.
    pub fn config(field: &str, message: impl fmt::Display) -> Self {
        Self::new(FailureClass::Config, format!("{field}: {message}"))
            .with_hint(format!("set {field} in the integration settings"))
    }

    /// Adds a hint for people.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Overrides whether a retry can help.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// Records the server's requested delay.
    pub fn with_retry_after(mut self, delay: Option<Duration>) -> Self {
        self.retry_after = delay;
        self
    }

    /// Records the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
}

/// The outcome of a credential check, as shown on the settings page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// Whether the check passed.
    pub ok: bool,
    /// The failure class when it did not.
    pub class: Option<FailureClass>,
    /// Whether retrying can help.
    pub retryable: bool,
    /// What happened (redacted).
    pub message: String,
    /// What a person can do.
    pub hint: Option<String>,
    /// How long the check took.
    #[serde(serialize_with = "millis")]
    pub latency: Duration,
    /// What the check learned (account name, bot username, ...), never secrets.
    pub details: serde_json::Value,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl CheckReport {
    /// A report from a check's result and its latency.
    pub fn from_result(result: Result<serde_json::Value, ConnectorError>, latency: Duration) -> Self {
        match result {
            Ok(details) => {
                Self { ok: true, class: None, retryable: false, message: "ok".into(), hint: None, latency, details }
            }
            Err(e) => Self {
                ok: false,
                class: Some(e.class),
                retryable: e.retryable,
                message: e.message,
                hint: e.hint,
                latency,
                details: serde_json::Value::Null,
            },
        }
    }
}

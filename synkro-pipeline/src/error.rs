//! The pipeline's errors: what the service's verbs return, and how a job run ends when it fails.

use std::time::Duration;

use synkro_core::{
    ValidationError,
    connector::{ConnectorError, FailureClass},
    domain::TenantStatus,
    ids::JobId,
    store::{Constraint, DeliveryState, StoreError},
};

/// Errors of the service's verbs.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The request broke a rule (bad window, unknown tenant setting, ...).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The tenant already has a pending or running report job.
    #[error("the tenant already has an active report job ({0}); wait for it or stop it")]
    ActiveJob(JobId),
    /// The tenant is paused or disabled: no reports run and no follow-ups are answered for it.
    #[error("the tenant is {0}: reports and follow-ups are off until an admin sets its status back to active")]
    TenantInactive(TenantStatus),
    /// A re-send was asked for a report whose delivery is not `unknown` or `failed`.
    #[error("the report's delivery is {0}; only an unknown or failed delivery can be re-sent")]
    DeliveryBusy(DeliveryState),
    /// A tenant, job or report does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A connector failed (follow-up answers, checks).
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// Redis (configured for a service with several nodes) cannot be reached or used.
    #[cfg(feature = "redis")]
    #[error(transparent)]
    Redis(#[from] crate::redis::RedisError),
    /// Anything else (secrets that do not decrypt, a missing integration, ...).
    #[error("{0}")]
    Other(String),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity } => EngineError::NotFound(entity),
            StoreError::Invalid(v) => EngineError::Invalid(v),
            StoreError::Conflict(Constraint::ActiveReportJob { active: Some(id) }) => EngineError::ActiveJob(id),
            other => EngineError::Store(other),
        }
    }
}

/// How a job run failed, which decides what the workers do next.
#[derive(Debug, Clone, PartialEq)]
pub enum JobFailure {
    /// Transient: retry later (after `after` if the service said).
    Retry {
        /// What happened.
        message: String,
        /// The service's requested delay.
        after: Option<Duration>,
    },
    /// Someone has to fix something; retrying cannot help.
    Fatal {
        /// What happened and what to fix.
        message: String,
    },
    /// Stopped on request.
    Cancelled,
    /// The worker lost its lease (another worker took the job over): stop quietly.
    LeaseLost,
}

impl JobFailure {
    /// A fatal failure.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self::Fatal { message: message.into() }
    }

    /// Reads a connector error: retryable classes retry, the others end the job with the hint.
    pub fn from_connector(context: &str, e: ConnectorError) -> Self {
        let hint = e.hint.as_deref().map(|h| format!(" — {h}")).unwrap_or_default();
        let message = format!("{context}: {}{hint}", e.message);
        if e.retryable && !matches!(e.class, FailureClass::Auth | FailureClass::Config | FailureClass::Permission) {
            Self::Retry { message, after: e.retry_after }
        } else {
            Self::Fatal { message }
        }
    }

    /// A store failure is transient unless it is a broken rule.
    pub fn from_store(context: &str, e: StoreError) -> Self {
        match e {
            StoreError::Invalid(_) | StoreError::NotFound { .. } => Self::Fatal { message: format!("{context}: {e}") },
            _ => Self::Retry { message: format!("{context}: {e}"), after: None },
        }
    }
}

//! Storage errors, mapped from sqlx once: not found, conflict (naming the constraint), other.

use std::fmt;

use crate::{ValidationError, ids::JobId};

/// A database rule that refused a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// Tenant slugs are unique.
    TenantSlug,
    /// Usernames are unique.
    Username,
    /// A user has at most one role per tenant.
    RolePerTenant,
    /// A user has at most one global role.
    GlobalRole,
    /// A tenant has at most one integration config per connector kind.
    IntegrationKind,
    /// Job idempotency keys are unique.
    JobIdempotencyKey,
    /// A tenant has at most one pending or running report job; `active` is that job when known.
    ActiveReportJob {
        /// The job that holds the slot.
        active: Option<JobId>,
    },
    /// A job produces at most one report.
    ReportPerJob,
    /// Any other unique or check rule (the database's name for it).
    Other(String),
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TenantSlug => f.write_str("a tenant with this slug already exists"),
            Self::Username => f.write_str("a user with this username already exists"),
            Self::RolePerTenant => f.write_str("the user already has a role on this tenant; change or revoke it"),
            Self::GlobalRole => f.write_str("the user already has a global role; change or revoke it"),
            Self::IntegrationKind => f.write_str("the tenant already has an integration of this kind; update it"),
            Self::JobIdempotencyKey => f.write_str("a job with this idempotency key already exists"),
            Self::ActiveReportJob { active: Some(id) } => {
                write!(f, "the tenant already has an active report job ({id}); wait for it or stop it")
            }
            Self::ActiveReportJob { active: None } => {
                f.write_str("the tenant already has an active report job; wait for it or stop it")
            }
            Self::ReportPerJob => f.write_str("this job already produced a report"),
            Self::Other(name) => write!(f, "constraint {name} refused the write"),
        }
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist (or, for a foreign key, a record it refers to does not).
    #[error("{entity} not found")]
    NotFound {
        /// What was looked for: `tenant`, `user`, `job`, ...
        entity: &'static str,
    },
    /// A database rule refused the write.
    #[error("conflict: {0}")]
    Conflict(Constraint),
    /// The input broke a rule checked before reaching the database.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The database could not be opened.
    #[error("database connection failed: {0}")]
    Connect(String),
    /// Migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(String),
    /// Anything else the database reported.
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
}

impl StoreError {
    /// Whether this is a [`StoreError::Conflict`] on `constraint`'s kind (ignoring its details).
    pub fn is_conflict(&self, constraint: &Constraint) -> bool {
        matches!(self, Self::Conflict(c) if std::mem::discriminant(c) == std::mem::discriminant(constraint))
    }
}

/// Maps a sqlx error from either engine. PostgreSQL names the violated constraint or index;
/// SQLite names the columns (`UNIQUE constraint failed: job_runs.tenant_id`), so both are
/// recognised.
pub(crate) fn map(err: sqlx::Error) -> StoreError {
    use sqlx::error::ErrorKind;
    let sqlx::Error::Database(db) = &err else {
        return match err {
            sqlx::Error::RowNotFound => StoreError::NotFound { entity: "record" },
            other => StoreError::Other(other),
        };
    };
    match db.kind() {
        ErrorKind::UniqueViolation => {
            let key = db
                .constraint()
                .map(str::to_owned)
                .unwrap_or_else(|| db.message().rsplit_once(": ").map(|(_, cols)| cols.to_owned()).unwrap_or_default());
            StoreError::Conflict(constraint_for(&key))
        }
        ErrorKind::ForeignKeyViolation => StoreError::NotFound { entity: "referenced record" },
        ErrorKind::CheckViolation => {
            StoreError::Conflict(Constraint::Other(db.constraint().unwrap_or("check").to_owned()))
        }
        _ => StoreError::Other(err),
    }
}

fn constraint_for(key: &str) -> Constraint {
    match key {
        "tenants_slug_unique" | "tenants.slug" => Constraint::TenantSlug,
        "users_username_unique" | "users.username" => Constraint::Username,
        "user_roles_user_tenant_unique" | "user_roles.user_id, user_roles.tenant_id" => Constraint::RolePerTenant,
        "user_roles_one_global" | "user_roles.user_id" => Constraint::GlobalRole,
        "integration_configs_tenant_kind_unique" | "integration_configs.tenant_id, integration_configs.kind" => {
            Constraint::IntegrationKind
        }
        "job_runs_idempotency_key_unique" | "job_runs.idempotency_key" => Constraint::JobIdempotencyKey,
        "job_runs_one_active_report" | "job_runs.tenant_id" => Constraint::ActiveReportJob { active: None },
        "reports_one_per_job" | "reports.job_id" => Constraint::ReportPerJob,
        other => Constraint::Other(other.to_owned()),
    }
}

/// `NotFound` for `entity` when a row was expected.
pub(crate) fn found<T>(row: Option<T>, entity: &'static str) -> Result<T, StoreError> {
    row.ok_or(StoreError::NotFound { entity })
}

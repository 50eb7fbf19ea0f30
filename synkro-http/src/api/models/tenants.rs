//! Tenants.

use poem_openapi::{Enum, Object};
use serde::Deserialize;
use synkro_core::domain::{Tenant, TenantStatus};
use time::OffsetDateTime;
use uuid::Uuid;

use super::at;

/// Whether a tenant's jobs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum TenantStatusName {
    /// Scheduled and manual reports run.
    Active,
    /// Scheduled reports do not run.
    Paused,
    /// Nothing runs.
    Disabled,
}

impl From<TenantStatusName> for TenantStatus {
    fn from(s: TenantStatusName) -> Self {
        match s {
            TenantStatusName::Active => TenantStatus::Active,
            TenantStatusName::Paused => TenantStatus::Paused,
            TenantStatusName::Disabled => TenantStatus::Disabled,
        }
    }
}

impl From<TenantStatus> for TenantStatusName {
    fn from(s: TenantStatus) -> Self {
        match s {
            TenantStatus::Active => TenantStatusName::Active,
            TenantStatus::Paused => TenantStatusName::Paused,
            TenantStatus::Disabled => TenantStatusName::Disabled,
        }
    }
}

/// A tenant.
#[derive(Debug, Object)]
pub struct TenantOut {
    /// Id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Unique slug.
    pub slug: String,
    /// Whether its jobs run.
    pub status: TenantStatusName,
    /// IANA time zone.
    pub timezone: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    pub updated_at: OffsetDateTime,
}

impl From<Tenant> for TenantOut {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id.as_uuid(),
            name: t.name,
            slug: t.slug.to_string(),
            status: t.status.into(),
            timezone: t.timezone.as_str().to_owned(),
            created_at: at(t.created_at),
            updated_at: at(t.updated_at),
        }
    }
}

/// A page of tenants.
#[derive(Debug, Object)]
pub struct TenantPage {
    /// The tenants, newest first.
    pub items: Vec<TenantOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A tenant to create.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// Display name, 1-200 characters.
    pub name: String,
    /// Unique slug: 2-63 lowercase letters, digits and single hyphens, such as `acme-retail`.
    pub slug: String,
    /// IANA time zone such as `Europe/Berlin` (default UTC).
    #[serde(default)]
    pub timezone: Option<String>,
    /// Initial status (default active).
    #[serde(default)]
    pub status: Option<TenantStatusName>,
}

/// Changes to a tenant; omitted fields stay as they are. The slug never changes (it names
/// the tenant's rows in its warehouse).
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    /// New display name.
    #[serde(default)]
    pub name: Option<String>,
    /// New status.
    #[serde(default)]
    pub status: Option<TenantStatusName>,
    /// New IANA time zone.
    #[serde(default)]
    pub timezone: Option<String>,
}

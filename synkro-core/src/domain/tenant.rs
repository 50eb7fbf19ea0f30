//! Tenants: the client companies, each with its own integrations, jobs and reports.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::string_enum;
use crate::{
    ValidationError,
    error::check_len,
    ids::TenantId,
    time::{TimeZoneName, Timestamp},
};

string_enum! {
    /// Whether a tenant's jobs run.
    pub enum TenantStatus("status") {
        /// Reports are built and delivered.
        Active = "active",
        /// Temporarily off: no scheduled runs, data kept.
        Paused = "paused",
        /// Switched off by an operator.
        Disabled = "disabled",
    }
}

/// A tenant's URL- and warehouse-safe identifier (used as `tenant_id` in its Supabase).
///
/// Lowercase ASCII letters, digits and single hyphens; 2 to 63 characters; starts with a letter
/// and does not end with a hyphen.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    /// Validates a slug.
    pub fn new(value: &str) -> Result<Self, ValidationError> {
        let bad = |why: &str| {
            ValidationError::new(
                "slug",
                format!("{value:?} {why}; use 2-63 lowercase letters, digits and single hyphens, such as acme-retail"),
            )
        };
        let len = value.len();
        if !(2..=63).contains(&len) {
            return Err(bad("has the wrong length"));
        }
        if !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(bad("contains characters other than a-z, 0-9 and -"));
        }
        if !value.as_bytes()[0].is_ascii_lowercase() {
            return Err(bad("must start with a letter"));
        }
        if value.ends_with('-') || value.contains("--") {
            return Err(bad("must not end with a hyphen or contain two in a row"));
        }
        Ok(Self(value.to_owned()))
    }

    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl TryFrom<String> for Slug {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<Slug> for String {
    fn from(slug: Slug) -> String {
        slug.0
    }
}

super::text_newtype_sql!(Slug, as_str, Slug);

/// A client company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct Tenant {
    /// Id.
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// Unique identifier, see [`Slug`].
    pub slug: Slug,
    /// Whether its jobs run.
    pub status: TenantStatus,
    /// The tenant's IANA time zone.
    pub timezone: TimeZoneName,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// A tenant to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTenant {
    /// Display name, 1-200 characters.
    pub name: String,
    /// Unique slug.
    pub slug: Slug,
    /// Initial status (default active).
    pub status: TenantStatus,
    /// IANA time zone.
    pub timezone: TimeZoneName,
}

impl NewTenant {
    /// Validates name, slug and time zone; the tenant starts active.
    pub fn new(name: &str, slug: &str, timezone: &str) -> Result<Self, ValidationError> {
        check_len("name", name, 200)?;
        Ok(Self {
            name: name.trim().to_owned(),
            slug: Slug::new(slug)?,
            status: TenantStatus::Active,
            timezone: TimeZoneName::new(timezone)?,
        })
    }
}

/// Changes to a tenant; `None` keeps a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantUpdate {
    /// New display name.
    pub name: Option<String>,
    /// New status.
    pub status: Option<TenantStatus>,
    /// New time zone.
    pub timezone: Option<TimeZoneName>,
}

impl TenantUpdate {
    /// Checks the fields that are set.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(name) = &self.name {
            check_len("name", name, 200)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_documented_format() {
        for ok in ["acme", "acme-retail", "a1", "shop-24"] {
            assert!(Slug::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a", "Acme", "acme_retail", "-acme", "acme-", "ac--me", "1acme", "акме", &"a".repeat(64)] {
            let err = Slug::new(bad).unwrap_err();
            assert_eq!(err.field, "slug");
            assert!(err.message.contains("acme-retail"), "hint missing: {err}");
        }
    }

    #[test]
    fn new_tenant_rejects_empty_names_and_unknown_zones() {
        assert_eq!(NewTenant::new(" ", "acme", "UTC").unwrap_err().field, "name");
        assert_eq!(NewTenant::new("Acme", "acme", "Europe/Nowhere").unwrap_err().field, "timezone");
        let t = NewTenant::new(" Acme ", "acme", "Asia/Almaty").unwrap();
        assert_eq!(t.name, "Acme");
        assert_eq!(t.status, TenantStatus::Active);
    }

    #[test]
    fn statuses_parse_and_list_accepted_values() {
        assert_eq!("paused".parse::<TenantStatus>().unwrap(), TenantStatus::Paused);
        let err = "deleted".parse::<TenantStatus>().unwrap_err();
        assert!(err.message.contains("active, paused, disabled"), "{err}");
        assert_eq!(serde_json::to_string(&TenantStatus::Disabled).unwrap(), "\"disabled\"");
    }
}

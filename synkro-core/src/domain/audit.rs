//! The audit log: who did what, where from.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    ValidationError,
    error::check_max,
    ids::{AuditId, TenantId, UserId},
    time::Timestamp,
};

/// One audit entry. Entries outlive their tenant (the tenant becomes `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct AuditLog {
    /// Id.
    pub id: AuditId,
    /// The tenant concerned, if any.
    pub tenant_id: Option<TenantId>,
    /// Who acted, if a user did.
    pub actor_id: Option<UserId>,
    /// A dotted lowercase action name such as `integration.update`.
    pub action: String,
    /// What happened, for people.
    pub message: String,
    /// Details; never secret values (a JSON object).
    #[cfg_attr(feature = "store", sqlx(json))]
    pub metadata: Value,
    /// The client's address.
    pub ip_address: Option<String>,
    /// When it happened.
    pub created_at: Timestamp,
}

/// An audit entry to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditLog {
    /// The tenant concerned.
    pub tenant_id: Option<TenantId>,
    /// Who acted.
    pub actor_id: Option<UserId>,
    /// Dotted lowercase action name.
    pub action: String,
    /// Human message.
    pub message: String,
    /// Details (a JSON object).
    pub metadata: Value,
    /// The client's address.
    pub ip_address: Option<IpAddr>,
}

impl NewAuditLog {
    /// An entry with no tenant, actor, metadata or address; validates the action name.
    pub fn new(action: &str, message: impl Into<String>) -> Result<Self, ValidationError> {
        check_action(action)?;
        Ok(Self {
            tenant_id: None,
            actor_id: None,
            action: action.to_owned(),
            message: message.into(),
            metadata: Value::Object(Default::default()),
            ip_address: None,
        })
    }

    /// Checks the action, message and metadata.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_action(&self.action)?;
        check_max("message", &self.message, 4_000)?;
        if !self.metadata.is_object() {
            return Err(ValidationError::new("metadata", "must be a JSON object"));
        }
        Ok(())
    }
}

fn check_action(action: &str) -> Result<(), ValidationError> {
    let ok = !action.is_empty()
        && action.len() <= 100
        && action.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            "action",
            format!("{action:?} is not a dotted lowercase name such as integration.update"),
        ))
    }
}

/// Which audit entries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this tenant's entries.
    pub tenant_id: Option<TenantId>,
    /// Only this action.
    pub action: Option<String>,
    /// Only entries at or after this time.
    pub from: Option<Timestamp>,
    /// Only entries before this time.
    pub to: Option<Timestamp>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_dotted_lowercase() {
        assert!(NewAuditLog::new("auth.login_failed", "x").is_ok());
        for bad in ["", "Auth.login", "auth..login", "auth login", "auth."] {
            assert_eq!(NewAuditLog::new(bad, "x").unwrap_err().field, "action", "{bad}");
        }
    }
}

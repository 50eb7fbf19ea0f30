//! Integration configs: one per tenant and connector kind, with public settings in JSON and
//! secret fields encrypted.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::string_enum;
use crate::{
    ValidationError,
    ids::{IntegrationId, TenantId},
    secrets::EncryptedSecrets,
    time::Timestamp,
};

super::text_newtype_sql!(EncryptedSecrets, as_token, EncryptedSecrets::from_token);

string_enum! {
    /// The result of the last credential check.
    pub enum IntegrationStatus("status") {
        /// Never checked since the last change.
        Unknown = "unknown",
        /// The last check passed.
        Ok = "ok",
        /// The last check failed; see `last_error`.
        Error = "error",
        /// A check is running.
        Pending = "pending",
    }
}

/// A connector's kind: a lowercase snake_case noun such as `amocrm` or `telegram`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConnectorKind(String);

impl ConnectorKind {
    /// Validates a kind: 1-64 characters of `a-z`, `0-9` and `_`, starting with a letter.
    pub fn new(kind: &str) -> Result<Self, ValidationError> {
        let ok = !kind.is_empty()
            && kind.len() <= 64
            && kind.as_bytes()[0].is_ascii_lowercase()
            && kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Self(kind.to_owned()))
        } else {
            Err(ValidationError::new(
                "kind",
                format!("{kind:?} is not a connector kind; kinds are lowercase snake_case such as amocrm"),
            ))
        }
    }

    /// The kind text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConnectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ConnectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl TryFrom<String> for ConnectorKind {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<ConnectorKind> for String {
    fn from(kind: ConnectorKind) -> String {
        kind.0
    }
}

super::text_newtype_sql!(ConnectorKind, as_str, ConnectorKind);

/// A tenant's settings for one connector.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct IntegrationConfig {
    /// Id.
    pub id: IntegrationId,
    /// Owner.
    pub tenant_id: TenantId,
    /// Which connector.
    pub kind: ConnectorKind,
    /// Result of the last check.
    pub status: IntegrationStatus,
    /// Non-secret fields (a JSON object).
    #[cfg_attr(feature = "store", sqlx(json))]
    pub public_config: Value,
    /// The Fernet token of the JSON object of secret fields, if any are set.
    pub secret_data_encrypted: Option<EncryptedSecrets>,
    /// The last check's error, redacted.
    pub last_error: Option<String>,
    /// When it was last checked.
    pub last_checked_at: Option<Timestamp>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// An integration config to create, or the new content of an existing one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntegrationConfig {
    /// Owner.
    pub tenant_id: TenantId,
    /// Which connector.
    pub kind: ConnectorKind,
    /// Non-secret fields; must be a JSON object.
    pub public_config: Value,
    /// Encrypted secret fields (see [`Keyring::encrypt`](crate::Keyring::encrypt)).
    pub secret_data_encrypted: Option<EncryptedSecrets>,
}

impl NewIntegrationConfig {
    /// Validates that `public_config` is a JSON object.
    pub fn new(
        tenant_id: TenantId,
        kind: ConnectorKind,
        public_config: Value,
        secret_data_encrypted: Option<EncryptedSecrets>,
    ) -> Result<Self, ValidationError> {
        if !public_config.is_object() {
            return Err(ValidationError::new("public_config", "must be a JSON object of field names to values"));
        }
        Ok(Self { tenant_id, kind, public_config, secret_data_encrypted })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_snake_case_nouns() {
        assert!(ConnectorKind::new("amocrm").is_ok());
        assert!(ConnectorKind::new("custom_csv2").is_ok());
        for bad in ["", "AmoCRM", "amo-crm", "2gis", "a b"] {
            assert_eq!(ConnectorKind::new(bad).unwrap_err().field, "kind", "{bad}");
        }
    }

    #[test]
    fn public_config_must_be_an_object() {
        let kind = ConnectorKind::new("amocrm").unwrap();
        let err = NewIntegrationConfig::new(TenantId::new(), kind, Value::from(3), None).unwrap_err();
        assert_eq!(err.field, "public_config");
    }
}

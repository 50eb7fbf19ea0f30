//! The crate-wide error type and the validation error every constructor returns.

#[cfg(feature = "store")]
use crate::store::StoreError;
use crate::{config::ConfigError, secrets::SecretError};

/// Result alias for synkro-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Any error synkro-core can return.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input did not pass validation.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The store failed or refused an operation.
    #[cfg(feature = "store")]
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Secrets could not be encrypted, decrypted or loaded.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// Configuration is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// A value that breaks a rule: names the field and says what is expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {message}")]
pub struct ValidationError {
    /// The offending field, as the API and the CLI name it (`slug`, `timezone`, ...).
    pub field: &'static str,
    /// What is wrong and what would be accepted, as a lowercase fragment.
    pub message: String,
}

impl ValidationError {
    /// A validation error for `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

/// Checks that a text field is non-empty (after trimming), at most `max` characters and free
/// of NUL characters.
pub(crate) fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    let n = value.trim().chars().count();
    if n == 0 {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    check_max(field, value, max)
}

/// Checks an optional text field's length, and that it holds no NUL character (PostgreSQL
/// cannot store one, so SQLite must not either).
pub(crate) fn check_max(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.chars().count() > max {
        return Err(ValidationError::new(field, format!("must be at most {max} characters")));
    }
    if value.contains('\0') {
        return Err(ValidationError::new(field, "must not contain a NUL character (\\u0000)"));
    }
    Ok(())
}

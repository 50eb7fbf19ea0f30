//! Argon2id password hashes (PHC strings), computed off the async threads.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use synkro_core::domain::PasswordHash;

use crate::error::ApiError;

/// A hash verified against when the user does not exist, so that unknown usernames take as
/// long as wrong passwords.
fn dummy() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("no user has this password").map(|h| h.as_phc().to_owned()).unwrap_or_default())
}

/// Hashes a password with argon2id and a fresh random salt.
pub fn hash(password: &str) -> Result<PasswordHash, ApiError> {
    let hash = Argon2::default().hash_password(password.as_bytes()).map_err(ApiError::internal)?;
    Ok(PasswordHash::from_phc(hash.to_string()))
}

/// [`hash`] on a blocking thread.
pub async fn hash_async(password: String) -> Result<PasswordHash, ApiError> {
    tokio::task::spawn_blocking(move || hash(&password)).await.map_err(ApiError::internal)?
}

/// Whether `password` matches `hash`; with no hash, spends the same time and says no.
pub fn verify(password: &str, hash: Option<&PasswordHash>) -> bool {
    let phc = match hash {
        Some(h) => h.as_phc(),
        None => dummy(),
    };
    let ok = Argon2::default().verify_password(password.as_bytes(), phc).is_ok();
    ok && hash.is_some()
}

/// [`verify`] on a blocking thread.
pub async fn verify_async(password: String, hash: Option<PasswordHash>) -> bool {
    tokio::task::spawn_blocking(move || verify(&password, hash.as_ref())).await.unwrap_or(false)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash("correct horse").unwrap();
        let b = hash("correct horse").unwrap();
        assert!(a.as_phc().starts_with("$argon2id$"), "{}", a.as_phc());
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify("correct horse", Some(&a)));
        assert!(!verify("wrong", Some(&a)));
        assert!(!verify("anything", None));
    }
}

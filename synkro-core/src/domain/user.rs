//! Users, their roles on tenants (or globally) and their profiles.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::string_enum;
use crate::{
    ValidationError,
    error::{check_len, check_max},
    ids::{RoleId, TenantId, UserId},
    time::{TimeZoneName, Timestamp},
};

string_enum! {
    /// A role on one tenant, or on every tenant when granted globally.
    pub enum Role("role") {
        /// Manages the tenant's settings, users and roles.
        SuperAdmin = "super_admin",
        /// Manages the tenant's settings (integrations, runtime config, checks).
        AdminLite = "admin_lite",
        /// The client role: reads reports, asks follow-ups, runs manual reports.
        User = "user",
    }
}

/// An argon2 password hash in PHC string form. Its `Debug` does not print the hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string produced by a password hasher.
    pub fn from_phc(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }

    /// The PHC string, for verification.
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

super::text_newtype_sql!(PasswordHash, as_phc, PasswordHash);

/// A person who can sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Unique login name.
    pub username: String,
    /// Password hash; `None` means the user cannot sign in with a password.
    #[serde(skip)]
    pub password_hash: Option<PasswordHash>,
    /// Contact e-mail.
    pub email: Option<String>,
    /// May do everything.
    pub is_superuser: bool,
    /// Inactive users cannot sign in.
    pub is_active: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
    /// Who created it through the API, if anyone (a tenant's `super_admin` may grant roles to
    /// accounts they created that hold no role yet).
    #[serde(skip)]
    pub created_by: Option<UserId>,
    /// Created by the TEMP_LOGIN fallback: deleted when the server starts without it.
    #[serde(skip)]
    pub is_temporary: bool,
}

/// Passwords refused however long they are: the most common ones in leaked-password lists
/// (and this product's name), compared without case and surrounding spaces.
const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password12",
    "password123",
    "passw0rd",
    "p@ssw0rd",
    "12345678",
    "123456789",
    "1234567890",
    "0123456789",
    "87654321",
    "11111111",
    "00000000",
    "12341234",
    "11223344",
    "qwertyui",
    "qwerty123",
    "qwertyuiop",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "qazwsxedc",
    "asdfghjkl",
    "zxcvbnm1",
    "iloveyou",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome1",
    "welcome123",
    "letmein1",
    "trustno1",
    "superman",
    "starwars",
    "whatever",
    "changeme",
    "administrator",
    "admin123",
    "admin1234",
    "abc12345",
    "abcd1234",
    "aa123456",
    "synkro123",
    "synkro1234",
    "qwerty12",
    "monkey123",
    "dragon123",
    "master123",
];

/// The password rule every way of setting one shares (API, CLI, the fallback login): 8 to 1024
/// characters, not blank, not one of the most common passwords. `field` names the setting.
pub fn check_password(field: &'static str, password: &str) -> Result<(), ValidationError> {
    let n = password.chars().count();
    if n < 8 {
        return Err(ValidationError::new(field, "must have at least 8 characters"));
    }
    if n > 1024 {
        return Err(ValidationError::new(field, "must have at most 1024 characters"));
    }
    if password.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be blank"));
    }
    let folded = password.trim().to_lowercase();
    let one_character = folded.chars().all(|c| folded.starts_with(c));
    if COMMON_PASSWORDS.contains(&folded.as_str()) || one_character {
        return Err(ValidationError::new(field, "is one of the most common passwords; choose another"));
    }
    Ok(())
}

fn check_username(username: &str) -> Result<(), ValidationError> {
    check_len("username", username, 150)?;
    if !username.chars().all(|c| c.is_alphanumeric() || "@.+-_".contains(c)) {
        return Err(ValidationError::new("username", "may contain only letters, digits and @ . + - _"));
    }
    Ok(())
}

fn check_email(email: &str) -> Result<(), ValidationError> {
    check_max("email", email, 254)?;
    let (local, domain) = email.split_once('@').unwrap_or(("", ""));
    if local.is_empty() || !domain.contains('.') || email.contains(char::is_whitespace) {
        return Err(ValidationError::new(
            "email",
            format!("{email:?} is not an e-mail address such as anna@example.com"),
        ));
    }
    Ok(())
}

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Unique login name: letters, digits and `@.+-_`, at most 150 characters.
    pub username: String,
    /// Password hash, if the user signs in with a password.
    pub password_hash: Option<PasswordHash>,
    /// Contact e-mail.
    pub email: Option<String>,
    /// May do everything.
    pub is_superuser: bool,
    /// Can sign in.
    pub is_active: bool,
    /// Who creates it, if a signed-in user does.
    pub created_by: Option<UserId>,
    /// The TEMP_LOGIN fallback's own account.
    pub is_temporary: bool,
}

impl NewUser {
    /// An active, non-superuser user with no password yet.
    pub fn new(username: &str) -> Result<Self, ValidationError> {
        check_username(username)?;
        Ok(Self {
            username: username.to_owned(),
            password_hash: None,
            email: None,
            is_superuser: false,
            is_active: true,
            created_by: None,
            is_temporary: false,
        })
    }

    /// Sets the e-mail address (validated).
    pub fn with_email(mut self, email: &str) -> Result<Self, ValidationError> {
        check_email(email)?;
        self.email = Some(email.to_owned());
        Ok(self)
    }
}

/// Changes to a user; `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    /// New e-mail; `Some(None)` clears it.
    pub email: Option<Option<String>>,
    /// New password hash.
    pub password_hash: Option<PasswordHash>,
    /// Grant or remove superuser.
    pub is_superuser: Option<bool>,
    /// Activate or deactivate.
    pub is_active: Option<bool>,
}

impl UserUpdate {
    /// Checks the fields that are set.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(Some(email)) = &self.email {
            check_email(email)?;
        }
        Ok(())
    }
}

/// A role granted to a user on a tenant, or globally (`tenant_id` is `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct UserRole {
    /// Id.
    pub id: RoleId,
    /// Who holds it.
    pub user_id: UserId,
    /// Where it applies; `None` means every tenant.
    pub tenant_id: Option<TenantId>,
    /// The role.
    pub role: Role,
    /// Inactive roles grant nothing.
    pub is_active: bool,
    /// When it was granted.
    pub created_at: Timestamp,
}

/// A role to grant. A user has at most one role per tenant and at most one global role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUserRole {
    /// Who gets it.
    pub user_id: UserId,
    /// Where it applies; `None` means every tenant.
    pub tenant_id: Option<TenantId>,
    /// The role.
    pub role: Role,
}

/// Per-user settings, one row per user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct UserProfile {
    /// The user.
    pub user_id: UserId,
    /// Phone number, free-form.
    pub phone: Option<String>,
    /// Preferred time zone for showing times.
    pub timezone: Option<TimeZoneName>,
    /// The dashboard's language; `None` follows the browser's.
    pub language: Option<super::Language>,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

impl UserProfile {
    /// A profile for `user_id` (language: the browser's); validates the phone length.
    pub fn new(user_id: UserId, phone: Option<&str>, timezone: Option<TimeZoneName>) -> Result<Self, ValidationError> {
        if let Some(phone) = phone {
            check_max("phone", phone, 32)?;
            if !phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)) {
                return Err(ValidationError::new("phone", "may contain only digits, spaces and + - ( )"));
            }
        }
        Ok(Self { user_id, phone: phone.map(str::to_owned), timezone, language: None, updated_at: Timestamp::now() })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn blank_short_and_common_passwords_are_refused() {
        for (bad, why) in [
            ("short", "at least 8"),
            ("        ", "blank"),
            ("password", "common"),
            (" Password123 ", "common"),
            ("zzzzzzzzzzzz", "common"),
        ] {
            let err = check_password("password", bad).unwrap_err();
            assert!(err.field == "password" && err.message.contains(why), "{bad:?}: {err}");
        }
        check_password("password", "correct horse battery").unwrap();
        check_password("password", "a sturdy pass phrase with spaces").unwrap();
    }

    #[test]
    fn usernames_and_emails_are_checked() {
        assert!(NewUser::new("anna.k@acme").is_ok());
        assert_eq!(NewUser::new("anna k").unwrap_err().field, "username");
        assert_eq!(NewUser::new("").unwrap_err().field, "username");
        assert_eq!(NewUser::new(&"x".repeat(151)).unwrap_err().field, "username");
        assert!(NewUser::new("anna").unwrap().with_email("anna@example.com").is_ok());
        assert_eq!(NewUser::new("anna").unwrap().with_email("anna").unwrap_err().field, "email");
    }

    #[test]
    fn password_hash_is_not_printed_or_serialized() {
        let mut user = NewUser::new("anna").unwrap();
        user.password_hash = Some(PasswordHash::from_phc("$argon2id$v=19$secretsalt"));
        assert!(!format!("{user:?}").contains("secretsalt"));
    }

    #[test]
    fn role_names_match_the_original() {
        let names: Vec<_> = Role::ALL.iter().map(Role::as_str).collect();
        assert_eq!(names, ["super_admin", "admin_lite", "user"]);
    }

    #[test]
    fn profile_phone_is_checked() {
        assert!(UserProfile::new(UserId::new(), Some("+7 (900) 000-00-00"), None).is_ok());
        assert_eq!(UserProfile::new(UserId::new(), Some("call me"), None).unwrap_err().field, "phone");
    }
}

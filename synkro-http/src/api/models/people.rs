//! Signing in, users, roles, profiles and API tokens.

use poem_openapi::{Enum, Object, types::MaybeUndefined};
use serde::Deserialize;
use synkro_core::{
    domain::{Role, User, UserProfile, UserRole},
    store::ApiToken,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::at;

/// Credentials for `POST /auth/login`.
#[derive(Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login name.
    pub username: String,
    /// Password.
    #[oai(write_only)]
    pub password: String,
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Object)]
pub struct UserOut {
    /// Id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Contact e-mail.
    pub email: Option<String>,
    /// May do everything.
    pub is_superuser: bool,
    /// Inactive users cannot sign in.
    pub is_active: bool,
    /// Whether a password is set (users without one cannot sign in with a password).
    pub has_password: bool,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

impl From<&User> for UserOut {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.as_uuid(),
            username: u.username.clone(),
            email: u.email.clone(),
            is_superuser: u.is_superuser,
            is_active: u.is_active,
            has_password: u.password_hash.is_some(),
            created_at: at(u.created_at),
        }
    }
}

/// A role name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    /// Manages the tenant's settings, users and roles.
    SuperAdmin,
    /// Manages the tenant's settings (integrations, runtime config, checks).
    AdminLite,
    /// The client role: reads reports, asks follow-ups, runs manual reports.
    User,
}

impl From<RoleName> for Role {
    fn from(r: RoleName) -> Self {
        match r {
            RoleName::SuperAdmin => Role::SuperAdmin,
            RoleName::AdminLite => Role::AdminLite,
            RoleName::User => Role::User,
        }
    }
}

impl From<Role> for RoleName {
    fn from(r: Role) -> Self {
        match r {
            Role::SuperAdmin => RoleName::SuperAdmin,
            Role::AdminLite => RoleName::AdminLite,
            Role::User => RoleName::User,
        }
    }
}

/// A role granted to a user on a tenant, or on every tenant.
#[derive(Debug, Object)]
pub struct RoleOut {
    /// Id.
    pub id: Uuid,
    /// Who holds it.
    pub user_id: Uuid,
    /// The tenant; absent for a global role.
    pub tenant_id: Option<Uuid>,
    /// The role.
    pub role: RoleName,
    /// Inactive roles grant nothing.
    pub is_active: bool,
    /// When it was granted.
    pub created_at: OffsetDateTime,
}

impl From<&UserRole> for RoleOut {
    fn from(r: &UserRole) -> Self {
        Self {
            id: r.id.as_uuid(),
            user_id: r.user_id.as_uuid(),
            tenant_id: r.tenant_id.map(|t| t.as_uuid()),
            role: r.role.into(),
            is_active: r.is_active,
            created_at: at(r.created_at),
        }
    }
}

/// A role on a tenant with its holder's name.
#[derive(Debug, Object)]
pub struct TenantRoleOut {
    /// The role.
    #[oai(flatten)]
    pub role: RoleOut,
    /// The holder's login name.
    pub username: String,
}

/// The caller: their user, active roles, and (for a browser session) the CSRF token.
#[derive(Debug, Object)]
pub struct Me {
    /// The user.
    pub user: UserOut,
    /// Their active roles.
    pub roles: Vec<RoleOut>,
    /// Send this in `X-CSRF-Token` on every request other than GET (absent when signed in with
    /// an API token, which needs none).
    pub csrf_token: Option<String>,
}

/// A user with their roles (those the caller may see) and profile.
#[derive(Debug, Object)]
pub struct UserDetail {
    /// The user.
    #[oai(flatten)]
    pub user: UserOut,
    /// Their roles.
    pub roles: Vec<RoleOut>,
    /// Their profile.
    pub profile: ProfileOut,
}

/// A page of users.
#[derive(Debug, Object)]
pub struct UserPage {
    /// Users, newest first.
    pub items: Vec<UserOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A user to create.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login name: letters, digits and `@.+-_`, at most 150 characters.
    pub username: String,
    /// Initial password (at least 8 characters); without one the user cannot sign in yet.
    #[oai(write_only)]
    #[serde(default)]
    pub password: Option<String>,
    /// Contact e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Make the user a superuser (superusers only).
    #[serde(default)]
    pub is_superuser: bool,
    /// Whether the user can sign in (default true).
    #[serde(default)]
    pub is_active: Option<bool>,
}

/// Changes to a user; omitted fields stay as they are.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// New e-mail; `null` removes it.
    #[serde(default)]
    pub email: MaybeUndefined<String>,
    /// New password (at least 8 characters); ends the user's sessions.
    #[oai(write_only)]
    #[serde(default)]
    pub password: Option<String>,
    /// Grant or remove superuser (superusers only).
    #[serde(default)]
    pub is_superuser: Option<bool>,
    /// Activate or deactivate; deactivating ends the user's sessions.
    #[serde(default)]
    pub is_active: Option<bool>,
}

/// A role to grant.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRole {
    /// Who gets it.
    pub user_id: Uuid,
    /// The tenant; omit (or `null`) for a global role on every tenant.
    #[serde(default)]
    pub tenant_id: Option<Uuid>,
    /// The role.
    pub role: RoleName,
}

/// Activates or deactivates a role.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRole {
    /// Inactive roles grant nothing but are kept.
    pub is_active: bool,
}

/// A user's profile.
#[derive(Debug, Object)]
pub struct ProfileOut {
    /// Phone number.
    pub phone: Option<String>,
    /// Preferred time zone (IANA) for showing times.
    pub timezone: Option<String>,
    /// The dashboard's language, `ru` or `en`; `null` follows the browser's.
    pub language: Option<String>,
}

impl From<Option<UserProfile>> for ProfileOut {
    fn from(p: Option<UserProfile>) -> Self {
        match p {
            Some(p) => Self {
                phone: p.phone,
                timezone: p.timezone.map(|t| t.as_str().to_owned()),
                language: p.language.map(|l| l.as_str().to_owned()),
            },
            None => Self { phone: None, timezone: None, language: None },
        }
    }
}

/// New profile values; omitted fields stay, `null` clears.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfile {
    /// The account's e-mail address; `null` or empty removes it.
    #[serde(default)]
    pub email: MaybeUndefined<String>,
    /// Phone number: digits, spaces and `+ - ( )`, at most 32 characters.
    #[serde(default)]
    pub phone: MaybeUndefined<String>,
    /// IANA time zone such as `Europe/Berlin`.
    #[serde(default)]
    pub timezone: MaybeUndefined<String>,
    /// The dashboard's language: `ru` or `en`; `null` follows the browser's.
    #[serde(default)]
    pub language: MaybeUndefined<String>,
}

/// Changing one's own password.
#[derive(Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The current password.
    #[oai(write_only)]
    pub current_password: String,
    /// The new password, at least 8 characters.
    #[oai(write_only)]
    pub new_password: String,
}

/// A personal API token to create.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What it is for, 1-100 characters.
    pub name: String,
    /// Days until it stops working, 1-3650; omit for a token that does not expire.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// A personal API token (never the token itself, except once at creation).
#[derive(Debug, Object)]
pub struct TokenOut {
    /// Id (to revoke it).
    pub id: Uuid,
    /// What it is for.
    pub name: String,
    /// Its first characters, to recognise it.
    pub prefix: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it was last used (to the minute).
    pub last_used_at: Option<OffsetDateTime>,
    /// When it stops working.
    pub expires_at: Option<OffsetDateTime>,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

impl From<&ApiToken> for TokenOut {
    fn from(t: &ApiToken) -> Self {
        Self {
            id: t.id.as_uuid(),
            name: t.name.clone(),
            prefix: t.prefix.clone(),
            created_at: at(t.created_at),
            last_used_at: t.last_used_at.map(at),
            expires_at: t.expires_at.map(at),
            revoked_at: t.revoked_at.map(at),
        }
    }
}

/// A new token: the only time its value is shown.
#[derive(Debug, Object)]
pub struct CreatedToken {
    /// The token's details.
    #[oai(flatten)]
    pub details: TokenOut,
    /// Send it as `Authorization: Bearer <token>`; it is not shown again.
    pub token: String,
}

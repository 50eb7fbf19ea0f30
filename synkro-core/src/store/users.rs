//! Users, roles and profiles.

use super::{
    Page, PageRequest, Store, StoreError,
    error::{found, map},
    on_pool,
};
use crate::{
    domain::{NewUser, NewUserRole, User, UserProfile, UserRole, UserUpdate},
    ids::{RoleId, TenantId, UserId},
    time::Timestamp,
};

impl Store {
    /// Creates a user. A taken username is `Conflict(Username)`.
    pub async fn create_user(&self, new: &NewUser) -> Result<User, StoreError> {
        const SQL: &str = "INSERT INTO users (id, username, password_hash, email, is_superuser, is_active, \
                           created_at, updated_at, created_by, is_temporary) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9) RETURNING *";
        on_pool!(self, |pool| {
            sqlx::query_as::<_, User>(SQL)
                .bind(UserId::new())
                .bind(&new.username)
                .bind(&new.password_hash)
                .bind(&new.email)
                .bind(new.is_superuser)
                .bind(new.is_active)
                .bind(Timestamp::now())
                .bind(new.created_by)
                .bind(new.is_temporary)
                .fetch_one(pool)
                .await
        })
        .map_err(map)
    }

    /// Deletes the accounts the TEMP_LOGIN fallback created (with their sessions, tokens and
    /// roles); returns how many.
    pub async fn delete_temporary_users(&self) -> Result<u64, StoreError> {
        const SQL: &str = "SELECT id FROM users WHERE is_temporary";
        let ids: Vec<UserId> =
            on_pool!(self, |pool| sqlx::query_scalar::<_, UserId>(SQL).fetch_all(pool).await).map_err(map)?;
        for id in &ids {
            self.delete_user(*id).await?;
        }
        Ok(ids.len() as u64)
    }

    /// A user by id.
    pub async fn get_user(&self, id: UserId) -> Result<User, StoreError> {
        const SQL: &str = "SELECT * FROM users WHERE id = $1";
        let row = on_pool!(self, |pool| sqlx::query_as::<_, User>(SQL).bind(id).fetch_optional(pool).await);
        found(row.map_err(map)?, "user")
    }

    /// A user by username (exact match).
    pub async fn get_user_by_username(&self, username: &str) -> Result<User, StoreError> {
        const SQL: &str = "SELECT * FROM users WHERE username = $1";
        let row = on_pool!(self, |pool| sqlx::query_as::<_, User>(SQL).bind(username).fetch_optional(pool).await);
        found(row.map_err(map)?, "user")
    }

    /// Users, newest first.
    pub async fn list_users(&self, page: &PageRequest) -> Result<Page<User>, StoreError> {
        const SQL: &str = "SELECT * FROM users WHERE ($1 IS NULL OR (created_at, id) < ($1, $2)) \
                           ORDER BY created_at DESC, id DESC LIMIT $3";
        let (at, id, limit) = page.binds();
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, User>(SQL).bind(at).bind(id).bind(limit).fetch_all(pool).await
        })
        .map_err(map)?;
        Ok(Page::from_rows(rows, page, |u| (u.created_at, u.id.as_uuid())))
    }

    /// Changes a user's e-mail, password, superuser flag or active flag.
    pub async fn update_user(&self, id: UserId, update: &UserUpdate) -> Result<User, StoreError> {
        update.validate()?;
        const SQL: &str = "UPDATE users SET \
            email = CASE WHEN $2 THEN $3 ELSE email END, \
            password_hash = COALESCE($4, password_hash), \
            is_superuser = COALESCE($5, is_superuser), \
            is_active = COALESCE($6, is_active), updated_at = $7 WHERE id = $1 RETURNING *";
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, User>(SQL)
                .bind(id)
                .bind(update.email.is_some())
                .bind(update.email.clone().flatten())
                .bind(&update.password_hash)
                .bind(update.is_superuser)
                .bind(update.is_active)
                .bind(Timestamp::now())
                .fetch_optional(pool)
                .await
        });
        found(row.map_err(map)?, "user")
    }

    /// Deletes a user with their roles and profile; their jobs, messages and audit entries stay
    /// with no actor.
    pub async fn delete_user(&self, id: UserId) -> Result<(), StoreError> {
        const SQL: &str = "DELETE FROM users WHERE id = $1";
        let done = on_pool!(self, |pool| sqlx::query(SQL).bind(id).execute(pool).await.map(|r| r.rows_affected()));
        found((done.map_err(map)? > 0).then_some(()), "user")
    }

    /// Grants a role. A second role on the same tenant is `Conflict(RolePerTenant)`, a second
    /// global role `Conflict(GlobalRole)`; an unknown user or tenant is `NotFound`.
    pub async fn grant_role(&self, new: &NewUserRole) -> Result<UserRole, StoreError> {
        const SQL: &str = "INSERT INTO user_roles (id, user_id, tenant_id, role, is_active, created_at) \
                           VALUES ($1, $2, $3, $4, TRUE, $5) RETURNING *";
        on_pool!(self, |pool| {
            sqlx::query_as::<_, UserRole>(SQL)
                .bind(RoleId::new())
                .bind(new.user_id)
                .bind(new.tenant_id)
                .bind(new.role)
                .bind(Timestamp::now())
                .fetch_one(pool)
                .await
        })
        .map_err(map)
    }

    /// A role by id.
    pub async fn get_role(&self, id: RoleId) -> Result<UserRole, StoreError> {
        const SQL: &str = "SELECT * FROM user_roles WHERE id = $1";
        let row = on_pool!(self, |pool| sqlx::query_as::<_, UserRole>(SQL).bind(id).fetch_optional(pool).await);
        found(row.map_err(map)?, "role")
    }

    /// Activates or deactivates a role without deleting it.
    pub async fn set_role_active(&self, id: RoleId, active: bool) -> Result<UserRole, StoreError> {
        const SQL: &str = "UPDATE user_roles SET is_active = $2 WHERE id = $1 RETURNING *";
        let row =
            on_pool!(self, |pool| sqlx::query_as::<_, UserRole>(SQL).bind(id).bind(active).fetch_optional(pool).await);
        found(row.map_err(map)?, "role")
    }

    /// Removes a role.
    pub async fn revoke_role(&self, id: RoleId) -> Result<(), StoreError> {
        const SQL: &str = "DELETE FROM user_roles WHERE id = $1";
        let done = on_pool!(self, |pool| sqlx::query(SQL).bind(id).execute(pool).await.map(|r| r.rows_affected()));
        found((done.map_err(map)? > 0).then_some(()), "role")
    }

    /// A user's roles (global first, then by creation).
    pub async fn list_user_roles(&self, user: UserId) -> Result<Vec<UserRole>, StoreError> {
        const SQL: &str = "SELECT * FROM user_roles WHERE user_id = $1 \
                           ORDER BY tenant_id IS NOT NULL, created_at, id";
        on_pool!(self, |pool| sqlx::query_as::<_, UserRole>(SQL).bind(user).fetch_all(pool).await).map_err(map)
    }

    /// Roles granted on one tenant (not global ones).
    pub async fn list_tenant_roles(&self, tenant: TenantId) -> Result<Vec<UserRole>, StoreError> {
        const SQL: &str = "SELECT * FROM user_roles WHERE tenant_id = $1 ORDER BY created_at, id";
        on_pool!(self, |pool| sqlx::query_as::<_, UserRole>(SQL).bind(tenant).fetch_all(pool).await).map_err(map)
    }

    /// A user's profile, if saved.
    pub async fn get_profile(&self, user: UserId) -> Result<Option<UserProfile>, StoreError> {
        const SQL: &str = "SELECT * FROM user_profiles WHERE user_id = $1";
        on_pool!(self, |pool| sqlx::query_as::<_, UserProfile>(SQL).bind(user).fetch_optional(pool).await).map_err(map)
    }

    /// Creates or replaces a user's profile.
    pub async fn put_profile(&self, profile: &UserProfile) -> Result<UserProfile, StoreError> {
        const SQL: &str = "INSERT INTO user_profiles (user_id, phone, timezone, language, updated_at) \
                           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET phone = excluded.phone, \
                           timezone = excluded.timezone, language = excluded.language, \
                           updated_at = excluded.updated_at RETURNING *";
        on_pool!(self, |pool| {
            sqlx::query_as::<_, UserProfile>(SQL)
                .bind(profile.user_id)
                .bind(&profile.phone)
                .bind(&profile.timezone)
                .bind(profile.language)
                .bind(Timestamp::now())
                .fetch_one(pool)
                .await
        })
        .map_err(map)
    }
}

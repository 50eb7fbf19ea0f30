//! Users and their roles: listing, creating, changing and deleting accounts; granting,
//! (de)activating and revoking roles. Who may do what is in [`crate::access`].

use std::collections::BTreeSet;

use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use serde_json::{Map, Value, json};
use synkro_core::{
    Page, PageRequest, ValidationError,
    domain::{NewUser, NewUserRole, User, UserRole, UserUpdate},
    ids::{RoleId, TenantId, UserId},
};
use uuid::Uuid;

use super::{
    Tag,
    auth::check_password,
    map_page,
    models::{CreateUser, GrantRole, RoleOut, TenantRoleOut, UpdateRole, UpdateUser, UserDetail, UserOut, UserPage},
    page_request,
};
use crate::{
    AppState,
    access::{self, Action, UserAccess, authorize, authorize_role, authorize_user},
    audit,
    auth::{Auth, Caller, password},
    body::JsonBody,
    error::{ApiError, ApiResult},
};
use synkro_core::domain::AuditAction;

#[derive(Default)]
pub struct UsersApi;

#[derive(ApiResponse)]
enum UserCreated {
    /// The new user.
    #[oai(status = 201)]
    Created(Json<UserDetail>),
}

#[derive(ApiResponse)]
enum Deleted {
    /// Gone.
    #[oai(status = 204)]
    Done,
}

#[derive(ApiResponse)]
enum RoleGranted {
    /// The new role.
    #[oai(status = 201)]
    Created(Json<RoleOut>),
}

/// The user behind `id` with their roles, when the caller has the `need`ed access to them.
async fn target(state: &AppState, caller: &Caller, id: Uuid, need: UserAccess) -> ApiResult<(User, Vec<UserRole>)> {
    let user = state.store().get_user(UserId::from_uuid(id)).await?;
    let roles = state.store().list_user_roles(user.id).await?;
    authorize_user(access::user_access(caller, &user, &roles), need)?;
    Ok((user, roles))
}

/// The roles of a user that the caller may see: all for whoever sees every tenant, else
/// those on tenants the caller has a role on.
fn visible_roles(caller: &Caller, roles: &[UserRole]) -> Vec<RoleOut> {
    let all = access::sees_all_tenants(caller);
    roles
        .iter()
        .filter(|r| all || r.tenant_id.is_some_and(|t| access::allowed(caller, t, Action::Read)))
        .map(RoleOut::from)
        .collect()
}

async fn detail(state: &AppState, caller: &Caller, user: &User, roles: &[UserRole]) -> ApiResult<UserDetail> {
    let profile = state.store().get_profile(user.id).await?;
    Ok(UserDetail { user: UserOut::from(user), roles: visible_roles(caller, roles), profile: profile.into() })
}

fn role_metadata(role: &UserRole, username: &str) -> Value {
    json!({
        "role_id": role.id.as_uuid(),
        "user_id": role.user_id.as_uuid(),
        "username": username,
        "tenant_id": role.tenant_id.map(|t| t.as_uuid()),
        "role": role.role.as_str(),
        "is_active": role.is_active,
    })
}

#[OpenApi(tag = "Tag::Users")]
impl UsersApi {
    /// Users the caller manages, newest first: every user for superusers and global
    /// `super_admin`s (paged); users with a role on the caller's tenants for a tenant's
    /// `super_admin` (one page). Others get 403.
    #[oai(path = "/users", method = "get")]
    async fn list_users(
        &self,
        state: Data<&AppState>,
        caller: Auth,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<UserPage>> {
        let page = page_request(limit.0, cursor.0)?;
        let users = list_users(&state, &caller.0, &page).await?;
        let (items, next_cursor) = map_page(users, |u| UserOut::from(&u));
        Ok(Json(UserPage { items, next_cursor }))
    }

    /// Create a user (superusers and `super_admin`s; only superusers create superusers). Grant a
    /// role next, or the user sees no tenant.
    #[oai(path = "/users", method = "post")]
    async fn create_user(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: Auth,
        body: JsonBody<CreateUser>,
    ) -> ApiResult<UserCreated> {
        let user = create_user(&state, req, &caller.0, body.0).await?;
        Ok(UserCreated::Created(Json(detail(&state, &caller.0, &user, &[]).await?)))
    }

    /// One user with the roles the caller may see and their profile.
    #[oai(path = "/users/:id", method = "get")]
    async fn get_user(&self, state: Data<&AppState>, caller: Auth, id: Path<Uuid>) -> ApiResult<Json<UserDetail>> {
        let (user, roles) = target(&state, &caller.0, id.0, UserAccess::Visible).await?;
        Ok(Json(detail(&state, &caller.0, &user, &roles).await?))
    }

    /// Change a user's e-mail, password, active flag or superuser flag. A new password or
    /// deactivation ends the user's sessions and revokes their API tokens. Nobody changes their
    /// own active or superuser flag.
    #[oai(path = "/users/:id", method = "patch")]
    async fn update_user(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: Auth,
        id: Path<Uuid>,
        body: JsonBody<UpdateUser>,
    ) -> ApiResult<Json<UserDetail>> {
        let (after, roles) = update_user(&state, req, &caller.0, UserId::from_uuid(id.0), body.0).await?;
        Ok(Json(detail(&state, &caller.0, &after, &roles).await?))
    }

    /// Delete a user with their roles, profile, sessions and tokens; their jobs, questions and
    /// audit entries stay without an actor. Nobody deletes themselves.
    #[oai(path = "/users/:id", method = "delete")]
    async fn delete_user(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Deleted> {
        delete_user(&state, req, &caller.0, UserId::from_uuid(id.0)).await?;
        Ok(Deleted::Done)
    }

    /// The roles granted on a tenant, with their holders' names (`super_admin` of the tenant).
    #[oai(path = "/tenants/:id/roles", method = "get")]
    async fn tenant_roles(
        &self,
        state: Data<&AppState>,
        caller: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<Vec<TenantRoleOut>>> {
        let tenant = TenantId::from_uuid(id.0);
        authorize(&caller.0, tenant, Action::ManageAccess, "tenant")?;
        let mut out = Vec::new();
        for role in state.store().list_tenant_roles(tenant).await? {
            let user = state.store().get_user(role.user_id).await?;
            out.push(TenantRoleOut { role: RoleOut::from(&role), username: user.username });
        }
        Ok(Json(out))
    }

    /// Grant a role on a tenant (`super_admin` of the tenant) or on every tenant (superusers and
    /// global `super_admin`s). A tenant's `super_admin` may grant only to people whose every
    /// role is on tenants they manage, or to accounts they created that hold no role yet (404
    /// for users they cannot see, 403 for those they only see). 409 when the user already has a
    /// role there.
    #[oai(path = "/roles", method = "post")]
    async fn grant_role(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: Auth,
        body: JsonBody<GrantRole>,
    ) -> ApiResult<RoleGranted> {
        let granted = grant_role(&state, req, &caller.0, body.0).await?;
        Ok(RoleGranted::Created(Json(RoleOut::from(&granted))))
    }

    /// Activate or deactivate a role without revoking it.
    #[oai(path = "/roles/:id", method = "patch")]
    async fn update_role(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: Auth,
        id: Path<Uuid>,
        body: JsonBody<UpdateRole>,
    ) -> ApiResult<Json<RoleOut>> {
        let updated = update_role(&state, req, &caller.0, RoleId::from_uuid(id.0), body.0.is_active).await?;
        Ok(Json(RoleOut::from(&updated)))
    }

    /// Revoke a role.
    #[oai(path = "/roles/:id", method = "delete")]
    async fn revoke_role(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Deleted> {
        revoke_role(&state, req, &caller.0, RoleId::from_uuid(id.0)).await?;
        Ok(Deleted::Done)
    }
}

/// Creates an account as `caller` asks (the API's and the dashboard's one path).
pub(crate) async fn create_user(state: &AppState, req: &Request, caller: &Caller, body: CreateUser) -> ApiResult<User> {
    if !access::manages_users(caller) {
        return Err(ApiError::Forbidden);
    }
    let CreateUser { username, password: pw, email, is_superuser, is_active } = body;
    if is_superuser && !caller.user.is_superuser {
        return Err(ApiError::Forbidden);
    }
    let mut new = NewUser::new(username.trim())?;
    if let Some(email) = email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        new = new.with_email(email)?;
    }
    new.is_superuser = is_superuser;
    new.is_active = is_active.unwrap_or(true);
    new.created_by = Some(caller.user.id);
    if let Some(pw) = pw {
        check_password("password", &pw)?;
        new.password_hash = Some(password::hash_async(pw).await?);
    }
    let user = state.store().create_user(&new).await?;
    let metadata = json!({
        "user_id": user.id.as_uuid(), "username": user.username, "email": user.email,
        "is_superuser": user.is_superuser, "is_active": user.is_active, "password_set": user.password_hash.is_some(),
    });
    audit::by(state, req, caller, AuditAction::UserCreate, format!("created user {}", user.username), None, metadata)
        .await;
    Ok(user)
}

/// Changes an account as `caller` asks; a new password or deactivation ends its sessions and
/// revokes its tokens.
pub(crate) async fn update_user(
    state: &AppState,
    req: &Request,
    caller: &Caller,
    id: UserId,
    body: UpdateUser,
) -> ApiResult<(User, Vec<UserRole>)> {
    let (user, roles) = target(state, caller, id.as_uuid(), UserAccess::Manage).await?;
    let UpdateUser { email, password: pw, is_superuser, is_active } = body;
    let own = user.id == caller.user.id;
    if is_superuser.is_some_and(|s| s != user.is_superuser) && !caller.user.is_superuser {
        return Err(ApiError::Forbidden);
    }
    if own && (is_superuser.is_some_and(|s| !s) || is_active.is_some_and(|a| !a)) {
        let field = if is_active == Some(false) { "is_active" } else { "is_superuser" };
        return Err(ValidationError::new(field, "you cannot lock yourself out; ask another administrator").into());
    }
    let mut update = UserUpdate { is_superuser, is_active, ..Default::default() };
    update.email = match email {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(e) if e.trim().is_empty() => Some(None),
        MaybeUndefined::Value(e) => Some(Some(e.trim().to_owned())),
    };
    let password_changed = pw.is_some();
    if let Some(pw) = pw {
        check_password("password", &pw)?;
        update.password_hash = Some(password::hash_async(pw).await?);
    }
    let after = state.store().update_user(user.id, &update).await?;
    let (mut sessions_ended, mut tokens_revoked) = (0, 0);
    if password_changed || !after.is_active {
        sessions_ended = state.store().revoke_user_sessions(after.id).await?;
        tokens_revoked = state.store().revoke_user_api_tokens(after.id).await?;
    }
    state.forget_user(after.id);
    let mut changes = Map::new();
    let mut diff = |field: &str, b: Value, a: Value| {
        if b != a {
            changes.insert(field.to_owned(), json!({ "before": b, "after": a }));
        }
    };
    diff("email", json!(user.email), json!(after.email));
    diff("is_superuser", json!(user.is_superuser), json!(after.is_superuser));
    diff("is_active", json!(user.is_active), json!(after.is_active));
    if password_changed {
        changes.insert("password".to_owned(), json!("changed"));
    }
    let metadata = json!({
        "user_id": after.id.as_uuid(), "username": after.username, "changes": changes,
        "sessions_ended": sessions_ended, "tokens_revoked": tokens_revoked,
    });
    audit::by(state, req, caller, AuditAction::UserUpdate, format!("changed user {}", after.username), None, metadata)
        .await;
    Ok((after, roles))
}

/// Deletes an account as `caller` asks (never their own).
pub(crate) async fn delete_user(state: &AppState, req: &Request, caller: &Caller, id: UserId) -> ApiResult<()> {
    let (user, _) = target(state, caller, id.as_uuid(), UserAccess::Manage).await?;
    if user.id == caller.user.id {
        return Err(ValidationError::new("id", "you cannot delete yourself; ask another administrator").into());
    }
    state.store().delete_user(user.id).await?;
    state.forget_user(user.id);
    let metadata = json!({ "user_id": user.id.as_uuid(), "username": user.username });
    audit::by(state, req, caller, AuditAction::UserDelete, format!("deleted user {}", user.username), None, metadata)
        .await;
    Ok(())
}

/// Grants a role as `caller` asks: on a tenant they manage, or globally for global admins.
pub(crate) async fn grant_role(
    state: &AppState,
    req: &Request,
    caller: &Caller,
    body: GrantRole,
) -> ApiResult<UserRole> {
    let GrantRole { user_id, tenant_id, role } = body;
    let tenant_id = tenant_id.map(TenantId::from_uuid);
    match tenant_id {
        Some(tenant) => authorize(caller, tenant, Action::ManageAccess, "tenant")?,
        None if access::is_global_admin(caller) => {}
        None => return Err(ApiError::Forbidden),
    }
    let user = if access::is_global_admin(caller) {
        state.store().get_user(UserId::from_uuid(user_id)).await?
    } else {
        target(state, caller, user_id, UserAccess::Manage).await?.0
    };
    let granted = state.store().grant_role(&NewUserRole { user_id: user.id, tenant_id, role: role.into() }).await?;
    state.forget_user(user.id);
    let scope = tenant_id.map_or_else(|| "every tenant".to_owned(), |t| format!("tenant {t}"));
    let message = format!("granted {} on {scope} to {}", granted.role, user.username);
    audit::by(state, req, caller, AuditAction::RoleGrant, message, tenant_id, role_metadata(&granted, &user.username))
        .await;
    Ok(granted)
}

/// (De)activates a role as `caller` asks.
pub(crate) async fn update_role(
    state: &AppState,
    req: &Request,
    caller: &Caller,
    id: RoleId,
    is_active: bool,
) -> ApiResult<UserRole> {
    let role = state.store().get_role(id).await?;
    authorize_role(caller, &role)?;
    let updated = state.store().set_role_active(role.id, is_active).await?;
    state.forget_user(updated.user_id);
    let user = state.store().get_user(updated.user_id).await?;
    let verb = if updated.is_active { "activated" } else { "deactivated" };
    let message = format!("{verb} the {} role of {}", updated.role, user.username);
    let mut metadata = role_metadata(&updated, &user.username);
    metadata["changes"] = json!({ "is_active": { "before": role.is_active, "after": updated.is_active } });
    audit::by(state, req, caller, AuditAction::RoleUpdate, message, updated.tenant_id, metadata).await;
    Ok(updated)
}

/// Revokes a role as `caller` asks.
pub(crate) async fn revoke_role(state: &AppState, req: &Request, caller: &Caller, id: RoleId) -> ApiResult<()> {
    let role = state.store().get_role(id).await?;
    authorize_role(caller, &role)?;
    state.store().revoke_role(role.id).await?;
    state.forget_user(role.user_id);
    let user = state.store().get_user(role.user_id).await?;
    let message = format!("revoked the {} role of {}", role.role, user.username);
    audit::by(
        state,
        req,
        caller,
        AuditAction::RoleRevoke,
        message,
        role.tenant_id,
        role_metadata(&role, &user.username),
    )
    .await;
    Ok(())
}

/// The accounts `caller` manages, newest first: everyone for global admins (paged), the people
/// holding a role on their tenants for a tenant's `super_admin` (one page).
pub(crate) async fn list_users(state: &AppState, caller: &Caller, page: &PageRequest) -> ApiResult<Page<User>> {
    let Some(tenants) = access::managed_tenants(caller) else {
        return Ok(state.store().list_users(page).await?);
    };
    if tenants.is_empty() {
        return Err(ApiError::Forbidden);
    }
    let mut ids = BTreeSet::new();
    for tenant in tenants {
        ids.extend(state.store().list_tenant_roles(tenant).await?.into_iter().map(|r| r.user_id));
    }
    let mut users = Vec::with_capacity(ids.len());
    for id in ids {
        users.push(state.store().get_user(id).await?);
    }
    users.sort_by_key(|u| std::cmp::Reverse((u.created_at, u.id.as_uuid())));
    Ok(Page { items: users, next_cursor: None })
}

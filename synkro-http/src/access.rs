//! DESIGN.md section 4's access rules, in one place. Every endpoint asks [`authorize`].
//!
//! Roles are ranked: `super_admin` includes `admin_lite`, which includes `user`. A role applies
//! to its tenant, or to every tenant when granted globally; a superuser may do everything.
//! A caller with no role on a tenant gets 404 for its objects, exactly like a missing one.

use std::collections::BTreeSet;

use synkro_core::{
    domain::{Role, User, UserRole},
    ids::TenantId,
};

use crate::{auth::Caller, error::ApiError};

/// What a caller wants to do on a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See the tenant, its reports and jobs (any active role).
    Read,
    /// Start and stop manual report jobs, ask follow-ups (`user` and above).
    UseReports,
    /// Open and change the tenant's settings: integrations, runtime config, checks
    /// (`admin_lite` and above).
    ManageSettings,
    /// Manage the tenant's users and roles (`super_admin`).
    ManageAccess,
}

fn rank(role: Role) -> u8 {
    match role {
        Role::User => 1,
        Role::AdminLite => 2,
        Role::SuperAdmin => 3,
    }
}

fn needed(action: Action) -> u8 {
    match action {
        Action::Read | Action::UseReports => 1,
        Action::ManageSettings => 2,
        Action::ManageAccess => 3,
    }
}

/// The caller's strongest active role on `tenant` (tenant or global), if any.
pub fn role_on(caller: &Caller, tenant: TenantId) -> Option<Role> {
    caller
        .roles
        .iter()
        .filter(|r| r.is_active && (r.tenant_id.is_none() || r.tenant_id == Some(tenant)))
        .map(|r| r.role)
        .max_by_key(|r| rank(*r))
}

/// Whether the caller sees every tenant (superuser or a global role).
pub fn sees_all_tenants(caller: &Caller) -> bool {
    caller.user.is_superuser || caller.roles.iter().any(|r| r.is_active && r.tenant_id.is_none())
}

/// Whether `caller` may do `action` on `tenant`.
pub fn allowed(caller: &Caller, tenant: TenantId, action: Action) -> bool {
    caller.user.is_superuser || role_on(caller, tenant).is_some_and(|role| rank(role) >= needed(action))
}

/// `Ok` when allowed; 404 naming `entity` when the caller cannot even see the tenant; 403 when
/// they can see it but their role is too weak.
pub fn authorize(caller: &Caller, tenant: TenantId, action: Action, entity: &'static str) -> Result<(), ApiError> {
    if allowed(caller, tenant, action) {
        Ok(())
    } else if allowed(caller, tenant, Action::Read) {
        Err(ApiError::Forbidden)
    } else {
        Err(ApiError::NotFound(entity))
    }
}

/// Whether the caller administers every tenant, its users and roles: a superuser or an active
/// global `super_admin`.
pub fn is_global_admin(caller: &Caller) -> bool {
    caller.user.is_superuser
        || caller.roles.iter().any(|r| r.is_active && r.tenant_id.is_none() && r.role == Role::SuperAdmin)
}

/// The tenants the caller sees: every tenant (a page of `page`) for superusers and holders of a
/// global role, else the tenants they hold a role on (one page, newest first).
pub async fn visible_tenants(
    state: &crate::AppState,
    caller: &Caller,
    page: &synkro_core::PageRequest,
) -> Result<synkro_core::Page<synkro_core::domain::Tenant>, ApiError> {
    if sees_all_tenants(caller) {
        return Ok(state.store().list_tenants(page).await?);
    }
    let ids: BTreeSet<TenantId> = caller.roles.iter().filter_map(|r| r.tenant_id).collect();
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        items.push(state.tenant(id).await?);
    }
    items.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id.as_uuid())));
    Ok(synkro_core::Page { items, next_cursor: None })
}

/// The tenants `caller` may do `action` on, by name (the first 200 a page lists).
pub async fn tenants_for(
    state: &crate::AppState,
    caller: &Caller,
    action: Action,
) -> Result<Vec<synkro_core::domain::Tenant>, ApiError> {
    let mut tenants = visible_tenants(state, caller, &synkro_core::PageRequest::first(200)?).await?.items;
    tenants.retain(|t| allowed(caller, t.id, action));
    tenants.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(tenants)
}

/// The tenants whose users and roles the caller manages; `None` means every tenant.
pub fn managed_tenants(caller: &Caller) -> Option<BTreeSet<TenantId>> {
    if is_global_admin(caller) {
        return None;
    }
    Some(
        caller.roles.iter().filter(|r| r.is_active && r.role == Role::SuperAdmin).filter_map(|r| r.tenant_id).collect(),
    )
}

/// Whether the caller may create users and see a user list: superusers and every `super_admin`.
pub fn manages_users(caller: &Caller) -> bool {
    managed_tenants(caller).is_none_or(|set| !set.is_empty())
}

/// What the caller may do with a user account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UserAccess {
    /// Not even see it (answers 404).
    Hidden,
    /// See it (themselves, or a user with a role on a tenant they manage).
    Visible,
    /// Change, deactivate, delete it and set its password.
    Manage,
}

/// A superuser manages everyone; a global `super_admin` everyone but superusers; a tenant
/// `super_admin` sees users holding a role on a tenant they manage and manages those whose every
/// role is on such tenants (not superusers, not holders of a global role), and the accounts they
/// created themselves while those hold no role, so nobody can take over an account that has
/// more access than they do, or one that belongs to nobody. Everyone sees themselves.
pub fn user_access(caller: &Caller, target: &User, target_roles: &[UserRole]) -> UserAccess {
    let own = if caller.user.id == target.id { UserAccess::Visible } else { UserAccess::Hidden };
    let admin = if caller.user.is_superuser {
        UserAccess::Manage
    } else {
        match managed_tenants(caller) {
            None if target.is_superuser => UserAccess::Visible,
            None => UserAccess::Manage,
            Some(set) => {
                let on_managed = |r: &UserRole| r.tenant_id.is_some_and(|t| set.contains(&t));
                let own_new_account = target_roles.is_empty() && target.created_by == Some(caller.user.id);
                if own_new_account && !target.is_superuser {
                    UserAccess::Manage
                } else if !target_roles.iter().any(on_managed) {
                    UserAccess::Hidden
                } else if !target.is_superuser && target_roles.iter().all(on_managed) {
                    UserAccess::Manage
                } else {
                    UserAccess::Visible
                }
            }
        }
    };
    own.max(admin)
}

/// `Ok` when `access` reaches `need`; 404 when the user is hidden, 403 when only visible.
pub fn authorize_user(access: UserAccess, need: UserAccess) -> Result<(), ApiError> {
    match access {
        a if a >= need => Ok(()),
        UserAccess::Hidden => Err(ApiError::NotFound("user")),
        _ => Err(ApiError::Forbidden),
    }
}

/// `Ok` when the caller may change or revoke `role`: on a tenant, `super_admin` there; a
/// global role, a global admin. Roles the caller cannot see answer 404.
pub fn authorize_role(caller: &Caller, role: &UserRole) -> Result<(), ApiError> {
    match role.tenant_id {
        Some(tenant) => authorize(caller, tenant, Action::ManageAccess, "role"),
        None if is_global_admin(caller) => Ok(()),
        None if sees_all_tenants(caller) => Err(ApiError::Forbidden),
        None => Err(ApiError::NotFound("role")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use synkro_core::{
        domain::{User, UserRole},
        ids::{RoleId, UserId},
        store::Session,
        time::Timestamp,
    };

    use super::*;

    fn caller(superuser: bool, roles: &[(Option<TenantId>, Role, bool)]) -> Caller {
        let now = Timestamp::now();
        let id = UserId::new();
        let user = User {
            id,
            username: "u".into(),
            password_hash: None,
            email: None,
            is_superuser: superuser,
            is_active: true,
            created_at: now,
            updated_at: now,
            created_by: None,
            is_temporary: false,
        };
        let roles = roles
            .iter()
            .map(|(tenant_id, role, is_active)| UserRole {
                id: RoleId::new(),
                user_id: id,
                tenant_id: *tenant_id,
                role: *role,
                is_active: *is_active,
                created_at: now,
            })
            .collect();
        let session = Session {
            id: String::new(),
            user_id: id,
            csrf_token: String::new(),
            created_at: now,
            expires_at: now,
            revoked_at: None,
            ip: None,
        };
        Caller { user, roles, credential: crate::auth::Credential::Session(session) }
    }

    #[test]
    fn the_matrix() {
        use Action::*;
        let t = TenantId::new();
        let other = TenantId::new();
        let all = [Read, UseReports, ManageSettings, ManageAccess];
        let cases: Vec<(&str, Caller, [bool; 4])> = vec![
            ("superuser", caller(true, &[]), [true; 4]),
            ("global super_admin", caller(false, &[(None, Role::SuperAdmin, true)]), [true; 4]),
            ("tenant super_admin", caller(false, &[(Some(t), Role::SuperAdmin, true)]), [true; 4]),
            ("admin_lite", caller(false, &[(Some(t), Role::AdminLite, true)]), [true, true, true, false]),
            ("user", caller(false, &[(Some(t), Role::User, true)]), [true, true, false, false]),
            ("global user", caller(false, &[(None, Role::User, true)]), [true, true, false, false]),
            ("inactive role", caller(false, &[(Some(t), Role::SuperAdmin, false)]), [false; 4]),
            ("other tenant's admin", caller(false, &[(Some(other), Role::SuperAdmin, true)]), [false; 4]),
            ("no role", caller(false, &[]), [false; 4]),
        ];
        for (name, c, expected) in cases {
            for (action, want) in all.iter().zip(expected) {
                assert_eq!(allowed(&c, t, *action), want, "{name} {action:?}");
            }
        }
        let user = caller(false, &[(Some(t), Role::User, true)]);
        assert!(matches!(authorize(&user, t, ManageSettings, "tenant"), Err(ApiError::Forbidden)));
        assert!(matches!(authorize(&user, other, Read, "report"), Err(ApiError::NotFound("report"))));
    }

    #[test]
    fn user_accounts_are_managed_only_by_those_with_at_least_their_access() {
        use UserAccess::*;
        let (t, other) = (TenantId::new(), TenantId::new());
        let target = |superuser: bool, roles: &[(Option<TenantId>, Role, bool)]| caller(superuser, roles);
        let on_t = target(false, &[(Some(t), Role::User, true)]);
        let on_both = target(false, &[(Some(t), Role::User, true), (Some(other), Role::SuperAdmin, true)]);
        let global = target(false, &[(None, Role::User, true)]);
        let root = target(true, &[]);
        let elsewhere = target(false, &[(Some(other), Role::User, true)]);
        let access = |who: &Caller, whom: &Caller| user_access(who, &whom.user, &whom.roles);

        let superuser = caller(true, &[]);
        let gadmin = caller(false, &[(None, Role::SuperAdmin, true)]);
        let tadmin = caller(false, &[(Some(t), Role::SuperAdmin, true)]);
        let lite = caller(false, &[(Some(t), Role::AdminLite, true)]);
        let plain = caller(false, &[(Some(t), Role::User, true)]);
        for (who, expected) in [
            ("superuser", [Manage, Manage, Manage, Manage, Manage]),
            ("gadmin", [Manage, Manage, Manage, Visible, Manage]),
            ("tadmin", [Manage, Visible, Hidden, Hidden, Hidden]),
            ("lite", [Hidden, Hidden, Hidden, Hidden, Hidden]),
            ("plain", [Hidden, Hidden, Hidden, Hidden, Hidden]),
        ] {
            let c = match who {
                "superuser" => &superuser,
                "gadmin" => &gadmin,
                "tadmin" => &tadmin,
                "lite" => &lite,
                _ => &plain,
            };
            let got =
                [access(c, &on_t), access(c, &on_both), access(c, &global), access(c, &root), access(c, &elsewhere)];
            assert_eq!(got, expected, "{who}");
        }
        assert_eq!(access(&plain, &plain), Visible, "everyone sees themselves");
        assert_eq!(access(&tadmin, &tadmin), Manage, "a tenant admin whose roles are all on managed tenants");
        assert!(manages_users(&tadmin) && manages_users(&gadmin) && !manages_users(&lite) && !manages_users(&plain));
        assert!(matches!(authorize_user(Visible, Manage), Err(ApiError::Forbidden)));
        assert!(matches!(authorize_user(Hidden, Visible), Err(ApiError::NotFound("user"))));
    }
}

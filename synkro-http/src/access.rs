//! DESIGN.md section 4's access rules, in one place. Every endpoint asks [`authorize`].
//!
//! Roles are ranked: `super_admin` includes `admin_lite`, which includes `user`. A role applies
//! to its tenant, or to every tenant when granted globally; a superuser may do everything.
//! A caller with no role on a tenant gets 404 for its objects, exactly like a missing one.

use synkro_core::{domain::Role, ids::TenantId};

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
        Caller { user, roles, session }
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
}

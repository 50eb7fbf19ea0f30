//! Administration (superusers and `super_admin`s): tenants (create, pause, disable, delete with
//! confirmation; global admins), users (create, deactivate, reset password), roles (grant,
//! revoke), and the audit log with filters and paging. Every change goes through the API's own
//! functions, so the access rules and audit entries are the API's.

use askama::Template;
use poem::{
    Request, Response, handler,
    http::StatusCode,
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;
use synkro_core::{
    PageRequest, ValidationError,
    domain::{AuditFilter, Role, TenantStatus},
    ids::{RoleId, TenantId, UserId},
    store::Cursor,
    time::{TimeZoneName, Timestamp},
};
use uuid::Uuid;

use super::{
    CsrfForm, Frame, PageResult, Section, Ui, Visit, either, form_visit, id_in, page, refusal, see_other, status_word,
    visit,
};
use crate::{
    AppState, access,
    api::{
        audit::list_audit,
        models::{CreateTenant, CreateUser, GrantRole, RoleName, TenantStatusName, UpdateTenant, UpdateUser},
        tenants::{create_tenant, delete_tenant, update_tenant},
        users::{create_user, grant_role, list_users, revoke_role, update_user},
    },
    error::ApiError,
};

/// Audit entries per page.
const AUDIT_PAGE: u32 = 50;

struct TenantRow {
    id: String,
    name: String,
    slug: String,
    timezone: String,
    statuses: Vec<(&'static str, &'static str, bool)>,
}

struct RoleRow {
    id: String,
    role: &'static str,
    scope: String,
    active: bool,
}

struct UserRow {
    id: String,
    username: String,
    email: String,
    active: bool,
    superuser: bool,
    myself: bool,
    roles: Vec<RoleRow>,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    t: &'static Ui,
    f: Frame,
    global: bool,
    superuser: bool,
    tenants: Vec<TenantRow>,
    users: Vec<UserRow>,
    /// Tenants a role may be granted on: `(id, name)`.
    grant_tenants: Vec<(String, String)>,
    roles: Vec<(&'static str, &'static str)>,
    message: Option<String>,
    done: bool,
}

fn role_word(t: &Ui, role: Role) -> &'static str {
    match role {
        Role::SuperAdmin => t.role_super_admin,
        Role::AdminLite => t.role_admin_lite,
        Role::User => t.role_user,
    }
}

/// The administration page, or "not found" for those who administer nothing.
async fn render(state: &AppState, v: &Visit, status: StatusCode, message: Option<String>, done: bool) -> PageResult {
    let t = v.t;
    if !access::manages_users(&v.caller) {
        return Err(v.error(ApiError::NotFound("page")));
    }
    let global = access::is_global_admin(&v.caller);
    let loaded = async {
        let tenants = access::tenants_for(state, &v.caller, access::Action::ManageAccess).await?;
        let users = list_users(state, &v.caller, &PageRequest::first(200)?).await?.items;
        let mut rows = Vec::with_capacity(users.len());
        for user in users {
            let roles = state.store().list_user_roles(user.id).await?;
            let roles = roles
                .into_iter()
                .filter(|r| r.tenant_id.map_or(global, |x| access::allowed(&v.caller, x, access::Action::ManageAccess)))
                .map(|r| RoleRow {
                    id: r.id.as_uuid().to_string(),
                    role: role_word(t, r.role),
                    scope: match r.tenant_id {
                        Some(x) => tenants.iter().find(|y| y.id == x).map_or_else(|| x.to_string(), |y| y.name.clone()),
                        None => t.every_tenant.to_owned(),
                    },
                    active: r.is_active,
                })
                .collect();
            rows.push(UserRow {
                id: user.id.as_uuid().to_string(),
                myself: user.id == v.caller.user.id,
                username: user.username,
                email: user.email.unwrap_or_default(),
                active: user.is_active,
                superuser: user.is_superuser,
                roles,
            });
        }
        Ok::<_, ApiError>((tenants, rows))
    };
    let (tenants, users) = loaded.await.map_err(|e| v.error(e))?;
    let statuses = |current: TenantStatus| {
        [TenantStatus::Active, TenantStatus::Paused, TenantStatus::Disabled]
            .into_iter()
            .map(|s| (s.as_str(), status_word(t, s), s == current))
            .collect()
    };
    let rendered = AdminPage {
        t,
        f: v.frame(Section::Admin),
        global,
        superuser: v.caller.user.is_superuser,
        grant_tenants: tenants.iter().map(|x| (x.id.as_uuid().to_string(), x.name.clone())).collect(),
        tenants: tenants
            .into_iter()
            .map(|x| TenantRow {
                id: x.id.as_uuid().to_string(),
                slug: x.slug.as_str().to_owned(),
                timezone: x.timezone.as_str().to_owned(),
                statuses: statuses(x.status),
                name: x.name,
            })
            .collect(),
        users,
        roles: [Role::User, Role::AdminLite, Role::SuperAdmin]
            .into_iter()
            .map(|r| (r.as_str(), role_word(t, r)))
            .collect(),
        message,
        done,
    }
    .render();
    Ok(page(status, rendered))
}

/// After a change: back to the page, or the page again with why it was refused.
async fn after<T>(state: &AppState, v: &Visit, done: Result<T, ApiError>) -> PageResult {
    match done {
        Ok(_) => Ok(see_other("/admin?done=1")),
        Err(e @ ApiError::NotFound(_)) => Err(v.error(e)),
        Err(e) => render(state, v, poem::error::ResponseError::status(&e), Some(refusal(v.t, &e)), false).await,
    }
}

#[derive(Deserialize)]
pub(super) struct Done {
    done: Option<String>,
}

#[handler]
pub(super) async fn admin_page(state: Data<&AppState>, req: &Request, query: Query<Done>) -> Response {
    either(
        async {
            let v = visit(&state, req).await?;
            render(&state, &v, StatusCode::OK, None, query.0.done.is_some()).await
        }
        .await,
    )
}

#[derive(Deserialize)]
pub(super) struct NewTenantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    timezone: String,
}

#[handler]
pub(super) async fn new_tenant(state: Data<&AppState>, req: &Request, form: Form<NewTenantForm>) -> Response {
    either(
        async {
            let f = form.0;
            let v = form_visit(&state, req, &f.csrf).await?;
            let timezone = Some(f.timezone.trim().to_owned()).filter(|z| !z.is_empty());
            let body =
                CreateTenant { name: f.name.trim().to_owned(), slug: f.slug.trim().to_owned(), timezone, status: None };
            after(&state, &v, create_tenant(&state, req, &v.caller, body).await).await
        }
        .await,
    )
}

#[derive(Deserialize)]
pub(super) struct TenantStatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
}

#[handler]
pub(super) async fn set_tenant_status(
    state: Data<&AppState>,
    req: &Request,
    id: Path<Uuid>,
    form: Form<TenantStatusForm>,
) -> Response {
    either(
        async {
            let v = form_visit(&state, req, &form.0.csrf).await?;
            let status = match form.0.status.as_str() {
                "active" => TenantStatusName::Active,
                "paused" => TenantStatusName::Paused,
                "disabled" => TenantStatusName::Disabled,
                _ => {
                    return after(&state, &v, Err::<(), _>(ValidationError::new("status", v.t.bad_choice).into()))
                        .await;
                }
            };
            let body = UpdateTenant { name: None, status: Some(status), timezone: None };
            after(&state, &v, update_tenant(&state, req, &v.caller, TenantId::from_uuid(id.0), body).await).await
        }
        .await,
    )
}

#[derive(Template)]
#[template(path = "confirm_delete.html")]
struct ConfirmDelete {
    t: &'static Ui,
    f: Frame,
    id: String,
    name: String,
    slug: String,
    wrong: bool,
}

async fn confirm_page(state: &AppState, v: &Visit, id: TenantId, wrong: bool) -> PageResult {
    if !access::is_global_admin(&v.caller) {
        return Err(v.error(ApiError::NotFound("tenant")));
    }
    let tenant = state.store().get_tenant(id).await.map_err(|e| v.error(e.into()))?;
    let status = if wrong { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let rendered = ConfirmDelete {
        t: v.t,
        f: v.frame(Section::Admin),
        id: tenant.id.as_uuid().to_string(),
        name: tenant.name,
        slug: tenant.slug.as_str().to_owned(),
        wrong,
    }
    .render();
    Ok(page(status, rendered))
}

#[handler]
pub(super) async fn confirm_delete(state: Data<&AppState>, req: &Request, id: Path<Uuid>) -> Response {
    either(
        async {
            let v = visit(&state, req).await?;
            confirm_page(&state, &v, TenantId::from_uuid(id.0), false).await
        }
        .await,
    )
}

#[derive(Deserialize)]
pub(super) struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

#[handler]
pub(super) async fn delete(state: Data<&AppState>, req: &Request, id: Path<Uuid>, form: Form<DeleteForm>) -> Response {
    either(
        async {
            let v = form_visit(&state, req, &form.0.csrf).await?;
            let id = TenantId::from_uuid(id.0);
            let tenant = state.store().get_tenant(id).await.map_err(|e| v.error(e.into()))?;
            if !access::is_global_admin(&v.caller) {
                return Err(v.error(ApiError::NotFound("tenant")));
            }
            if form.0.confirm.trim() != tenant.slug.as_str() {
                return confirm_page(&state, &v, id, true).await;
            }
            after(&state, &v, delete_tenant(&state, req, &v.caller, id).await).await
        }
        .await,
    )
}

#[derive(Deserialize)]
pub(super) struct NewUserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    superuser: Option<String>,
}

#[handler]
pub(super) async fn new_user(state: Data<&AppState>, req: &Request, form: Form<NewUserForm>) -> Response {
    either(
        async {
            let f = form.0;
            let v = form_visit(&state, req, &f.csrf).await?;
            let body = CreateUser {
                username: f.username,
                password: Some(f.password).filter(|p| !p.is_empty()),
                email: Some(f.email).filter(|e| !e.trim().is_empty()),
                is_superuser: f.superuser.is_some(),
                is_active: Some(true),
            };
            after(&state, &v, create_user(&state, req, &v.caller, body).await).await
        }
        .await,
    )
}

#[derive(Deserialize)]
pub(super) struct UserForm {
    #[serde(default)]
    csrf: String,
    /// `activate`, `deactivate` or `password`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    password: String,
}

#[handler]
pub(super) async fn change_user(
    state: Data<&AppState>,
    req: &Request,
    id: Path<Uuid>,
    form: Form<UserForm>,
) -> Response {
    either(
        async {
            let f = form.0;
            let v = form_visit(&state, req, &f.csrf).await?;
            let mut body = UpdateUser {
                email: poem_openapi::types::MaybeUndefined::Undefined,
                password: None,
                is_superuser: None,
                is_active: None,
            };
            match f.action.as_str() {
                "activate" => body.is_active = Some(true),
                "deactivate" => body.is_active = Some(false),
                "password" => body.password = Some(f.password),
                _ => {
                    return after(&state, &v, Err::<(), _>(ValidationError::new("action", v.t.bad_choice).into()))
                        .await;
                }
            }
            after(&state, &v, update_user(&state, req, &v.caller, UserId::from_uuid(id.0), body).await).await
        }
        .await,
    )
}

#[derive(Deserialize)]
pub(super) struct GrantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    role: String,
}

#[handler]
pub(super) async fn grant(state: Data<&AppState>, req: &Request, form: Form<GrantForm>) -> Response {
    either(
        async {
            let f = form.0;
            let v = form_visit(&state, req, &f.csrf).await?;
            let granted = async {
                let user_id =
                    id_in(v.t, "user", Some(&f.user))?.ok_or_else(|| ValidationError::new("user", v.t.bad_choice))?;
                let tenant_id = match f.tenant.as_str() {
                    "" => None,
                    id => Some(id.parse::<Uuid>().map_err(|_| ValidationError::new("tenant", v.t.bad_choice))?),
                };
                let role = match f.role.as_str() {
                    "super_admin" => RoleName::SuperAdmin,
                    "admin_lite" => RoleName::AdminLite,
                    "user" => RoleName::User,
                    _ => return Err(ValidationError::new("role", v.t.bad_choice).into()),
                };
                grant_role(&state, req, &v.caller, GrantRole { user_id, tenant_id, role }).await
            };
            after(&state, &v, granted.await).await
        }
        .await,
    )
}

#[handler]
pub(super) async fn revoke(state: Data<&AppState>, req: &Request, id: Path<Uuid>, form: Form<CsrfForm>) -> Response {
    either(
        async {
            let v = form_visit(&state, req, &form.0.csrf).await?;
            after(&state, &v, revoke_role(&state, req, &v.caller, RoleId::from_uuid(id.0)).await).await
        }
        .await,
    )
}

/// One audit entry as the viewer shows it.
struct AuditRow {
    at: String,
    action: String,
    message: String,
    actor: String,
    tenant: String,
    ip: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    t: &'static Ui,
    f: Frame,
    rows: Vec<AuditRow>,
    tenants: Vec<(String, String, bool)>,
    actors: Vec<(String, String, bool)>,
    global: bool,
    action: String,
    from: String,
    to: String,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct AuditQuery {
    tenant: Option<String>,
    action: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
}

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

#[handler]
pub(super) async fn audit_page(state: Data<&AppState>, req: &Request, query: Query<AuditQuery>) -> Response {
    either(
        async {
            let v = visit(&state, req).await?;
            if !access::manages_users(&v.caller) {
                return Err(v.error(ApiError::NotFound("page")));
            }
            let q = query.0;
            let global = access::is_global_admin(&v.caller);
            let utc = TimeZoneName::utc();
            let zone = v.timezone.as_ref().unwrap_or(&utc);
            let loaded = async {
                let tenants = access::tenants_for(&state, &v.caller, access::Action::ManageAccess).await?;
                let tenant_id = id_in(v.t, "tenant", q.tenant.as_deref())?.map(TenantId::from_uuid);
                // A tenant's own super_admin reads their tenant's entries: the first one by default.
                let tenant_id = tenant_id.or_else(|| if global { None } else { tenants.first().map(|x| x.id) });
                let time = |field: &'static str, v: Option<&str>| v.map(|s| zone.parse_time(field, s)).transpose();
                let filter = AuditFilter {
                    tenant_id,
                    action: blank(&q.action).map(str::to_owned),
                    actor_id: id_in(v.t, "actor", q.actor.as_deref())?.map(UserId::from_uuid),
                    from: time("from", blank(&q.from))?,
                    to: time("to", blank(&q.to))?,
                };
                let page = match blank(&q.cursor) {
                    Some(c) => PageRequest::after(AUDIT_PAGE, Cursor::parse(c)?)?,
                    None => PageRequest::first(AUDIT_PAGE)?,
                };
                let entries = list_audit(&state, &v.caller, filter.clone(), &page).await?;
                let users = list_users(&state, &v.caller, &PageRequest::first(200)?).await?.items;
                Ok::<_, ApiError>((tenants, users, filter, entries))
            };
            let (tenants, users, filter, entries) = loaded.await.map_err(|e| v.error(e))?;
            let name_of_user = |id: Option<UserId>| match id {
                None => "—".to_owned(),
                Some(id) => users.iter().find(|u| u.id == id).map_or_else(|| id.to_string(), |u| u.username.clone()),
            };
            let name_of_tenant = |id: Option<TenantId>| match id {
                None => "—".to_owned(),
                Some(id) => tenants.iter().find(|x| x.id == id).map_or_else(|| id.to_string(), |x| x.name.clone()),
            };
            let rows = entries
                .items
                .iter()
                .map(|e| AuditRow {
                    at: v.time(e.created_at, zone),
                    action: e.action.clone(),
                    message: e.message.clone(),
                    actor: name_of_user(e.actor_id),
                    tenant: name_of_tenant(e.tenant_id),
                    ip: e.ip_address.clone().unwrap_or_default(),
                })
                .collect();
            let keep = |name: &str, value: &Option<String>| {
                blank(value).map(|v| format!("&{name}={}", super::reports::urlencode(v))).unwrap_or_default()
            };
            let next = entries.next_cursor.map(|c| {
                format!(
                    "/admin/audit?cursor={}{}{}{}{}{}",
                    super::reports::urlencode(&c.to_string()),
                    keep("tenant", &q.tenant),
                    keep("action", &q.action),
                    keep("actor", &q.actor),
                    keep("from", &q.from),
                    keep("to", &q.to)
                )
            });
            let shown = |at: Option<Timestamp>| at.map(|at| zone.format(at, "%Y-%m-%dT%H:%M")).unwrap_or_default();
            let rendered = AuditPage {
                t: v.t,
                f: v.frame(Section::Admin),
                tenants: tenants
                    .iter()
                    .map(|x| (x.id.as_uuid().to_string(), x.name.clone(), filter.tenant_id == Some(x.id)))
                    .collect(),
                actors: users
                    .iter()
                    .map(|u| (u.id.as_uuid().to_string(), u.username.clone(), filter.actor_id == Some(u.id)))
                    .collect(),
                global,
                action: filter.action.clone().unwrap_or_default(),
                from: shown(filter.from),
                to: shown(filter.to),
                rows,
                next,
            }
            .render();
            Ok(page(StatusCode::OK, rendered))
        }
        .await,
    )
}

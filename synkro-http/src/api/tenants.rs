//! Tenants: list, read, create, change, delete.

use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use serde_json::{Map, Value, json};
use synkro_core::{
    domain::{NewTenant, Tenant, TenantUpdate},
    ids::TenantId,
    time::TimeZoneName,
};
use uuid::Uuid;

use super::{
    Tag, map_page,
    models::{CreateTenant, TenantOut, TenantPage, UpdateTenant},
    page_request,
};
use crate::{
    AppState,
    access::{self, Action, authorize},
    audit,
    auth::{Auth, Caller},
    body::JsonBody,
    error::{ApiError, ApiResult},
};
use synkro_core::domain::AuditAction;

#[derive(Default)]
pub struct TenantsApi;

#[derive(ApiResponse)]
enum Created {
    /// The new tenant.
    #[oai(status = 201)]
    Created(Json<TenantOut>),
}

#[derive(ApiResponse)]
enum Deleted {
    /// The tenant and everything it owned are gone; its audit entries stay.
    #[oai(status = 204)]
    Done,
}

#[OpenApi(tag = "Tag::Tenants")]
impl TenantsApi {
    /// The tenants the caller can see, newest first.
    ///
    /// Superusers and holders of a global role see every tenant (paged); others see the tenants
    /// they hold a role on (one page).
    #[oai(path = "/tenants", method = "get")]
    async fn list_tenants(
        &self,
        state: Data<&AppState>,
        caller: Auth,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<TenantPage>> {
        let page = page_request(limit.0, cursor.0)?;
        let tenants = access::visible_tenants(&state, &caller.0, &page).await?;
        let (items, next_cursor) = map_page(tenants, TenantOut::from);
        Ok(Json(TenantPage { items, next_cursor }))
    }

    /// One tenant.
    #[oai(path = "/tenants/:id", method = "get")]
    async fn get_tenant(&self, state: Data<&AppState>, caller: Auth, id: Path<Uuid>) -> ApiResult<Json<TenantOut>> {
        let id = TenantId::from_uuid(id.0);
        authorize(&caller.0, id, Action::Read, "tenant")?;
        Ok(Json(state.store().get_tenant(id).await?.into()))
    }

    /// Create a tenant (superusers and global `super_admin`s). 409 when the slug is taken.
    #[oai(path = "/tenants", method = "post")]
    async fn create_tenant(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: Auth,
        body: JsonBody<CreateTenant>,
    ) -> ApiResult<Created> {
        let tenant = create_tenant(&state, req, &caller.0, body.0).await?;
        Ok(Created::Created(Json(tenant.into())))
    }

    /// Change a tenant's name, status or time zone (`super_admin` of the tenant).
    #[oai(path = "/tenants/:id", method = "patch")]
    async fn update_tenant(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: Auth,
        id: Path<Uuid>,
        body: JsonBody<UpdateTenant>,
    ) -> ApiResult<Json<TenantOut>> {
        let after = update_tenant(&state, req, &caller.0, TenantId::from_uuid(id.0), body.0).await?;
        Ok(Json(after.into()))
    }

    /// Delete a tenant with its integrations, jobs, reports and roles (superusers and global
    /// `super_admin`s). Its audit entries stay.
    #[oai(path = "/tenants/:id", method = "delete")]
    async fn delete_tenant(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Deleted> {
        delete_tenant(&state, req, &caller.0, TenantId::from_uuid(id.0)).await?;
        Ok(Deleted::Done)
    }
}

/// Creates a tenant as `caller` (a global admin) asks.
pub(crate) async fn create_tenant(
    state: &AppState,
    req: &Request,
    caller: &Caller,
    body: CreateTenant,
) -> ApiResult<Tenant> {
    if !access::is_global_admin(caller) {
        return Err(ApiError::Forbidden);
    }
    let CreateTenant { name, slug, timezone, status } = body;
    let mut new = NewTenant::new(&name, &slug, timezone.as_deref().unwrap_or("UTC"))?;
    if let Some(status) = status {
        new.status = status.into();
    }
    let tenant = state.store().create_tenant(&new).await?;
    let metadata = json!({ "slug": tenant.slug.as_str(), "name": tenant.name, "timezone": tenant.timezone.as_str() });
    let message = format!("created tenant {}", tenant.slug);
    audit::by(state, req, caller, AuditAction::TenantCreate, message, Some(tenant.id), metadata).await;
    Ok(tenant)
}

/// Changes a tenant's name, status or time zone as `caller` asks.
pub(crate) async fn update_tenant(
    state: &AppState,
    req: &Request,
    caller: &Caller,
    id: TenantId,
    body: UpdateTenant,
) -> ApiResult<Tenant> {
    authorize(caller, id, Action::ManageAccess, "tenant")?;
    let UpdateTenant { name, status, timezone } = body;
    let update = TenantUpdate {
        name,
        status: status.map(Into::into),
        timezone: timezone.as_deref().map(TimeZoneName::new).transpose()?,
    };
    let before = state.store().get_tenant(id).await?;
    let after = state.store().update_tenant(id, &update).await?;
    state.forget_tenant(id);
    let mut changes = Map::new();
    let mut diff = |field: &str, b: Value, a: Value| {
        if b != a {
            changes.insert(field.to_owned(), json!({ "before": b, "after": a }));
        }
    };
    diff("name", json!(before.name), json!(after.name));
    diff("status", json!(before.status.as_str()), json!(after.status.as_str()));
    diff("timezone", json!(before.timezone.as_str()), json!(after.timezone.as_str()));
    let message = format!("changed tenant {}", after.slug);
    audit::by(state, req, caller, AuditAction::TenantUpdate, message, Some(id), json!({ "changes": changes })).await;
    Ok(after)
}

/// Deletes a tenant and everything it owns as `caller` (a global admin) asks.
pub(crate) async fn delete_tenant(state: &AppState, req: &Request, caller: &Caller, id: TenantId) -> ApiResult<()> {
    authorize(caller, id, Action::Read, "tenant")?;
    if !access::is_global_admin(caller) {
        return Err(ApiError::Forbidden);
    }
    let tenant = state.store().get_tenant(id).await?;
    state.store().delete_tenant(id).await?;
    state.forget_all();
    let metadata = json!({ "tenant_id": id.as_uuid(), "slug": tenant.slug.as_str(), "name": tenant.name });
    audit::by(state, req, caller, AuditAction::TenantDelete, format!("deleted tenant {}", tenant.slug), None, metadata)
        .await;
    Ok(())
}

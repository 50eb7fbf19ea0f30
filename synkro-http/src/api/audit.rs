//! `/audit`: the audit log, filtered by tenant, action and time, newest first.

use poem::web::Data;
use poem_openapi::{OpenApi, param::Query, payload::Json};
use synkro_core::{
    Page, PageRequest, ValidationError,
    domain::{AuditFilter, AuditLog},
    ids::{TenantId, UserId},
    time::Timestamp,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    Tag, map_page,
    models::{AuditOut, AuditPage},
    page_request,
};
use crate::{
    AppState,
    access::{self, Action, authorize},
    auth::{Auth, Caller},
    error::{ApiError, ApiResult},
};

#[derive(Default)]
pub struct AuditApi;

#[OpenApi(tag = "Tag::Audit")]
impl AuditApi {
    /// Audit entries, newest first: logins, settings changes, checks, job starts and stops, user
    /// and role changes. Superusers and global `super_admin`s see every entry; a tenant's
    /// `super_admin` must pass `tenant_id`.
    #[oai(path = "/audit", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list_audit(
        &self,
        state: Data<&AppState>,
        caller: Auth,
        /// Only this tenant's entries.
        tenant_id: Query<Option<Uuid>>,
        /// Only this action, such as `integration.update`.
        action: Query<Option<String>>,
        /// Only what this user did.
        actor_id: Query<Option<Uuid>>,
        /// Only entries at or after this time (RFC 3339).
        from: Query<Option<OffsetDateTime>>,
        /// Only entries before this time (RFC 3339).
        to: Query<Option<OffsetDateTime>>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<AuditPage>> {
        let page = page_request(limit.0, cursor.0)?;
        let filter = AuditFilter {
            tenant_id: tenant_id.0.map(TenantId::from_uuid),
            action: action.0,
            actor_id: actor_id.0.map(UserId::from_uuid),
            from: from.0.map(Timestamp::from_offset),
            to: to.0.map(Timestamp::from_offset),
        };
        let (items, next_cursor) = map_page(list_audit(&state, &caller.0, filter, &page).await?, AuditOut::from);
        Ok(Json(AuditPage { items, next_cursor }))
    }
}

/// The audit entries `caller` may read that pass `filter`, newest first: one tenant's for its
/// `super_admin`, everything for global admins.
pub(crate) async fn list_audit(
    state: &AppState,
    caller: &Caller,
    mut filter: AuditFilter,
    page: &PageRequest,
) -> ApiResult<Page<AuditLog>> {
    match filter.tenant_id {
        Some(tenant) => authorize(caller, tenant, Action::ManageAccess, "tenant")?,
        None if access::is_global_admin(caller) => {}
        None => return Err(ApiError::Forbidden),
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from >= to
    {
        return Err(ValidationError::new("to", "must be after from").into());
    }
    filter.action = filter.action.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty());
    if filter.action.as_ref().is_some_and(|a| a.len() > 100) {
        return Err(ValidationError::new("action", "must be at most 100 characters").into());
    }
    Ok(state.store().list_audit(&filter, page).await?)
}

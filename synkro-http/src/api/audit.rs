//! `/audit`: the audit log, filtered by tenant, action and time, newest first.

use poem::web::Data;
use poem_openapi::{OpenApi, param::Query, payload::Json};
use synkro_core::{ValidationError, domain::AuditFilter, ids::TenantId, time::Timestamp};
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
    auth::Auth,
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
        /// Only entries at or after this time (RFC 3339).
        from: Query<Option<OffsetDateTime>>,
        /// Only entries before this time (RFC 3339).
        to: Query<Option<OffsetDateTime>>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<AuditPage>> {
        let tenant = tenant_id.0.map(TenantId::from_uuid);
        match tenant {
            Some(tenant) => authorize(&caller.0, tenant, Action::ManageAccess, "tenant")?,
            None if access::is_global_admin(&caller.0) => {}
            None => return Err(ApiError::Forbidden),
        }
        let page = page_request(limit.0, cursor.0)?;
        let (from, to) = (from.0.map(Timestamp::from_offset), to.0.map(Timestamp::from_offset));
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            return Err(ValidationError::new("to", "must be after from").into());
        }
        let action = action.0.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty());
        if action.as_ref().is_some_and(|a| a.len() > 100) {
            return Err(ValidationError::new("action", "must be at most 100 characters").into());
        }
        let filter = AuditFilter { tenant_id: tenant, action, from, to };
        let (items, next_cursor) = map_page(state.store().list_audit(&filter, &page).await?, AuditOut::from);
        Ok(Json(AuditPage { items, next_cursor }))
    }
}

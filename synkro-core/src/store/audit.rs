//! The audit log.

use super::{Page, PageRequest, Store, StoreError, error::map, on_pool};
use crate::{
    domain::{AuditFilter, AuditLog, NewAuditLog},
    ids::AuditId,
    time::Timestamp,
};

impl Store {
    /// Appends an audit entry.
    pub async fn append_audit(&self, new: &NewAuditLog) -> Result<AuditLog, StoreError> {
        new.validate()?;
        const SQL: &str = "INSERT INTO audit_logs (id, tenant_id, actor_id, action, message, metadata, ip_address, \
                           created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *";
        on_pool!(self, |pool| {
            sqlx::query_as::<_, AuditLog>(SQL)
                .bind(AuditId::new())
                .bind(new.tenant_id)
                .bind(new.actor_id)
                .bind(new.action)
                .bind(&new.message)
                .bind(sqlx::types::Json(&new.metadata))
                .bind(new.ip_address.map(|ip| ip.to_string()))
                .bind(Timestamp::now())
                .fetch_one(pool)
                .await
        })
        .map_err(map)
    }

    /// Audit entries matching `filter`, newest first.
    pub async fn list_audit(&self, filter: &AuditFilter, page: &PageRequest) -> Result<Page<AuditLog>, StoreError> {
        const SQL: &str = "SELECT * FROM audit_logs WHERE ($1 IS NULL OR tenant_id = $1) \
                           AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR created_at >= $3) \
                           AND ($4 IS NULL OR created_at < $4) AND ($5 IS NULL OR (created_at, id) < ($5, $6)) \
                           AND ($8 IS NULL OR actor_id = $8) \
                           ORDER BY created_at DESC, id DESC LIMIT $7";
        let (at, id, limit) = page.binds();
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, AuditLog>(SQL)
                .bind(filter.tenant_id)
                .bind(filter.action.as_deref())
                .bind(filter.from)
                .bind(filter.to)
                .bind(at)
                .bind(id)
                .bind(limit)
                .bind(filter.actor_id)
                .fetch_all(pool)
                .await
        })
        .map_err(map)?;
        Ok(Page::from_rows(rows, page, |a| (a.created_at, a.id.as_uuid())))
    }
}

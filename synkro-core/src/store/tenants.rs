//! Tenants and their runtime configuration.

use super::{
    Page, PageRequest, Store, StoreError,
    error::{found, map},
    on_pool,
};
use crate::{
    domain::{NewTenant, Slug, Tenant, TenantRuntimeConfig, TenantUpdate},
    ids::TenantId,
    time::Timestamp,
};

impl Store {
    /// Creates a tenant. A taken slug is `Conflict(TenantSlug)`.
    pub async fn create_tenant(&self, new: &NewTenant) -> Result<Tenant, StoreError> {
        const SQL: &str = "INSERT INTO tenants (id, name, slug, status, timezone, created_at, updated_at) \
                           VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING *";
        let now = Timestamp::now();
        on_pool!(self, |pool| {
            sqlx::query_as::<_, Tenant>(SQL)
                .bind(TenantId::new())
                .bind(&new.name)
                .bind(&new.slug)
                .bind(new.status)
                .bind(&new.timezone)
                .bind(now)
                .fetch_one(pool)
                .await
        })
        .map_err(map)
    }

    /// A tenant by id.
    pub async fn get_tenant(&self, id: TenantId) -> Result<Tenant, StoreError> {
        const SQL: &str = "SELECT * FROM tenants WHERE id = $1";
        let row = on_pool!(self, |pool| sqlx::query_as::<_, Tenant>(SQL).bind(id).fetch_optional(pool).await);
        found(row.map_err(map)?, "tenant")
    }

    /// A tenant by slug.
    pub async fn get_tenant_by_slug(&self, slug: &Slug) -> Result<Tenant, StoreError> {
        const SQL: &str = "SELECT * FROM tenants WHERE slug = $1";
        let row = on_pool!(self, |pool| sqlx::query_as::<_, Tenant>(SQL).bind(slug).fetch_optional(pool).await);
        found(row.map_err(map)?, "tenant")
    }

    /// Tenants, newest first.
    pub async fn list_tenants(&self, page: &PageRequest) -> Result<Page<Tenant>, StoreError> {
        const SQL: &str = "SELECT * FROM tenants WHERE ($1 IS NULL OR (created_at, id) < ($1, $2)) \
                           ORDER BY created_at DESC, id DESC LIMIT $3";
        let (at, id, limit) = page.binds();
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, Tenant>(SQL).bind(at).bind(id).bind(limit).fetch_all(pool).await
        })
        .map_err(map)?;
        Ok(Page::from_rows(rows, page, |t| (t.created_at, t.id.as_uuid())))
    }

    /// Every active tenant (for the scheduler).
    pub async fn list_active_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        const SQL: &str = "SELECT * FROM tenants WHERE status = 'active' ORDER BY created_at, id";
        on_pool!(self, |pool| sqlx::query_as::<_, Tenant>(SQL).fetch_all(pool).await).map_err(map)
    }

    /// Changes a tenant's name, status or time zone.
    pub async fn update_tenant(&self, id: TenantId, update: &TenantUpdate) -> Result<Tenant, StoreError> {
        update.validate()?;
        const SQL: &str = "UPDATE tenants SET name = COALESCE($2, name), status = COALESCE($3, status), \
                           timezone = COALESCE($4, timezone), updated_at = $5 WHERE id = $1 RETURNING *";
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, Tenant>(SQL)
                .bind(id)
                .bind(update.name.as_deref().map(str::trim))
                .bind(update.status)
                .bind(&update.timezone)
                .bind(Timestamp::now())
                .fetch_optional(pool)
                .await
        });
        found(row.map_err(map)?, "tenant")
    }

    /// Deletes a tenant with its integrations, runtime config, jobs (and their events), reports
    /// (and their messages) and roles. Its audit entries stay, with no tenant.
    pub async fn delete_tenant(&self, id: TenantId) -> Result<(), StoreError> {
        const SQL: &str = "DELETE FROM tenants WHERE id = $1";
        let done = on_pool!(self, |pool| sqlx::query(SQL).bind(id).execute(pool).await.map(|r| r.rows_affected()));
        found((done.map_err(map)? > 0).then_some(()), "tenant")
    }

    /// A tenant's runtime config, or `None` if it was never saved (use
    /// [`TenantRuntimeConfig::defaults`] then).
    pub async fn get_runtime_config(&self, tenant: TenantId) -> Result<Option<TenantRuntimeConfig>, StoreError> {
        const SQL: &str = "SELECT * FROM tenant_runtime_configs WHERE tenant_id = $1";
        on_pool!(self, |pool| sqlx::query_as::<_, TenantRuntimeConfig>(SQL).bind(tenant).fetch_optional(pool).await)
            .map_err(map)
    }

    /// Creates or replaces a tenant's runtime config.
    pub async fn put_runtime_config(&self, config: &TenantRuntimeConfig) -> Result<TenantRuntimeConfig, StoreError> {
        config.validate()?;
        const SQL: &str = "INSERT INTO tenant_runtime_configs (tenant_id, mode, timezone, business_day_start, \
            scheduled_run_time, is_schedule_enabled, radist_fetch_limit, min_dialogs_for_report, \
            max_force_lookback_days, max_force_window_hours, telegram_followup_minutes, metadata, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
            ON CONFLICT (tenant_id) DO UPDATE SET mode = excluded.mode, timezone = excluded.timezone, \
            business_day_start = excluded.business_day_start, scheduled_run_time = excluded.scheduled_run_time, \
            is_schedule_enabled = excluded.is_schedule_enabled, radist_fetch_limit = excluded.radist_fetch_limit, \
            min_dialogs_for_report = excluded.min_dialogs_for_report, \
            max_force_lookback_days = excluded.max_force_lookback_days, \
            max_force_window_hours = excluded.max_force_window_hours, \
            telegram_followup_minutes = excluded.telegram_followup_minutes, metadata = excluded.metadata, \
            updated_at = excluded.updated_at RETURNING *";
        on_pool!(self, |pool| {
            sqlx::query_as::<_, TenantRuntimeConfig>(SQL)
                .bind(config.tenant_id)
                .bind(config.mode)
                .bind(&config.timezone)
                .bind(config.business_day_start)
                .bind(config.scheduled_run_time)
                .bind(config.is_schedule_enabled)
                .bind(config.radist_fetch_limit)
                .bind(config.min_dialogs_for_report)
                .bind(config.max_force_lookback_days)
                .bind(config.max_force_window_hours)
                .bind(config.telegram_followup_minutes)
                .bind(sqlx::types::Json(&config.metadata))
                .bind(Timestamp::now())
                .fetch_one(pool)
                .await
        })
        .map_err(map)
    }
}

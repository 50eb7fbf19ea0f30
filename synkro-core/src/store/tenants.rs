//! Tenants and their runtime configuration.

use super::{
    Page, PageRequest, Store, StoreError,
    error::{found, map},
    on_pool,
};
use crate::{
    domain::{NewTenant, Slug, Tenant, TenantRuntimeConfig, TenantStatus, TenantUpdate},
    ids::TenantId,
    time::{TimeZoneName, Timestamp},
};

impl Store {
    /// Creates a tenant with its runtime config at the documented defaults
    /// ([`TenantRuntimeConfig::defaults`]), so a new tenant runs on exactly the settings the API
    /// shows. A taken slug is `Conflict(TenantSlug)`.
    pub async fn create_tenant(&self, new: &NewTenant) -> Result<Tenant, StoreError> {
        const SQL: &str = "INSERT INTO tenants (id, name, slug, status, timezone, created_at, updated_at) \
                           VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING *";
        let now = Timestamp::now();
        let id = TenantId::new();
        let mut config = TenantRuntimeConfig::defaults(id, new.timezone.clone());
        (config.schedule_from, config.updated_at) = (now, now);
        on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            let tenant = sqlx::query_as::<_, Tenant>(SQL)
                .bind(id)
                .bind(&new.name)
                .bind(&new.slug)
                .bind(new.status)
                .bind(&new.timezone)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            bind_config!(sqlx::query(UPSERT_CONFIG), &config).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(tenant)
        }
        .await)
        .map_err(map)
    }

    /// Gives every tenant without a runtime config one at the defaults (tenants created before
    /// every tenant had one). Run by [`Store::migrate`].
    pub(crate) async fn ensure_runtime_configs(&self) -> Result<u64, StoreError> {
        const MISSING: &str = "SELECT * FROM tenants t WHERE NOT EXISTS \
                               (SELECT 1 FROM tenant_runtime_configs c WHERE c.tenant_id = t.id)";
        let missing = on_pool!(self, |pool| sqlx::query_as::<_, Tenant>(MISSING).fetch_all(pool).await).map_err(map)?;
        let now = Timestamp::now();
        for tenant in &missing {
            let mut config = TenantRuntimeConfig::defaults(tenant.id, tenant.timezone.clone());
            (config.schedule_from, config.updated_at) = (now, now);
            on_pool!(self, |pool| bind_config!(sqlx::query(UPSERT_CONFIG), &config).execute(pool).await.map(|_| ()))
                .map_err(map)?;
        }
        Ok(missing.len() as u64)
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

    /// Changes a tenant's name, status or time zone. A new status or time zone restarts the
    /// tenant's schedule from now ([`TenantRuntimeConfig::schedule_from`]): windows that were due
    /// while it was paused, or in the old zone, are not run.
    pub async fn update_tenant(&self, id: TenantId, update: &TenantUpdate) -> Result<Tenant, StoreError> {
        update.validate()?;
        const SQL: &str = "UPDATE tenants SET name = COALESCE($2, name), status = COALESCE($3, status), \
                           timezone = COALESCE($4, timezone), updated_at = $5 WHERE id = $1 RETURNING *";
        const RESCHEDULE: &str = "UPDATE tenant_runtime_configs SET schedule_from = $2 WHERE tenant_id = $1";
        let before = self.get_tenant(id).await?;
        let now = Timestamp::now();
        let row = on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            let tenant = sqlx::query_as::<_, Tenant>(SQL)
                .bind(id)
                .bind(update.name.as_deref().map(str::trim))
                .bind(update.status)
                .bind(&update.timezone)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(t) = &tenant
                && (t.status != before.status || t.timezone != before.timezone)
            {
                sqlx::query(RESCHEDULE).bind(id).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(tenant)
        }
        .await);
        found(row.map_err(map)?, "tenant")
    }

    /// Deletes a tenant with its integrations, runtime config, jobs (and their events), reports
    /// (and their messages) and roles. Its audit entries stay, with no tenant.
    pub async fn delete_tenant(&self, id: TenantId) -> Result<(), StoreError> {
        const SQL: &str = "DELETE FROM tenants WHERE id = $1";
        let done = on_pool!(self, |pool| sqlx::query(SQL).bind(id).execute(pool).await.map(|r| r.rows_affected()));
        found((done.map_err(map)? > 0).then_some(()), "tenant")
    }

    /// A tenant's runtime config (every tenant has one, at the defaults until saved), with the
    /// tenant's time zone. `NotFound` when the tenant does not exist.
    pub async fn get_runtime_config(&self, tenant: TenantId) -> Result<TenantRuntimeConfig, StoreError> {
        let sql = concat!(select_config!(), " WHERE c.tenant_id = $1");
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, TenantRuntimeConfig>(sql).bind(tenant).fetch_optional(pool).await
        });
        found(row.map_err(map)?, "tenant")
    }

    /// Saves a tenant's runtime config. Its time zone is the tenant's: a different one changes the
    /// tenant's time zone. When the schedule changes (mode, time zone, business day start, run
    /// time or the schedule switch) it restarts from now, so no report is posted at once for a
    /// window that closed before the change.
    pub async fn put_runtime_config(&self, config: &TenantRuntimeConfig) -> Result<TenantRuntimeConfig, StoreError> {
        config.validate()?;
        const TIMEZONE: &str = "UPDATE tenants SET timezone = $2, updated_at = $3 WHERE id = $1 AND timezone <> $2";
        let before = self.get_runtime_config(config.tenant_id).await?;
        let now = Timestamp::now();
        let mut saved = config.clone();
        saved.schedule_from = if before.schedule_differs(config) { now } else { before.schedule_from };
        saved.updated_at = now;
        on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query(TIMEZONE).bind(config.tenant_id).bind(&config.timezone).bind(now).execute(&mut *tx).await?;
            bind_config!(sqlx::query(UPSERT_CONFIG), &saved).execute(&mut *tx).await?;
            tx.commit().await
        }
        .await)
        .map_err(map)?;
        self.get_runtime_config(config.tenant_id).await
    }
}

/// A runtime config's columns (`c`) with its tenant's time zone (`t`). Named, not `c.*`: a
/// SQLite connection that last read the schema before a migration expands `*` to the old
/// columns, where a named column it does not know makes SQLite reread the schema.
macro_rules! config_columns {
    () => {
        "c.tenant_id, c.mode, c.business_day_start, c.scheduled_run_time, c.is_schedule_enabled, \
         c.min_dialogs_for_report, c.max_force_lookback_days, c.max_force_window_hours, \
         c.telegram_followup_minutes, c.language, c.prompt, c.working_hours, c.schedule_from, c.updated_at, \
         t.timezone"
    };
}
use config_columns;

/// `SELECT` of runtime configs (`c`) with their tenant's time zone; append a `WHERE`.
macro_rules! select_config {
    () => {
        concat!("SELECT ", config_columns!(), " FROM tenant_runtime_configs c JOIN tenants t ON t.id = c.tenant_id")
    };
}
pub(crate) use select_config;

/// Inserts or replaces a runtime config (binds: see `bind_config!`).
const UPSERT_CONFIG: &str = "INSERT INTO tenant_runtime_configs (tenant_id, mode, business_day_start, \
    scheduled_run_time, is_schedule_enabled, min_dialogs_for_report, max_force_lookback_days, \
    max_force_window_hours, telegram_followup_minutes, language, prompt, working_hours, schedule_from, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
    ON CONFLICT (tenant_id) DO UPDATE SET mode = excluded.mode, \
    business_day_start = excluded.business_day_start, scheduled_run_time = excluded.scheduled_run_time, \
    is_schedule_enabled = excluded.is_schedule_enabled, min_dialogs_for_report = excluded.min_dialogs_for_report, \
    max_force_lookback_days = excluded.max_force_lookback_days, \
    max_force_window_hours = excluded.max_force_window_hours, \
    telegram_followup_minutes = excluded.telegram_followup_minutes, language = excluded.language, \
    prompt = excluded.prompt, working_hours = excluded.working_hours, \
    schedule_from = excluded.schedule_from, updated_at = excluded.updated_at";

/// Binds a config's columns to [`UPSERT_CONFIG`].
macro_rules! bind_config {
    ($query:expr, $c:expr) => {{
        let c: &TenantRuntimeConfig = $c;
        $query
            .bind(c.tenant_id)
            .bind(c.mode)
            .bind(c.business_day_start)
            .bind(c.scheduled_run_time)
            .bind(c.is_schedule_enabled)
            .bind(c.min_dialogs_for_report)
            .bind(c.max_force_lookback_days)
            .bind(c.max_force_window_hours)
            .bind(c.telegram_followup_minutes)
            .bind(c.language)
            .bind(c.prompt.as_deref())
            .bind(c.working_hours.as_ref().map(sqlx::types::Json))
            .bind(c.schedule_from)
            .bind(c.updated_at)
    }};
}
use bind_config;

/// The scheduler's row: a runtime config with its tenant's columns prefixed `t_`.
#[derive(sqlx::FromRow)]
struct DueRow {
    #[sqlx(flatten)]
    config: TenantRuntimeConfig,
    t_id: TenantId,
    t_name: String,
    t_slug: Slug,
    t_status: TenantStatus,
    t_timezone: TimeZoneName,
    t_created_at: Timestamp,
    t_updated_at: Timestamp,
}

impl DueRow {
    fn split(self) -> (Tenant, TenantRuntimeConfig) {
        let tenant = Tenant {
            id: self.t_id,
            name: self.t_name,
            slug: self.t_slug,
            status: self.t_status,
            timezone: self.t_timezone,
            created_at: self.t_created_at,
            updated_at: self.t_updated_at,
        };
        (tenant, self.config)
    }
}

impl Store {
    /// Active tenants whose runtime config has the schedule on (every tenant has a config, at
    /// the defaults until saved), with that config, oldest tenant first (for the scheduler).
    pub async fn tenants_due(&self) -> Result<Vec<(Tenant, TenantRuntimeConfig)>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            config_columns!(),
            ", t.id AS t_id, t.name AS t_name, t.slug AS t_slug, t.status AS t_status, \
            t.timezone AS t_timezone, t.created_at AS t_created_at, t.updated_at AS t_updated_at \
            FROM tenants t JOIN tenant_runtime_configs c ON c.tenant_id = t.id \
            WHERE t.status = 'active' AND c.is_schedule_enabled ORDER BY t.created_at, t.id"
        );
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, DueRow>(SQL).fetch_all(pool).await).map_err(map)?;
        Ok(rows.into_iter().map(DueRow::split).collect())
    }
}

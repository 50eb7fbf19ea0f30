//! Reports and their follow-up messages.

use super::{
    Page, PageRequest, Store, StoreError,
    error::{found, map},
    on_pool,
};
use crate::{
    ValidationError,
    domain::{
        NewReport, NewReportMessage, Report, ReportFilter, ReportListItem, ReportMessage, ReportStatus, ReportTotals,
        ReportType, Slug,
    },
    ids::{JobId, ReportId, ReportMessageId, TenantId},
    time::Timestamp,
};

/// A row of [`Store::list_report_items`], the summary still as text.
#[derive(sqlx::FromRow)]
struct ListRow {
    id: ReportId,
    tenant_id: TenantId,
    job_id: Option<JobId>,
    period_start: time::Date,
    period_end: time::Date,
    window_start: Timestamp,
    window_end: Timestamp,
    report_type: ReportType,
    status: ReportStatus,
    summary: Option<String>,
    created_at: Timestamp,
}

impl ListRow {
    fn into_item(self) -> Result<ReportListItem, StoreError> {
        let summary = self
            .summary
            .map(serde_json::value::RawValue::from_string)
            .transpose()
            .map_err(|e| StoreError::Other(sqlx::Error::Decode(Box::new(e))))?;
        Ok(ReportListItem {
            id: self.id,
            tenant_id: self.tenant_id,
            job_id: self.job_id,
            period_start: self.period_start,
            period_end: self.period_end,
            window_start: self.window_start,
            window_end: self.window_end,
            report_type: self.report_type,
            status: self.status,
            summary,
            created_at: self.created_at,
        })
    }
}

impl Store {
    /// Every active tenant's slug with when its latest report was saved (ready or sent), or
    /// `None` when it has none: what an alert on a missing nightly report reads.
    pub async fn last_reports(&self) -> Result<Vec<(Slug, Option<Timestamp>)>, StoreError> {
        const SQL: &str = "SELECT t.slug, MAX(r.created_at) FROM tenants t LEFT JOIN reports r \
            ON r.tenant_id = t.id AND r.status IN ('ready', 'sent') WHERE t.status = 'active' \
            GROUP BY t.slug ORDER BY t.slug";
        on_pool!(self, |pool| sqlx::query_as::<_, (Slug, Option<Timestamp>)>(SQL).fetch_all(pool).await).map_err(map)
    }

    /// The report `job` produced, if any (a re-run job reuses it instead of making another).
    pub async fn report_for_job(&self, job: JobId) -> Result<Option<Report>, StoreError> {
        const SQL: &str = "SELECT * FROM reports WHERE job_id = $1";
        on_pool!(self, |pool| sqlx::query_as::<_, Report>(SQL).bind(job).fetch_optional(pool).await).map_err(map)
    }

    /// Saves a report. A second report for the same job is `Conflict(ReportPerJob)`.
    pub async fn create_report(&self, new: &NewReport) -> Result<Report, StoreError> {
        new.validate()?;
        const SQL: &str = "INSERT INTO reports (id, tenant_id, job_id, period_start, period_end, window_start, \
            window_end, report_type, status, summary_text, metadata, data_ref, followup_deadline_at, created_at, \
            updated_at, summary, ai, analytics) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
            $14, $15, $16, $17) RETURNING *";
        on_pool!(self, |pool| {
            sqlx::query_as::<_, Report>(SQL)
                .bind(ReportId::new())
                .bind(new.tenant_id)
                .bind(new.job_id)
                .bind(new.period_start)
                .bind(new.period_end)
                .bind(new.window.start())
                .bind(new.window.end())
                .bind(new.report_type)
                .bind(new.status)
                .bind(&new.summary_text)
                .bind(sqlx::types::Json(&new.metadata))
                .bind(&new.data_ref)
                .bind(new.followup_deadline_at)
                .bind(Timestamp::now())
                .bind(sqlx::types::Json(&new.summary))
                .bind(sqlx::types::Json(&new.ai))
                .bind(sqlx::types::Json(&new.analytics))
                .fetch_one(pool)
                .await
        })
        .map_err(map)
    }

    /// A report by id.
    pub async fn get_report(&self, id: ReportId) -> Result<Report, StoreError> {
        const SQL: &str = "SELECT * FROM reports WHERE id = $1";
        let row = on_pool!(self, |pool| sqlx::query_as::<_, Report>(SQL).bind(id).fetch_optional(pool).await);
        found(row.map_err(map)?, "report")
    }

    /// A report as a page shows it: everything but its `metadata` details (left as an empty
    /// object), which can be large and no page shows.
    pub async fn get_report_view(&self, id: ReportId) -> Result<Report, StoreError> {
        macro_rules! select_with_empty_metadata {
            ($empty:literal) => {
                concat!(
                    "SELECT id, tenant_id, job_id, period_start, period_end, window_start, window_end, report_type, ",
                    "status, summary_text, summary, ai, analytics, ",
                    $empty,
                    " AS metadata, data_ref, followup_deadline_at, created_at, updated_at FROM reports WHERE id = $1"
                )
            };
        }
        let row = match &self.backend {
            super::Backend::Sqlite(pool) => {
                const SQL: &str = select_with_empty_metadata!("'{}'");
                sqlx::query_as::<_, Report>(SQL).bind(id).fetch_optional(pool).await
            }
            #[cfg(feature = "postgres")]
            super::Backend::Postgres(pool) => {
                const SQL: &str = select_with_empty_metadata!("'{}'::jsonb");
                sqlx::query_as::<_, Report>(SQL).bind(id).fetch_optional(pool).await
            }
        };
        found(row.map_err(map)?, "report")
    }

    /// A tenant's reports, newest first.
    pub async fn list_reports(&self, tenant: TenantId, page: &PageRequest) -> Result<Page<Report>, StoreError> {
        const SQL: &str = "SELECT * FROM reports WHERE tenant_id = $1 \
                           AND ($2 IS NULL OR (created_at, id) < ($2, $3)) \
                           ORDER BY created_at DESC, id DESC LIMIT $4";
        let (at, id, limit) = page.binds();
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, Report>(SQL).bind(tenant).bind(at).bind(id).bind(limit).fetch_all(pool).await
        })
        .map_err(map)?;
        Ok(Page::from_rows(rows, page, |r| (r.created_at, r.id.as_uuid())))
    }

    /// A tenant's reports that pass `filter`, newest first, without their text and details: the
    /// columns a report list shows and the summary numbers.
    pub async fn list_report_items(
        &self,
        tenant: TenantId,
        filter: &ReportFilter,
        page: &PageRequest,
    ) -> Result<Page<ReportListItem>, StoreError> {
        const SQL: &str = "SELECT id, tenant_id, job_id, period_start, period_end, window_start, window_end, \
                           report_type, status, CAST(summary AS TEXT) AS summary, created_at FROM reports \
                           WHERE tenant_id = $1 AND ($2 IS NULL OR (created_at, id) < ($2, $3)) \
                           AND ($5 IS NULL OR status = $5) AND ($6 IS NULL OR period_end >= $6) \
                           AND ($7 IS NULL OR period_start <= $7) \
                           ORDER BY created_at DESC, id DESC LIMIT $4";
        let (at, id, limit) = page.binds();
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, ListRow>(SQL)
                .bind(tenant)
                .bind(at)
                .bind(id)
                .bind(limit)
                .bind(filter.status)
                .bind(filter.from)
                .bind(filter.to)
                .fetch_all(pool)
                .await
        })
        .map_err(map)?;
        let items = rows.into_iter().map(ListRow::into_item).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, page, |r| (r.created_at, r.id.as_uuid())))
    }

    /// The totals of a tenant's newest `limit` reports, newest first, read out of their summaries
    /// by the database (a trend needs three numbers, not the whole summary).
    pub async fn report_totals(&self, tenant: TenantId, limit: u32) -> Result<Vec<ReportTotals>, StoreError> {
        const SQL: &str = "SELECT id, period_start, period_end, status, created_at, \
                           CAST(summary ->> 'total_deals' AS BIGINT) AS total_deals, \
                           CAST(summary ->> 'deals_with_dialogs' AS BIGINT) AS deals_with_dialogs, \
                           CAST(summary ->> 'total_messages' AS BIGINT) AS total_messages \
                           FROM reports WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2";
        let limit = i64::from(limit);
        on_pool!(self, |pool| sqlx::query_as::<_, ReportTotals>(SQL).bind(tenant).bind(limit).fetch_all(pool).await)
            .map_err(map)
    }

    /// The tenant's newest report, if any.
    pub async fn latest_report(&self, tenant: TenantId) -> Result<Option<Report>, StoreError> {
        let page = self.list_reports(tenant, &PageRequest::first(1)?).await?;
        Ok(page.items.into_iter().next())
    }

    /// Changes a report's status (for example to `sent` after delivery).
    pub async fn set_report_status(&self, id: ReportId, status: ReportStatus) -> Result<Report, StoreError> {
        const SQL: &str = "UPDATE reports SET status = $2, updated_at = $3 WHERE id = $1 RETURNING *";
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, Report>(SQL).bind(id).bind(status).bind(Timestamp::now()).fetch_optional(pool).await
        });
        found(row.map_err(map)?, "report")
    }

    /// Stores a follow-up question and its answer.
    pub async fn add_report_message(&self, new: &NewReportMessage) -> Result<ReportMessage, StoreError> {
        new.validate()?;
        const SQL: &str = "INSERT INTO report_messages (id, report_id, actor_id, question, answer, source, \
                           created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *";
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ReportMessage>(SQL)
                .bind(ReportMessageId::new())
                .bind(new.report_id)
                .bind(new.actor_id)
                .bind(&new.question)
                .bind(&new.answer)
                .bind(new.source)
                .bind(Timestamp::now())
                .fetch_one(pool)
                .await
        })
        .map_err(map)
    }

    /// The last `limit` (1-200) questions and answers on a report, oldest of them first.
    pub async fn recent_report_messages(&self, report: ReportId, limit: u32) -> Result<Vec<ReportMessage>, StoreError> {
        if !(1..=200).contains(&limit) {
            return Err(ValidationError::new("limit", "must be between 1 and 200").into());
        }
        const SQL: &str = "SELECT * FROM report_messages WHERE report_id = $1 \
                           ORDER BY created_at DESC, id DESC LIMIT $2";
        let mut rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, ReportMessage>(SQL).bind(report).bind(i64::from(limit)).fetch_all(pool).await
        })
        .map_err(map)?;
        rows.reverse();
        Ok(rows)
    }
}

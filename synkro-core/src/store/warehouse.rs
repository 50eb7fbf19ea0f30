//! The built-in warehouse: the [`Warehouse`] capability over Synkro's own database, for tenants
//! without a Supabase of their own. Same semantics: rows keyed by (tenant slug, deal id),
//! upserts merge, windows are read in pages.

use async_trait::async_trait;
use futures::{StreamExt, stream};

use super::{Store, error::map, on_pool};
use crate::{
    connector::{ArchivedReport, BatchStream, ConnectorError, DealRow, FailureClass, RowTime, SourceBatch, Warehouse},
    domain::Window,
    time::Timestamp,
};

/// Rows per page when reading a window.
const PAGE: i64 = 1000;

/// The warehouse in Synkro's own database.
#[derive(Clone, Debug)]
pub struct BuiltinWarehouse {
    store: Store,
}

impl BuiltinWarehouse {
    /// The built-in warehouse of `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

fn storage_error(e: super::StoreError) -> ConnectorError {
    let class = match e {
        super::StoreError::NotFound { .. } | super::StoreError::Invalid(_) => FailureClass::Config,
        _ => FailureClass::Upstream,
    };
    ConnectorError::new(class, format!("built-in warehouse: {e}"))
}

const UPSERT: &str = "INSERT INTO warehouse_deals (tenant_id, deal_id, deal_name, status_id, status, responsible, \
    phone, chat_id, first_message_at, last_message_at, messages_count, deal_attrs_json, contact_attrs_json, dialog_raw, \
    dialog_norm, updated_at, stored_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
    ON CONFLICT (tenant_id, deal_id) DO UPDATE SET deal_name = excluded.deal_name, status_id = excluded.status_id, \
    status = excluded.status, responsible = excluded.responsible, phone = excluded.phone, chat_id = excluded.chat_id, \
    first_message_at = excluded.first_message_at, last_message_at = excluded.last_message_at, \
    messages_count = excluded.messages_count, deal_attrs_json = excluded.deal_attrs_json, \
    contact_attrs_json = excluded.contact_attrs_json, dialog_raw = excluded.dialog_raw, \
    dialog_norm = excluded.dialog_norm, updated_at = excluded.updated_at, stored_at = excluded.stored_at";

const BY_LAST_MESSAGE: &str = "SELECT tenant_id, deal_id, deal_name, status_id, status, responsible, phone, chat_id, \
    first_message_at, last_message_at, messages_count, deal_attrs_json, contact_attrs_json, dialog_raw, dialog_norm, \
    updated_at FROM warehouse_deals WHERE tenant_id = $1 AND last_message_at >= $2 AND last_message_at < $3 \
    AND ($4 IS NULL OR (last_message_at, deal_id) > ($4, $5)) ORDER BY last_message_at, deal_id LIMIT $6";

const BY_UPDATED: &str = "SELECT tenant_id, deal_id, deal_name, status_id, status, responsible, phone, chat_id, \
    first_message_at, last_message_at, messages_count, deal_attrs_json, contact_attrs_json, dialog_raw, dialog_norm, \
    updated_at FROM warehouse_deals WHERE tenant_id = $1 AND updated_at >= $2 AND updated_at < $3 \
    AND ($4 IS NULL OR (updated_at, deal_id) > ($4, $5)) ORDER BY updated_at, deal_id LIMIT $6";

const ARCHIVE: &str = "INSERT INTO warehouse_reports (tenant_id, source_report_id, period_start, period_end, \
    summary_text, metadata, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
    ON CONFLICT (tenant_id, source_report_id) DO UPDATE SET period_start = excluded.period_start, \
    period_end = excluded.period_end, summary_text = excluded.summary_text, metadata = excluded.metadata";

#[async_trait]
impl Warehouse for BuiltinWarehouse {
    async fn upsert_deals(&self, rows: &[DealRow]) -> Result<u64, ConnectorError> {
        let now = Timestamp::now();
        for batch in rows.chunks(500) {
            on_pool!(self.store, |pool| async {
                let mut tx = pool.begin().await?;
                for row in batch {
                    sqlx::query(UPSERT)
                        .bind(&row.tenant_id)
                        .bind(row.deal_id)
                        .bind(&row.deal_name)
                        .bind(row.status_id)
                        .bind(&row.status)
                        .bind(&row.responsible)
                        .bind(&row.phone)
                        .bind(&row.chat_id)
                        .bind(row.first_message_at)
                        .bind(row.last_message_at)
                        .bind(row.messages_count)
                        .bind(sqlx::types::Json(&row.deal_attrs_json))
                        .bind(sqlx::types::Json(&row.contact_attrs_json))
                        .bind(sqlx::types::Json(&row.dialog_raw))
                        .bind(&row.dialog_norm)
                        .bind(row.updated_at)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await
            }
            .await)
            .map_err(|e| storage_error(map(e)))?;
        }
        Ok(rows.len() as u64)
    }

    fn rows_in_window<'a>(&'a self, tenant: &'a str, window: Window, by: RowTime) -> BatchStream<'a, DealRow> {
        let sql = match by {
            RowTime::UpdatedAt => BY_UPDATED,
            RowTime::LastMessageAt => BY_LAST_MESSAGE,
        };
        let key = move |row: &DealRow| match by {
            RowTime::UpdatedAt => row.updated_at,
            RowTime::LastMessageAt => row.last_message_at,
        };
        stream::unfold(Some(None::<(Timestamp, i64)>), move |after| async move {
            let after = after?;
            let rows = on_pool!(self.store, |pool| {
                sqlx::query_as::<_, DealRow>(sql)
                    .bind(tenant)
                    .bind(window.start())
                    .bind(window.end())
                    .bind(after.map(|a| a.0))
                    .bind(after.map(|a| a.1))
                    .bind(PAGE)
                    .fetch_all(pool)
                    .await
            });
            match rows {
                Err(e) => Some((Err(storage_error(map(e))), None)),
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let next = if rows.len() < PAGE as usize {
                        None
                    } else {
                        rows.last().and_then(|r| key(r).map(|t| Some((t, r.deal_id))))
                    };
                    Some((Ok(SourceBatch::new(rows)), next))
                }
            }
        })
        .boxed()
    }

    async fn archive_report(&self, report: &ArchivedReport) -> Result<(), ConnectorError> {
        on_pool!(self.store, |pool| {
            sqlx::query(ARCHIVE)
                .bind(&report.tenant_id)
                .bind(&report.source_report_id)
                .bind(&report.period_start)
                .bind(&report.period_end)
                .bind(&report.summary_text)
                .bind(sqlx::types::Json(&report.metadata))
                .bind(report.created_at)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .map_err(|e| storage_error(map(e)))
    }
}

impl Store {
    /// Archived reports of a tenant in the built-in warehouse, newest first (at most `limit`).
    pub async fn archived_reports(
        &self,
        tenant_slug: &str,
        limit: u32,
    ) -> Result<Vec<ArchivedReport>, super::StoreError> {
        const SQL: &str = "SELECT tenant_id, source_report_id, period_start, period_end, summary_text, metadata, \
                           created_at FROM warehouse_reports WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT $2";
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, ArchivedRow>(SQL).bind(tenant_slug).bind(i64::from(limit)).fetch_all(pool).await
        })
        .map_err(map)?;
        Ok(rows.into_iter().map(ArchivedRow::into_report).collect())
    }
}

#[derive(sqlx::FromRow)]
struct ArchivedRow {
    tenant_id: String,
    source_report_id: String,
    period_start: String,
    period_end: String,
    summary_text: String,
    #[sqlx(json)]
    metadata: serde_json::Value,
    created_at: Timestamp,
}

impl ArchivedRow {
    fn into_report(self) -> ArchivedReport {
        ArchivedReport {
            tenant_id: self.tenant_id,
            source_report_id: self.source_report_id,
            period_start: self.period_start,
            period_end: self.period_end,
            summary_text: self.summary_text,
            metadata: self.metadata,
            created_at: self.created_at,
        }
    }
}

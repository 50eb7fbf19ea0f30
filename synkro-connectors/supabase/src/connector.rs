//! The [`Connector`] and [`Warehouse`] implementations.

use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, stream};
use serde_json::{Value, json};
use synkro_core::{
    connector::{
        ArchivedReport, BatchStream, Capabilities, Capability, Connector, ConnectorConfig, ConnectorContext,
        ConnectorError, ConnectorSpec, DealRow, RowTime, SourceBatch, Warehouse,
    },
    domain::Window,
};

use crate::{
    config::{SupabaseConfig, SupabaseSettings},
    rest::{MAX_PAGE_ROWS, Rest},
};

/// The Supabase connector (kind `supabase`).
#[derive(Debug, Default, Clone, Copy)]
pub struct SupabaseConnector;

static SPEC: ConnectorSpec = ConnectorSpec {
    kind: "supabase",
    display_name: "Supabase",
    version: env!("CARGO_PKG_VERSION"),
    description: "The tenant's own store of deal rows (one per deal, with the whole dialog) and report archive",
    public_fields: SupabaseSettings::PUBLIC_FIELDS,
    secret_fields: SupabaseSettings::SECRET_FIELDS,
    capabilities: &[Capability::Warehouse],
};

fn rest(config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<Rest, ConnectorError> {
    Rest::new(&SupabaseConfig::parse(config, ctx.endpoint("supabase"))?, ctx)
}

#[async_trait]
impl Connector for SupabaseConnector {
    fn spec(&self) -> &'static ConnectorSpec {
        &SPEC
    }

    /// Selects one key column of one row of the deals table: proves URL, key, table and grants
    /// in one read (the REST root is not used: Supabase blocks it for many keys).
    async fn check(&self, config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<Value, ConnectorError> {
        let rest = rest(config, ctx)?;
        let table = rest.config().deals_table.clone();
        let rows: Vec<Value> = rest.select(&table, &[("select", "deal_id".into()), ("limit", "1".into())]).await?;
        Ok(json!({"table": table, "readable": true, "has_rows": !rows.is_empty(),
            "key_kind": if rest.config().is_legacy_jwt() { "legacy_jwt" } else { "secret_key" }}))
    }

    fn build(&self, config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<Capabilities, ConnectorError> {
        Ok(Capabilities { warehouse: Some(Arc::new(rest(config, ctx)?)), ..Default::default() })
    }
}

struct Paging {
    offset: usize,
    largest: usize,
    done: bool,
}

#[async_trait]
impl Warehouse for Rest {
    async fn upsert_deals(&self, rows: &[DealRow]) -> Result<u64, ConnectorError> {
        self.upsert(&self.config().deals_table, "tenant_id,deal_id", rows).await
    }

    /// Pages with limit/offset until the rows run out. A page shorter than the largest seen
    /// ends the read; a short first page is confirmed by one more (empty) request, because a
    /// project may cap responses below the page size asked for.
    fn rows_in_window<'a>(&'a self, tenant: &'a str, window: Window, by: RowTime) -> BatchStream<'a, DealRow> {
        let column = match by {
            RowTime::UpdatedAt => "updated_at",
            RowTime::LastMessageAt => "last_message_at",
        };
        let state = Paging { offset: 0, largest: 0, done: false };
        stream::unfold(state, move |mut st| async move {
            if st.done {
                return None;
            }
            let query = [
                ("select", "*".to_owned()),
                ("tenant_id", format!("eq.{tenant}")),
                (column, format!("gte.{}", window.start())),
                (column, format!("lt.{}", window.end())),
                ("order", format!("{column}.asc,deal_id.asc")),
                ("limit", MAX_PAGE_ROWS.to_string()),
                ("offset", st.offset.to_string()),
            ];
            let rows: Vec<DealRow> = match self.select(&self.config().deals_table, &query).await {
                Ok(rows) => rows,
                Err(e) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
            };
            if rows.is_empty() {
                return None;
            }
            st.done = rows.len() < st.largest;
            st.largest = st.largest.max(rows.len());
            st.offset += rows.len();
            Some((Ok(SourceBatch::new(rows)), st))
        })
        .boxed()
    }

    async fn archive_report(&self, report: &ArchivedReport) -> Result<(), ConnectorError> {
        self.upsert(&self.config().reports_table, "tenant_id,source_report_id", std::slice::from_ref(report))
            .await
            .map(|_| ())
    }
}

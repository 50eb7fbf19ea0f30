//! Alerts to a tenant's admins about its scheduled reports: at most one per tenant and window,
//! claimed before it is sent so that any number of workers and schedulers send it once.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, error::map, on_pool};
use crate::{
    domain::{Window, string_enum},
    ids::TenantId,
    time::Timestamp,
};

/// How long an alert may stay `sending` before another node may claim it again.
pub const ALERT_SENDING_FOR: std::time::Duration = std::time::Duration::from_secs(10 * 60);

string_enum! {
    /// What went wrong with a scheduled report.
    pub enum AlertKind("kind") {
        /// The report job failed for good.
        Failed = "failed",
        /// The AI failed and the report was written by rules.
        Fallback = "fallback",
        /// The report was not delivered (retrying, outcome unknown, or failed).
        Delivery = "delivery",
        /// No report at its due time plus the grace period.
        Missed = "missed",
    }
}

string_enum! {
    /// How sending an alert went.
    pub enum AlertState("state") {
        /// Claimed; being sent.
        Sending = "sending",
        /// Delivered to the tenant's alert chat (or its report chat).
        Sent = "sent",
        /// The messenger refused or failed; the operator's metrics still show it.
        Failed = "failed",
        /// The tenant has no messenger to send it with.
        NoMessenger = "no_messenger",
    }
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Alert {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The report window it is about.
    pub window_start: Timestamp,
    /// The window's end.
    pub window_end: Timestamp,
    /// What went wrong (the first thing, for the window).
    pub kind: AlertKind,
    /// How sending it went.
    pub state: AlertState,
    /// The text sent.
    pub message: String,
    /// Why sending failed (Synkro's words).
    pub error: Option<String>,
    /// When it was raised.
    pub created_at: Timestamp,
}

impl Store {
    /// Claims the alert of `tenant`'s `window`: `true` when this call made it (send it, then
    /// [`Store::finish_alert`]), `false` when the window already has one — an alert is sent once
    /// per tenant and window, whatever else goes wrong in it. An alert whose sending failed, or
    /// that has been `sending` for more than [`ALERT_SENDING_FOR`] (its sender died), may be
    /// claimed again by the next thing that goes wrong.
    pub async fn claim_alert(
        &self,
        tenant: TenantId,
        window: Window,
        kind: AlertKind,
        message: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO report_alerts (tenant_id, window_start, window_end, kind, state, message, \
            created_at) VALUES ($1, $2, $3, $4, 'sending', $5, $6) \
            ON CONFLICT (tenant_id, window_start, window_end) DO UPDATE SET kind = excluded.kind, state = 'sending', \
            message = excluded.message, error = NULL, created_at = excluded.created_at \
            WHERE report_alerts.state = 'failed' OR (report_alerts.state = 'sending' AND report_alerts.created_at < $7)";
        let stale = now + -time::Duration::try_from(ALERT_SENDING_FOR).unwrap_or(time::Duration::MINUTE);
        let done = on_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(tenant)
                .bind(window.start())
                .bind(window.end())
                .bind(kind)
                .bind(message)
                .bind(now)
                .bind(stale)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        });
        Ok(done.map_err(map)? == 1)
    }

    /// Records how sending the alert of `tenant`'s `window` went.
    pub async fn finish_alert(
        &self,
        tenant: TenantId,
        window: Window,
        state: AlertState,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE report_alerts SET state = $4, error = $5 \
                           WHERE tenant_id = $1 AND window_start = $2 AND window_end = $3";
        on_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(tenant)
                .bind(window.start())
                .bind(window.end())
                .bind(state)
                .bind(error)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .map_err(map)
    }

    /// A tenant's alerts, newest window first, at most `limit`.
    pub async fn list_alerts(&self, tenant: TenantId, limit: u32) -> Result<Vec<Alert>, StoreError> {
        const SQL: &str = "SELECT tenant_id, window_start, window_end, kind, state, message, error, created_at \
                           FROM report_alerts WHERE tenant_id = $1 ORDER BY window_end DESC LIMIT $2";
        on_pool!(self, |pool| sqlx::query_as(SQL).bind(tenant).bind(i64::from(limit)).fetch_all(pool).await)
            .map_err(map)
    }

    /// Alerts by kind and state, for metrics.
    pub async fn alert_counts(&self) -> Result<Vec<(AlertKind, AlertState, u64)>, StoreError> {
        const SQL: &str = "SELECT kind, state, COUNT(*) FROM report_alerts GROUP BY kind, state ORDER BY kind, state";
        let rows: Vec<(AlertKind, AlertState, i64)> =
            on_pool!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await).map_err(map)?;
        Ok(rows.into_iter().map(|(kind, state, n)| (kind, state, u64::try_from(n).unwrap_or(0))).collect())
    }
}

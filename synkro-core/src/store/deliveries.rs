//! Report deliveries, effects once: a delivery starts once, ends sent, retrying, failed or
//! unknown, and only an explicit re-send starts a failed or unknown one again.

use serde::{Deserialize, Serialize};

use super::{
    Store, StoreError,
    error::{found, map},
    on_pool,
};
use crate::{
    ValidationError,
    domain::string_enum,
    error::check_len,
    ids::{JobId, ReportId},
    time::Timestamp,
};

string_enum! {
    /// Where a report's delivery stands.
    pub enum DeliveryState("state") {
        /// A worker started sending and has not said how it ended.
        Sending = "sending",
        /// Every message was delivered; never send again.
        Sent = "sent",
        /// Sending failed in a way a retry can fix (the messenger was down or rate limiting)
        /// and nothing was delivered: a delivery job tries again at `next_attempt_at`, until
        /// `give_up_at`.
        Retrying = "retrying",
        /// Sending failed for good (the messenger refused, or retrying ran out of time). Only an
        /// explicit re-send sends it again.
        Failed = "failed",
        /// A worker stopped while sending: some or all messages may have arrived, so sending
        /// again could duplicate them. Only an explicit re-send sends it again.
        Unknown = "unknown",
    }
}

/// The record of delivering one report (at most one per report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Delivery {
    /// The report delivered.
    pub report_id: ReportId,
    /// The job that delivered it (`None` once the job is deleted).
    pub job_id: Option<JobId>,
    /// Where it went, such as `telegram`.
    pub channel: String,
    /// How it stands.
    pub state: DeliveryState,
    /// How many messages were delivered.
    #[sqlx(try_from = "i32")]
    pub messages: u32,
    /// Why it failed, or why its outcome is unknown.
    pub error: Option<String>,
    /// When sending (last) started.
    pub started_at: Timestamp,
    /// When it ended (or was found abandoned).
    pub finished_at: Option<Timestamp>,
    /// How many times sending started.
    #[sqlx(try_from = "i32")]
    pub attempts: u32,
    /// While `retrying`: when the next try happens.
    pub next_attempt_at: Option<Timestamp>,
    /// While `retrying`: when retrying stops and the delivery fails for good.
    pub give_up_at: Option<Timestamp>,
}

impl Delivery {
    /// Whether a person has to look at it: `unknown` or finally `failed` (only an explicit
    /// re-send sends it again).
    pub fn needs_attention(&self) -> bool {
        matches!(self.state, DeliveryState::Unknown | DeliveryState::Failed)
    }
}

/// The answer of [`Store::begin_delivery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryStart {
    /// The caller may send now (nothing was sent before, a retry is due, or a person asked to
    /// send again); call [`Store::finish_delivery`] or [`Store::retry_delivery`] when done.
    Started,
    /// The report was delivered already: do not send it again.
    AlreadySent(Delivery),
    /// An earlier worker stopped mid-send, so whether the report arrived is unknown: do not
    /// send it again automatically.
    OutcomeUnknown(Delivery),
    /// Sending failed for good earlier: do not send it again automatically.
    Failed(Delivery),
}

/// The delivery states [`Store::begin_delivery`] starts sending from: a due retry, or (with
/// `$6`, an explicit re-send) a failed or unknown one.
macro_rules! restart {
    () => {
        "(d.state = 'retrying' OR ($6 AND d.state IN ('failed', 'unknown')))"
    };
}

/// Why [`Store::unknown_deliveries_of`] marks a delivery unknown.
pub(super) const ABANDONED_DELIVERY: &str =
    "a worker stopped while sending; some or all messages may have arrived, so it was not sent again";

impl Store {
    /// Records that `report` is about to be sent on `channel`, so it is sent at most once.
    ///
    /// - No record yet, or `retrying` (a delivery job's turn): the record becomes `sending`
    ///   (attempts + 1) and the answer is [`DeliveryStart::Started`]: send, then call
    ///   [`Store::finish_delivery`] or [`Store::retry_delivery`].
    /// - Already `sent`: [`DeliveryStart::AlreadySent`]; do not send.
    /// - Still `sending`: the worker that started it stopped mid-send, so the record becomes
    ///   `unknown` and the answer is [`DeliveryStart::OutcomeUnknown`]; do not send.
    /// - `unknown` or `failed`: [`DeliveryStart::OutcomeUnknown`] / [`DeliveryStart::Failed`],
    ///   unless `resend` (a person asked to send it again explicitly): then it starts again.
    pub async fn begin_delivery(
        &self,
        report: ReportId,
        job: Option<JobId>,
        channel: &str,
        now: Timestamp,
        resend: bool,
    ) -> Result<DeliveryStart, StoreError> {
        check_len("channel", channel, 100)?;
        // `restart`: the states from which this call starts sending again.
        const SQL: &str = concat!(
            "INSERT INTO report_deliveries AS d (report_id, job_id, channel, state, messages, error, ",
            "started_at, finished_at, attempts) VALUES ($1, $2, $3, 'sending', 0, NULL, $4, NULL, 1) ",
            "ON CONFLICT (report_id) DO UPDATE SET ",
            "state = CASE WHEN d.state = 'sending' THEN 'unknown' WHEN ",
            restart!(),
            " THEN 'sending' ELSE d.state END, ",
            "job_id = CASE WHEN ",
            restart!(),
            " THEN excluded.job_id ELSE d.job_id END, ",
            "channel = CASE WHEN ",
            restart!(),
            " THEN excluded.channel ELSE d.channel END, ",
            "messages = CASE WHEN ",
            restart!(),
            " THEN 0 ELSE d.messages END, ",
            "error = CASE WHEN d.state = 'sending' THEN $5 WHEN ",
            restart!(),
            " THEN NULL ELSE d.error END, ",
            "started_at = CASE WHEN ",
            restart!(),
            " THEN excluded.started_at ELSE d.started_at END, ",
            "finished_at = CASE WHEN d.state = 'sending' THEN excluded.started_at WHEN ",
            restart!(),
            " THEN NULL ELSE d.finished_at END, ",
            "attempts = CASE WHEN ",
            restart!(),
            " THEN d.attempts + 1 ELSE d.attempts END, ",
            "next_attempt_at = CASE WHEN ",
            restart!(),
            " THEN NULL ELSE d.next_attempt_at END ",
            "RETURNING *"
        );
        let delivery = on_pool!(self, |pool| {
            sqlx::query_as::<_, Delivery>(SQL)
                .bind(report)
                .bind(job)
                .bind(channel)
                .bind(now)
                .bind(ABANDONED_DELIVERY)
                .bind(resend)
                .fetch_one(pool)
                .await
        })
        .map_err(map)?;
        Ok(match delivery.state {
            DeliveryState::Sending | DeliveryState::Retrying => DeliveryStart::Started,
            DeliveryState::Sent => DeliveryStart::AlreadySent(delivery),
            DeliveryState::Unknown => DeliveryStart::OutcomeUnknown(delivery),
            DeliveryState::Failed => DeliveryStart::Failed(delivery),
        })
    }

    /// Records that sending `report` failed in a way a retry can fix: the delivery becomes
    /// `retrying`, to be tried again at `next_attempt_at` (by a delivery job) until
    /// `give_up_at`. Only a `sending` delivery changes; the record is returned.
    pub async fn retry_delivery(
        &self,
        report: ReportId,
        error: &str,
        next_attempt_at: Timestamp,
        give_up_at: Timestamp,
        now: Timestamp,
    ) -> Result<Delivery, StoreError> {
        const SQL: &str = "UPDATE report_deliveries SET state = 'retrying', error = $2, next_attempt_at = $3, \
                           give_up_at = COALESCE(give_up_at, $4), finished_at = $5 \
                           WHERE report_id = $1 AND state = 'sending' RETURNING *";
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, Delivery>(SQL)
                .bind(report)
                .bind(error)
                .bind(next_attempt_at)
                .bind(give_up_at)
                .bind(now)
                .fetch_optional(pool)
                .await
        })
        .map_err(map)?;
        self.changed_or_current(report, row).await
    }

    /// How many deliveries stand in each state (for metrics and alerts).
    pub async fn delivery_counts(&self) -> Result<Vec<(DeliveryState, u64)>, StoreError> {
        const SQL: &str = "SELECT state, COUNT(*) FROM report_deliveries GROUP BY state ORDER BY state";
        let rows: Vec<(DeliveryState, i64)> =
            on_pool!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await).map_err(map)?;
        Ok(rows.into_iter().map(|(state, n)| (state, u64::try_from(n).unwrap_or(0))).collect())
    }

    /// Records how sending `report` ended: `sent` with the number of messages delivered,
    /// `failed` (for good: only an explicit re-send sends it again) or `unknown`, at `now`.
    /// (A failure a retry can fix: [`Store::retry_delivery`].) A delivery recorded as sent stays
    /// sent (the record is returned unchanged). `NotFound` without [`Store::begin_delivery`].
    pub async fn finish_delivery(
        &self,
        report: ReportId,
        state: DeliveryState,
        messages: u32,
        error: Option<&str>,
        now: Timestamp,
    ) -> Result<Delivery, StoreError> {
        if matches!(state, DeliveryState::Sending | DeliveryState::Retrying) {
            return Err(ValidationError::new("state", "a delivery finishes as sent, failed or unknown").into());
        }
        let messages = i32::try_from(messages)
            .map_err(|_| ValidationError::new("messages", format!("must be at most {}", i32::MAX)))?;
        const SQL: &str = "UPDATE report_deliveries SET state = $2, messages = $3, error = $4, finished_at = $5, \
                           next_attempt_at = NULL WHERE report_id = $1 AND state <> 'sent' RETURNING *";
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, Delivery>(SQL)
                .bind(report)
                .bind(state)
                .bind(messages)
                .bind(error)
                .bind(now)
                .fetch_optional(pool)
                .await
        })
        .map_err(map)?;
        self.changed_or_current(report, row).await
    }

    /// The delivery an update returned, or (when the update matched nothing because the state
    /// did not allow it) the record as it stands; `NotFound` when there is none.
    async fn changed_or_current(&self, report: ReportId, row: Option<Delivery>) -> Result<Delivery, StoreError> {
        match row {
            Some(delivery) => Ok(delivery),
            None => found(self.get_delivery(report).await?, "delivery"),
        }
    }

    /// The delivery record of `report`, if sending it ever started.
    pub async fn get_delivery(&self, report: ReportId) -> Result<Option<Delivery>, StoreError> {
        const SQL: &str = "SELECT * FROM report_deliveries WHERE report_id = $1";
        on_pool!(self, |pool| sqlx::query_as::<_, Delivery>(SQL).bind(report).fetch_optional(pool).await).map_err(map)
    }
}

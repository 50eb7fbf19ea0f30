//! Per-tenant runtime settings: report mode, schedule, windows and caps.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Time, macros::time};

use super::string_enum;
use crate::{
    ValidationError,
    ids::TenantId,
    time::{TimeZoneName, Timestamp},
};

string_enum! {
    /// Which sources a report combines.
    pub enum ReportMode("mode") {
        /// amoCRM deals joined with Radist dialogs by phone.
        AmocrmRadist = "amocrm_radist",
        /// Radist dialogs only; each dialog becomes a row.
        RadistOnly = "radist_only",
        /// amoCRM deals only.
        AmocrmOnly = "amocrm_only",
    }
}

impl ReportMode {
    /// Whether this mode reads amoCRM.
    pub fn uses_amocrm(self) -> bool {
        matches!(self, Self::AmocrmRadist | Self::AmocrmOnly)
    }

    /// Whether this mode reads Radist.
    pub fn uses_radist(self) -> bool {
        matches!(self, Self::AmocrmRadist | Self::RadistOnly)
    }
}

/// A tenant's runtime settings (one row per tenant). [`TenantRuntimeConfig::defaults`] gives
/// the values DESIGN.md documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct TenantRuntimeConfig {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Which sources reports use.
    pub mode: ReportMode,
    /// Time zone for business days and schedules.
    pub timezone: TimeZoneName,
    /// Local time at which a business day starts (default 22:01).
    pub business_day_start: Time,
    /// Local time at which the scheduled report runs (default 22:10).
    pub scheduled_run_time: Time,
    /// Whether scheduled reports run.
    pub is_schedule_enabled: bool,
    /// How many Radist chats to read at most (default 200).
    pub radist_fetch_limit: i32,
    /// Deals with fewer messages are left out of a report (default 1).
    pub min_dialogs_for_report: i32,
    /// How many days back a manual window may start (default 3).
    pub max_force_lookback_days: i32,
    /// How long a manual window may be, in hours (default 24).
    pub max_force_window_hours: i32,
    /// How long follow-up questions are answered after a report, in minutes (default 60).
    pub telegram_followup_minutes: i32,
    /// Extra caps such as `max_leads` or `max_pages` (a JSON object).
    #[sqlx(json)]
    pub metadata: Value,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

impl TenantRuntimeConfig {
    /// The documented defaults for a tenant in `timezone`.
    pub fn defaults(tenant_id: TenantId, timezone: TimeZoneName) -> Self {
        Self {
            tenant_id,
            mode: ReportMode::AmocrmRadist,
            timezone,
            business_day_start: time!(22:01),
            scheduled_run_time: time!(22:10),
            is_schedule_enabled: true,
            radist_fetch_limit: 200,
            min_dialogs_for_report: 1,
            max_force_lookback_days: 3,
            max_force_window_hours: 24,
            telegram_followup_minutes: 60,
            metadata: Value::Object(Default::default()),
            updated_at: Timestamp::now(),
        }
    }

    /// Checks every numeric setting is within its range.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let range = |field: &'static str, value: i32, min: i32, max: i32| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(ValidationError::new(field, format!("must be between {min} and {max}, got {value}")))
            }
        };
        range("radist_fetch_limit", self.radist_fetch_limit, 1, 10_000)?;
        range("min_dialogs_for_report", self.min_dialogs_for_report, 0, 10_000)?;
        range("max_force_lookback_days", self.max_force_lookback_days, 0, 366)?;
        range("max_force_window_hours", self.max_force_window_hours, 1, 24 * 31)?;
        range("telegram_followup_minutes", self.telegram_followup_minutes, 0, 7 * 24 * 60)?;
        if !self.metadata.is_object() {
            return Err(ValidationError::new("metadata", "must be a JSON object"));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_design() {
        let c = TenantRuntimeConfig::defaults(TenantId::new(), TimeZoneName::utc());
        assert_eq!(c.business_day_start, time!(22:01));
        assert_eq!(c.scheduled_run_time, time!(22:10));
        assert_eq!((c.radist_fetch_limit, c.min_dialogs_for_report), (200, 1));
        assert_eq!((c.max_force_lookback_days, c.max_force_window_hours, c.telegram_followup_minutes), (3, 24, 60));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn out_of_range_settings_name_the_field() {
        let mut c = TenantRuntimeConfig::defaults(TenantId::new(), TimeZoneName::utc());
        c.max_force_window_hours = 0;
        let err = c.validate().unwrap_err();
        assert_eq!(err.field, "max_force_window_hours");
        assert!(err.message.contains("between 1 and"), "{err}");
    }

    #[test]
    fn modes_say_which_sources_they_read() {
        assert!(ReportMode::AmocrmRadist.uses_amocrm() && ReportMode::AmocrmRadist.uses_radist());
        assert!(!ReportMode::RadistOnly.uses_amocrm());
        assert!(!ReportMode::AmocrmOnly.uses_radist());
    }
}

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
    /// Which sources a report combines, named by capability: whichever CRM and chat connectors
    /// the tenant has (amoCRM and Radist are the bundled ones). The vendor names of the first
    /// release are still accepted.
    pub enum ReportMode("mode") {
        /// CRM deals joined with chat dialogs by phone.
        CrmChats = "crm_chats" | "amocrm_radist",
        /// Chat dialogs only; each dialog becomes a row.
        ChatsOnly = "chats_only" | "radist_only",
        /// CRM deals only.
        CrmOnly = "crm_only" | "amocrm_only",
    }
}

impl ReportMode {
    /// Whether this mode reads a CRM source.
    pub fn uses_crm(self) -> bool {
        matches!(self, Self::CrmChats | Self::CrmOnly)
    }

    /// Whether this mode reads a chat source.
    pub fn uses_chats(self) -> bool {
        matches!(self, Self::CrmChats | Self::ChatsOnly)
    }
}

/// A tenant's runtime settings (one row per tenant). [`TenantRuntimeConfig::defaults`] gives
/// the values DESIGN.md documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct TenantRuntimeConfig {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Which sources reports use.
    pub mode: ReportMode,
    /// Time zone for business days and schedules: always the tenant's own
    /// ([`Tenant::timezone`](super::Tenant::timezone)); the store reads it from the tenant, and
    /// saving a config with another zone changes the tenant's.
    pub timezone: TimeZoneName,
    /// Local time at which a business day starts (default 22:01).
    pub business_day_start: Time,
    /// Local time at which the scheduled report runs (default 22:10).
    pub scheduled_run_time: Time,
    /// Whether scheduled reports run.
    pub is_schedule_enabled: bool,
    /// Deals with fewer messages are left out of a report (default 1).
    pub min_dialogs_for_report: i32,
    /// How many days back a manual window may start (default 3).
    pub max_force_lookback_days: i32,
    /// How long a manual window may be, in hours (default 24).
    pub max_force_window_hours: i32,
    /// How long follow-up questions are answered after a report, in minutes (default 60).
    pub telegram_followup_minutes: i32,
    /// Extra settings (a JSON object); the one read today is `prompt`, the AI's instructions
    /// for the report text. Caps on what a source reads are set on its integration (amoCRM
    /// `max_pages`, Radist `max_chats`, ...), not here.
    #[cfg_attr(feature = "store", sqlx(json))]
    pub metadata: Value,
    /// When the current schedule took effect (the tenant was created, or its mode, time zone,
    /// business day, run time, schedule switch or status last changed): the scheduler never
    /// runs a window that was due before it, so a change never posts a report at once for a
    /// window that closed before the change. Kept by the store.
    pub schedule_from: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// A change to a tenant's runtime settings: each field left `None` stays as it is (see
/// `Service::update_runtime_config` in synkro-pipeline).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfigChange {
    /// New report mode.
    pub mode: Option<ReportMode>,
    /// New time zone (also the tenant's).
    pub timezone: Option<TimeZoneName>,
    /// New business day start.
    pub business_day_start: Option<Time>,
    /// New scheduled run time.
    pub scheduled_run_time: Option<Time>,
    /// Scheduled reports on or off.
    pub is_schedule_enabled: Option<bool>,
    /// New minimum of messages per deal.
    pub min_dialogs_for_report: Option<i32>,
    /// New manual-window lookback, in days.
    pub max_force_lookback_days: Option<i32>,
    /// New longest manual window, in hours.
    pub max_force_window_hours: Option<i32>,
    /// New follow-up answering time, in minutes.
    pub telegram_followup_minutes: Option<i32>,
    /// New extra settings (replaces the whole object).
    pub metadata: Option<Value>,
}

impl RuntimeConfigChange {
    /// `config` with this change applied (not yet validated: the store validates on save).
    pub fn apply(self, mut config: TenantRuntimeConfig) -> TenantRuntimeConfig {
        fn set<T>(field: &mut T, value: Option<T>) {
            if let Some(value) = value {
                *field = value;
            }
        }
        set(&mut config.mode, self.mode);
        set(&mut config.timezone, self.timezone);
        set(&mut config.business_day_start, self.business_day_start);
        set(&mut config.scheduled_run_time, self.scheduled_run_time);
        set(&mut config.is_schedule_enabled, self.is_schedule_enabled);
        set(&mut config.min_dialogs_for_report, self.min_dialogs_for_report);
        set(&mut config.max_force_lookback_days, self.max_force_lookback_days);
        set(&mut config.max_force_window_hours, self.max_force_window_hours);
        set(&mut config.telegram_followup_minutes, self.telegram_followup_minutes);
        set(&mut config.metadata, self.metadata);
        config
    }
}

/// The keys [`TenantRuntimeConfig::metadata`] may hold.
pub const METADATA_KEYS: &[&str] = &["prompt"];

/// The longest custom prompt, in characters.
pub const MAX_PROMPT_CHARS: usize = 20_000;

impl TenantRuntimeConfig {
    /// The documented defaults for a tenant in `timezone`.
    pub fn defaults(tenant_id: TenantId, timezone: TimeZoneName) -> Self {
        Self {
            tenant_id,
            mode: ReportMode::CrmChats,
            timezone,
            business_day_start: time!(22:01),
            scheduled_run_time: time!(22:10),
            is_schedule_enabled: true,
            min_dialogs_for_report: 1,
            max_force_lookback_days: 3,
            max_force_window_hours: 24,
            telegram_followup_minutes: 60,
            metadata: Value::Object(Default::default()),
            schedule_from: Timestamp::now(),
            updated_at: Timestamp::now(),
        }
    }

    /// Whether `other` runs reports at other times or in another way than `self`: mode, time
    /// zone, business day start, run time or the schedule switch differ.
    pub fn schedule_differs(&self, other: &Self) -> bool {
        (self.mode, &self.timezone, self.business_day_start, self.scheduled_run_time, self.is_schedule_enabled)
            != (
                other.mode,
                &other.timezone,
                other.business_day_start,
                other.scheduled_run_time,
                other.is_schedule_enabled,
            )
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
        range("min_dialogs_for_report", self.min_dialogs_for_report, 0, 10_000)?;
        range("max_force_lookback_days", self.max_force_lookback_days, 0, 366)?;
        range("max_force_window_hours", self.max_force_window_hours, 1, 24 * 31)?;
        range("telegram_followup_minutes", self.telegram_followup_minutes, 0, 7 * 24 * 60)?;
        let Some(metadata) = self.metadata.as_object() else {
            return Err(ValidationError::new("metadata", "must be a JSON object"));
        };
        for (key, value) in metadata {
            match key.as_str() {
                "prompt" => match value.as_str() {
                    Some(p) if p.chars().count() > MAX_PROMPT_CHARS => {
                        return Err(ValidationError::new(
                            "metadata.prompt",
                            format!("must be at most {MAX_PROMPT_CHARS} characters"),
                        ));
                    }
                    Some(_) => {}
                    None => return Err(ValidationError::new("metadata.prompt", "must be a string")),
                },
                cap @ ("max_leads" | "max_pages" | "max_chats" | "radist_fetch_limit") => {
                    return Err(ValidationError::new(
                        "metadata",
                        format!(
                            "{cap} does nothing here: caps on what a source reads are set on its integration \
                             (amoCRM max_pages, Radist max_chats, max_chat_pages, max_message_pages); remove it"
                        ),
                    ));
                }
                other => {
                    return Err(ValidationError::new(
                        "metadata",
                        format!("{other} is not a setting; known keys: {}", METADATA_KEYS.join(", ")),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_named_by_capability_and_the_old_names_still_read() {
        for (old, new) in [
            ("amocrm_radist", ReportMode::CrmChats),
            ("radist_only", ReportMode::ChatsOnly),
            ("amocrm_only", ReportMode::CrmOnly),
        ] {
            assert_eq!(old.parse::<ReportMode>().unwrap(), new);
            assert_eq!(serde_json::from_value::<ReportMode>(serde_json::json!(old)).unwrap(), new);
            assert_eq!(new.as_str().parse::<ReportMode>().unwrap(), new);
            assert!(!new.as_str().contains("amocrm") && !new.as_str().contains("radist"), "{new}");
        }
        let refused = "everything".parse::<ReportMode>().unwrap_err();
        assert!(refused.message.contains("crm_chats, chats_only, crm_only"), "{refused}");
    }

    #[test]
    fn defaults_match_the_design() {
        let c = TenantRuntimeConfig::defaults(TenantId::new(), TimeZoneName::utc());
        assert_eq!(c.business_day_start, time!(22:01));
        assert_eq!(c.scheduled_run_time, time!(22:10));
        assert_eq!(c.min_dialogs_for_report, 1);
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
    fn metadata_holds_only_settings_that_do_something() {
        let mut c = TenantRuntimeConfig::defaults(TenantId::new(), TimeZoneName::utc());
        c.metadata = serde_json::json!({"prompt": "Short, please."});
        assert!(c.validate().is_ok());
        c.metadata = serde_json::json!({"max_pages": 40});
        let err = c.validate().unwrap_err();
        assert_eq!(err.field, "metadata");
        assert!(err.message.contains("max_pages") && err.message.contains("integration"), "{err}");
        c.metadata = serde_json::json!({"colour": "red"});
        assert!(c.validate().unwrap_err().message.contains("colour is not a setting"));
        c.metadata = serde_json::json!({"prompt": 5});
        assert_eq!(c.validate().unwrap_err().field, "metadata.prompt");
    }

    #[test]
    fn modes_say_which_sources_they_read() {
        assert!(ReportMode::CrmChats.uses_crm() && ReportMode::CrmChats.uses_chats());
        assert!(!ReportMode::ChatsOnly.uses_crm());
        assert!(!ReportMode::CrmOnly.uses_chats());
    }
}

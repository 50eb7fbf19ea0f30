//! Per-tenant runtime settings: report mode, schedule, windows, language, the AI's
//! instructions and working hours.

use serde::{Deserialize, Serialize};
use time::{Time, Weekday, macros::time};

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

string_enum! {
    /// The language of a tenant's reports and of everything its bot writes: the default AI
    /// instructions, the rule-based report, the Telegram header, follow-up framing, replies and
    /// alerts.
    #[derive(Default)]
    pub enum Language("language") {
        /// Russian (the default).
        #[default]
        Ru = "ru",
        /// English.
        En = "en",
    }
}

impl Language {
    /// The language a browser prefers among the supported ones, from its `Accept-Language`
    /// header (`ru-RU,ru;q=0.9,en;q=0.8`): the highest `q` wins, earlier on ties; `None` when it
    /// names neither Russian nor English (the caller picks the default).
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(u16, Self)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let primary = tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
            let Ok(language) = primary.parse::<Self>() else { continue };
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0)
                .clamp(0.0, 1.0);
            let q = (q * 1000.0) as u16;
            if q > 0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, language));
            }
        }
        best.map(|(_, language)| language)
    }
}

/// The days of a week a team works, as a set.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct WeekDays(u8);

/// Three-letter names of the days, Monday first, as JSON writes them.
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl WeekDays {
    /// Monday to Friday.
    pub const MONDAY_TO_FRIDAY: Self = Self(0b001_1111);
    /// Every day.
    pub const EVERY_DAY: Self = Self(0b111_1111);

    /// The set of `days`.
    pub fn of(days: impl IntoIterator<Item = Weekday>) -> Self {
        Self(days.into_iter().fold(0, |set, d| set | 1 << d.number_days_from_monday()))
    }

    /// Whether `day` is in the set.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & 1 << day.number_days_from_monday() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The days' names (`mon` … `sun`), Monday first.
    pub fn names(self) -> Vec<&'static str> {
        (0..7).filter(|i| self.0 & 1 << i != 0).map(|i| DAY_NAMES[i]).collect()
    }

    /// Reads day names (`mon` … `sun`); an unknown name is refused with the accepted ones.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, ValidationError> {
        let mut set = 0u8;
        for name in names {
            let day = DAY_NAMES.iter().position(|d| d.eq_ignore_ascii_case(name.trim())).ok_or_else(|| {
                ValidationError::new(
                    "working_hours.days",
                    format!("{name:?} is not a day; use {}", DAY_NAMES.join(", ")),
                )
            })?;
            set |= 1 << day;
        }
        Ok(Self(set))
    }
}

impl std::fmt::Debug for WeekDays {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Serialize for WeekDays {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for WeekDays {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        Self::parse(names.iter().map(String::as_str)).map_err(serde::de::Error::custom)
    }
}

/// `HH:MM` for a [`Time`] in JSON.
mod hh_mm {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Time;

    pub fn serialize<S: Serializer>(t: &Time, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{:02}:{:02}", t.hour(), t.minute()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Time, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_clock("working_hours", &text).map_err(serde::de::Error::custom)
    }
}

/// Reads a local clock time, `HH:MM` (or `HH:MM:SS`), two digits each; `field` names it in the
/// error.
pub fn parse_clock(field: &'static str, text: &str) -> Result<Time, ValidationError> {
    let bad = || ValidationError::new(field, format!("{text:?} is not a time of day such as 22:10"));
    let parts: Vec<&str> = text.trim().split(':').collect();
    let number = |part: &str, max: u8| part.parse::<u8>().ok().filter(|n| part.len() == 2 && *n <= max);
    let parsed = match parts.as_slice() {
        [h, m] => number(h, 23).zip(number(m, 59)).map(|(h, m)| (h, m, 0)),
        [h, m, s] => number(h, 23).zip(number(m, 59)).zip(number(s, 59)).map(|((h, m), s)| (h, m, s)),
        _ => None,
    };
    let (h, m, s) = parsed.ok_or_else(bad)?;
    Time::from_hms(h, m, s).map_err(|_| bad())
}

/// When a tenant's sales team answers clients, in the tenant's time zone. With working hours
/// set, first response times count only time inside them (a question at 19:55 answered at 09:05
/// the next working day took 10 minutes when the day ends at 20:00 and starts at 09:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    /// Local time the working day starts, `HH:MM`.
    #[serde(with = "hh_mm")]
    pub start: Time,
    /// Local time it ends, `HH:MM`, after `start` (a day does not run past midnight).
    #[serde(with = "hh_mm")]
    pub end: Time,
    /// The working days (`mon` … `sun`); at least one.
    pub days: WeekDays,
}

impl WorkingHours {
    /// Checks the day has a length and the week a day.
    pub fn validate(&self) -> Result<(), ValidationError> {
        for (field, t) in [("working_hours.start", self.start), ("working_hours.end", self.end)] {
            if t.second() != 0 || t.nanosecond() != 0 {
                return Err(ValidationError::new(field, "must be whole minutes, HH:MM such as 09:00"));
            }
        }
        if self.end <= self.start {
            return Err(ValidationError::new("working_hours.end", "must be later than working_hours.start"));
        }
        if self.days.is_empty() {
            return Err(ValidationError::new("working_hours.days", "must name at least one day, such as mon"));
        }
        Ok(())
    }

    /// Seconds of working time between `from` and `to` in `zone` (0 when `to` is not after
    /// `from`). Each local day's hours are placed on the clock of that day, so a day on which
    /// the clocks change has its real length.
    pub fn seconds_between(&self, zone: &jiff::tz::TimeZone, from: Timestamp, to: Timestamp) -> u64 {
        let (from, to) = (from.to_jiff(), to.to_jiff());
        if to <= from {
            return 0;
        }
        let local = |ts: jiff::Timestamp| zone.to_datetime(ts).date();
        let (first, last) = (local(from), local(to));
        let clock = |t: Time| jiff::civil::time(t.hour() as i8, t.minute() as i8, 0, 0);
        let mut total = 0;
        let mut day = first;
        while day <= last {
            let weekday = Weekday::Monday.nth_next(day.weekday().to_monday_zero_offset().unsigned_abs());
            if self.days.contains(weekday) {
                let at = |t: Time| zone.to_ambiguous_timestamp(day.to_datetime(clock(t))).compatible().ok();
                if let (Some(start), Some(end)) = (at(self.start), at(self.end)) {
                    let (start, end) = (start.max(from), end.min(to));
                    if end > start {
                        total += u64::try_from(end.as_second() - start.as_second()).unwrap_or(0);
                    }
                }
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        total
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
    /// The language of the tenant's reports and bot messages (default Russian).
    pub language: Language,
    /// The tenant's own instructions for the AI's report; `None` uses the default for the
    /// language (`synkro_pipeline::ai_text::default_prompt`). At most [`MAX_PROMPT_CHARS`].
    pub prompt: Option<String>,
    /// When the sales team answers clients; `None` measures response times on the clock.
    #[cfg_attr(feature = "store", sqlx(json(nullable)))]
    pub working_hours: Option<WorkingHours>,
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
    /// New language.
    pub language: Option<Language>,
    /// New AI instructions: `Some(None)` goes back to the default.
    pub prompt: Option<Option<String>>,
    /// New working hours: `Some(None)` measures on the clock again.
    pub working_hours: Option<Option<WorkingHours>>,
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
        set(&mut config.language, self.language);
        set(&mut config.prompt, self.prompt);
        set(&mut config.working_hours, self.working_hours);
        config
    }
}

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
            language: Language::Ru,
            prompt: None,
            working_hours: None,
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
        if let Some(prompt) = &self.prompt {
            if prompt.trim().is_empty() {
                return Err(ValidationError::new("prompt", "must not be blank; clear it to use the default"));
            }
            if prompt.chars().count() > MAX_PROMPT_CHARS {
                return Err(ValidationError::new("prompt", format!("must be at most {MAX_PROMPT_CHARS} characters")));
            }
        }
        if let Some(hours) = &self.working_hours {
            hours.validate()?;
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
    fn the_prompt_is_a_bounded_text() {
        let mut c = TenantRuntimeConfig::defaults(TenantId::new(), TimeZoneName::utc());
        assert_eq!((c.language, c.prompt.as_deref()), (Language::Ru, None));
        c.prompt = Some("Short, please.".into());
        assert!(c.validate().is_ok());
        c.prompt = Some(" \n ".into());
        assert_eq!(c.validate().unwrap_err().field, "prompt");
        c.prompt = Some("x".repeat(MAX_PROMPT_CHARS + 1));
        let err = c.validate().unwrap_err();
        assert!(err.field == "prompt" && err.message.contains("20000"), "{err}");
    }

    #[test]
    fn a_browser_language_is_picked_by_preference() {
        let pick = Language::from_accept_language;
        assert_eq!(pick("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7"), Some(Language::Ru));
        assert_eq!(pick("en-GB,en;q=0.9,ru;q=0.8"), Some(Language::En));
        assert_eq!(pick("de-DE,de;q=0.9,en;q=0.5,ru;q=0.4"), Some(Language::En), "the best supported one");
        assert_eq!(pick("ru;q=0.5, en;q=0.5"), Some(Language::Ru), "earlier on ties");
        assert_eq!(pick("en;q=0, ru;q=0.1"), Some(Language::Ru), "q=0 means not wanted");
        assert_eq!(pick("de, fr;q=0.8"), None);
        assert_eq!(pick(""), None);
        assert_eq!(pick("*;q=0.5, en-x-very-long-garbage;q=abc"), Some(Language::En));
    }

    #[test]
    fn languages_read_from_their_codes() {
        assert_eq!("en".parse::<Language>().unwrap(), Language::En);
        assert!("de".parse::<Language>().unwrap_err().message.contains("ru, en"));
        assert_eq!(Language::default(), Language::Ru);
    }

    fn hours(start: &str, end: &str, days: &[&str]) -> WorkingHours {
        let json = serde_json::json!({"start": start, "end": end, "days": days});
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn working_hours_read_and_write_as_clock_times_and_day_names() {
        let h = hours("09:00", "18:30", &["mon", "TUE", "fri"]);
        assert_eq!((h.start, h.end), (time!(09:00), time!(18:30)));
        assert!(h.days.contains(Weekday::Tuesday) && !h.days.contains(Weekday::Wednesday));
        let back = serde_json::to_value(h).unwrap();
        assert_eq!(back, serde_json::json!({"start": "09:00", "end": "18:30", "days": ["mon", "tue", "fri"]}));
        let bad = serde_json::from_value::<WorkingHours>(serde_json::json!({"start": "9", "end": "18:00", "days": []}));
        assert!(bad.unwrap_err().to_string().contains("22:10"));
        let bad = serde_json::from_value::<WorkingHours>(serde_json::json!({"start": "09:00", "end": "18:00",
            "days": ["monday"]}));
        assert!(bad.unwrap_err().to_string().contains("mon, tue"));
        assert_eq!(hours("18:00", "09:00", &["mon"]).validate().unwrap_err().field, "working_hours.end");
        assert_eq!(hours("09:00", "18:00", &[]).validate().unwrap_err().field, "working_hours.days");
        assert_eq!(hours("09:00:30", "09:00:45", &["mon"]).validate().unwrap_err().field, "working_hours.start");
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn working_time_counts_only_working_hours_on_working_days() {
        let berlin = TimeZoneName::new("Europe/Berlin").unwrap().zone();
        let h = hours("09:00", "20:00", &["mon", "tue", "wed", "thu", "fri"]);
        let secs = |from, to| h.seconds_between(&berlin, at(from), at(to));
        // Inside one day: the clock.
        assert_eq!(secs("2026-03-02T09:00:00Z", "2026-03-02T09:45:00Z"), 45 * 60);
        // Friday 19:55 local (18:55Z, CET) to Monday 09:05: 5 minutes + 5 minutes.
        assert_eq!(secs("2026-03-06T18:55:00Z", "2026-03-09T08:05:00Z"), 10 * 60);
        // Asked at night, answered before the day starts: no working time passed.
        assert_eq!(secs("2026-03-02T22:00:00Z", "2026-03-03T07:30:00Z"), 0);
        assert_eq!(secs("2026-03-02T10:00:00Z", "2026-03-02T09:00:00Z"), 0);
        // The spring-forward Sunday is no working day; Monday after it starts at 09:00 CEST
        // (07:00Z), a summer hour earlier on the UTC clock.
        assert_eq!(secs("2026-03-27T18:00:00Z", "2026-03-30T07:30:00Z"), 60 * 60 + 30 * 60);
        // On every day, the day of the change has 11 working hours still.
        let daily = hours("00:30", "23:30", &["sun"]);
        let sunday = daily.seconds_between(&berlin, at("2026-03-28T12:00:00Z"), at("2026-03-30T00:00:00Z"));
        assert_eq!(sunday, 22 * 3600, "23 clock hours that day, one of them skipped");
    }

    #[test]
    fn modes_say_which_sources_they_read() {
        assert!(ReportMode::CrmChats.uses_crm() && ReportMode::CrmChats.uses_chats());
        assert!(!ReportMode::ChatsOnly.uses_crm());
        assert!(!ReportMode::CrmOnly.uses_chats());
    }
}

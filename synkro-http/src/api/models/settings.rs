//! The connector registry, a tenant's integrations and its runtime configuration.

use std::collections::BTreeMap;

use poem_openapi::{Enum, Object, types::MaybeUndefined};
use serde::Deserialize;
use serde_json::Value;
use synkro_core::{
    ValidationError,
    connector::{CheckReport, ConnectorSpec, FieldSpec, FieldType},
    domain::{IntegrationConfig, Language, TenantRuntimeConfig, WeekDays, WorkingHours, parse_clock},
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{ModeName, at};

/// One configuration field of a connector.
#[derive(Debug, Object)]
pub struct FieldOut {
    /// The key in `public_config` or `secrets`.
    pub name: String,
    /// `string`, `url`, `integer`, `boolean` or `choice`.
    #[oai(rename = "type")]
    pub field_type: String,
    /// Whether the connector cannot work without it.
    pub required: bool,
    /// What it is.
    pub description: String,
    /// An example value (never a real secret).
    pub example: String,
    /// Accepted values of a `choice` field.
    pub choices: Vec<String>,
}

impl From<&FieldSpec> for FieldOut {
    fn from(f: &FieldSpec) -> Self {
        let field_type = match f.field_type {
            FieldType::String => "string",
            FieldType::Url => "url",
            FieldType::Integer => "integer",
            FieldType::Boolean => "boolean",
            FieldType::Choice => "choice",
        };
        Self {
            name: f.name.to_owned(),
            field_type: field_type.to_owned(),
            required: f.required,
            description: f.description.to_owned(),
            example: f.example.to_owned(),
            choices: f.choices.iter().map(|c| (*c).to_owned()).collect(),
        }
    }
}

/// A linked connector and the fields its integrations take.
#[derive(Debug, Object)]
pub struct ConnectorOut {
    /// Kind, as used in integration paths (`amocrm`).
    pub kind: String,
    /// Name for people.
    pub display_name: String,
    /// Version.
    pub version: String,
    /// What it connects to.
    pub description: String,
    /// What it provides: `crm_source`, `chat_source`, `warehouse`, `language_model`, `messenger`.
    pub capabilities: Vec<String>,
    /// Non-secret settings.
    pub public_fields: Vec<FieldOut>,
    /// Secret settings: write-only, never returned.
    pub secret_fields: Vec<FieldOut>,
}

impl From<&ConnectorSpec> for ConnectorOut {
    fn from(s: &ConnectorSpec) -> Self {
        let capabilities = s
            .capabilities
            .iter()
            .map(|c| serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default())
            .collect();
        Self {
            kind: s.kind.to_owned(),
            display_name: s.display_name.to_owned(),
            version: s.version.to_owned(),
            description: s.description.to_owned(),
            capabilities,
            public_fields: s.public_fields.iter().map(FieldOut::from).collect(),
            secret_fields: s.secret_fields.iter().map(FieldOut::from).collect(),
        }
    }
}

/// Whether a secret field holds a value (the value itself is never shown).
#[derive(Debug, Object)]
pub struct SecretFieldOut {
    /// The field.
    pub name: String,
    /// Whether a value is stored.
    pub is_set: bool,
}

/// A tenant's integration with one connector, without secret values.
#[derive(Debug, Object)]
pub struct IntegrationOut {
    /// Id.
    pub id: Uuid,
    /// Tenant.
    pub tenant_id: Uuid,
    /// Connector kind.
    pub kind: String,
    /// Result of the last check: `unknown` (not checked since the last change), `ok`, `error`.
    pub status: String,
    /// Non-secret settings.
    pub public_config: Value,
    /// Every secret field of the connector and whether it is set.
    pub secrets: Vec<SecretFieldOut>,
    /// The last check's error.
    pub last_error: Option<String>,
    /// When it was last checked.
    pub last_checked_at: Option<OffsetDateTime>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    pub updated_at: OffsetDateTime,
}

impl IntegrationOut {
    /// The API view of `integration`; `set` names the secret fields holding a value.
    pub fn new(integration: IntegrationConfig, spec: Option<&ConnectorSpec>, set: &[String]) -> Self {
        let mut secrets: Vec<SecretFieldOut> = spec
            .map(|s| s.secret_fields.iter().map(|f| f.name.to_owned()).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .map(|name| SecretFieldOut { is_set: set.contains(&name), name })
            .collect();
        let unknown: Vec<SecretFieldOut> = set
            .iter()
            .filter(|n| !secrets.iter().any(|s| &s.name == *n))
            .map(|name| SecretFieldOut { name: name.clone(), is_set: true })
            .collect();
        secrets.extend(unknown);
        Self {
            id: integration.id.as_uuid(),
            tenant_id: integration.tenant_id.as_uuid(),
            kind: integration.kind.to_string(),
            status: integration.status.to_string(),
            public_config: integration.public_config,
            secrets,
            last_error: integration.last_error,
            last_checked_at: integration.last_checked_at.map(at),
            created_at: at(integration.created_at),
            updated_at: at(integration.updated_at),
        }
    }
}

/// What to do with a secret field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum SecretAction {
    /// Leave the stored value (the same as omitting the field).
    Keep,
    /// Store `value` instead.
    Replace,
    /// Remove the stored value.
    Clear,
}

/// A change to one secret field.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretUpdate {
    /// Keep, replace or clear.
    pub action: SecretAction,
    /// The new value (`replace` only).
    #[oai(write_only)]
    #[serde(default)]
    pub value: Option<String>,
}

/// An integration's settings: every public field (omitted ones are unset) and the secret
/// fields to change (omitted ones are kept).
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaveIntegration {
    /// Non-secret settings by field name (see the connector's `public_fields`).
    #[serde(default)]
    pub public_config: Option<Value>,
    /// Secret fields by name (see the connector's `secret_fields`).
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretUpdate>,
}

/// The outcome of a credential check.
#[derive(Debug, Object)]
pub struct CheckOut {
    /// Whether the check passed.
    pub ok: bool,
    /// The failure class when it did not: `auth`, `permission`, `config`, `rate_limited`,
    /// `network`, `upstream`.
    pub class: Option<String>,
    /// Whether trying again later can help by itself.
    pub retryable: bool,
    /// What happened.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// How long the check took, in milliseconds.
    pub latency_ms: u64,
    /// What the check learned (account name, bot username, ...).
    pub details: Value,
    /// The integration with the recorded status.
    pub integration: IntegrationOut,
}

impl CheckOut {
    /// The API view of a check.
    pub fn new(report: CheckReport, integration: IntegrationOut) -> Self {
        Self {
            ok: report.ok,
            class: report.class.map(|c| c.as_str().to_owned()),
            retryable: report.retryable,
            message: report.message,
            hint: report.hint,
            latency_ms: u64::try_from(report.latency.as_millis()).unwrap_or(u64::MAX),
            details: report.details,
            integration,
        }
    }
}

/// Models a language-model integration can use.
#[derive(Debug, Object)]
pub struct ModelList {
    /// Model ids, sorted.
    pub models: Vec<String>,
}

fn hhmm(t: time::Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// A tenant's runtime settings.
#[derive(Debug, Object)]
pub struct RuntimeConfigOut {
    /// Which sources reports use.
    pub mode: ModeName,
    /// IANA time zone of business days and the schedule: the tenant's own (changing it here
    /// changes the tenant's, and the other way round).
    pub timezone: String,
    /// Local time a business day starts, `HH:MM`.
    pub business_day_start: String,
    /// Local time the scheduled report runs, `HH:MM`.
    pub scheduled_run_time: String,
    /// Whether scheduled reports run.
    pub is_schedule_enabled: bool,
    /// Deals with fewer messages are left out.
    pub min_dialogs_for_report: i32,
    /// How many days back a manual window may start.
    pub max_force_lookback_days: i32,
    /// Longest manual window, in hours.
    pub max_force_window_hours: i32,
    /// Follow-up questions are answered for this many minutes after a report.
    pub telegram_followup_minutes: i32,
    /// The language of reports, the Telegram header, the bot's replies and alerts.
    pub language: LanguageName,
    /// The tenant's own instructions for the AI's report; `null` uses `default_prompt`.
    pub prompt: Option<String>,
    /// The instructions used when `prompt` is `null`, in the tenant's language: a starting point
    /// for writing one's own.
    pub default_prompt: String,
    /// When the sales team answers clients; first response times count only time inside these
    /// hours. `null`: response times are measured on the clock.
    pub working_hours: Option<WorkingHoursIo>,
    /// Scheduled reports run for windows due from this time on: it moves to the time of a
    /// change of mode, time zone, business day start, run time, schedule switch or tenant
    /// status, so a change never posts a report at once for a window that closed before it.
    pub schedule_from: OffsetDateTime,
    /// When it was last changed (a new tenant starts at the defaults, saved at its creation).
    pub updated_at: OffsetDateTime,
}

impl RuntimeConfigOut {
    /// The API view.
    pub fn new(c: TenantRuntimeConfig) -> Self {
        Self {
            mode: c.mode.into(),
            timezone: c.timezone.as_str().to_owned(),
            business_day_start: hhmm(c.business_day_start),
            scheduled_run_time: hhmm(c.scheduled_run_time),
            is_schedule_enabled: c.is_schedule_enabled,
            min_dialogs_for_report: c.min_dialogs_for_report,
            max_force_lookback_days: c.max_force_lookback_days,
            max_force_window_hours: c.max_force_window_hours,
            telegram_followup_minutes: c.telegram_followup_minutes,
            language: c.language.into(),
            default_prompt: synkro_pipeline::ai_text::default_prompt(c.language).to_owned(),
            prompt: c.prompt,
            working_hours: c.working_hours.map(Into::into),
            schedule_from: at(c.schedule_from),
            updated_at: at(c.updated_at),
        }
    }
}

/// Changes to a tenant's runtime settings; omitted fields stay as they are.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRuntimeConfig {
    /// Which sources reports use.
    #[serde(default)]
    pub mode: Option<ModeName>,
    /// IANA time zone such as `Europe/Berlin`; this is the tenant's time zone, so it changes the
    /// tenant's too.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Local time a business day starts, `HH:MM`.
    #[serde(default)]
    pub business_day_start: Option<String>,
    /// Local time the scheduled report runs, `HH:MM`.
    #[serde(default)]
    pub scheduled_run_time: Option<String>,
    /// Whether scheduled reports run.
    #[serde(default)]
    pub is_schedule_enabled: Option<bool>,
    /// 0-10000.
    #[serde(default)]
    pub min_dialogs_for_report: Option<i32>,
    /// 0-366.
    #[serde(default)]
    pub max_force_lookback_days: Option<i32>,
    /// 1-744.
    #[serde(default)]
    pub max_force_window_hours: Option<i32>,
    /// 0-10080.
    #[serde(default)]
    pub telegram_followup_minutes: Option<i32>,
    /// `ru` or `en`.
    #[serde(default)]
    pub language: Option<LanguageName>,
    /// The AI's instructions for the report, at most 20,000 characters; `null` goes back to the
    /// default for the tenant's language (shown as `default_prompt`).
    #[serde(default)]
    pub prompt: MaybeUndefined<String>,
    /// `{"start": "09:00", "end": "18:00", "days": ["mon", "tue", "wed", "thu", "fri"]}`;
    /// `null` measures response times on the clock again.
    #[serde(default)]
    pub working_hours: MaybeUndefined<WorkingHoursIo>,
}

/// The language of a tenant's reports and bot messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum LanguageName {
    /// Russian.
    Ru,
    /// English.
    En,
}

impl From<LanguageName> for Language {
    fn from(l: LanguageName) -> Self {
        match l {
            LanguageName::Ru => Language::Ru,
            LanguageName::En => Language::En,
        }
    }
}

impl From<Language> for LanguageName {
    fn from(l: Language) -> Self {
        match l {
            Language::Ru => LanguageName::Ru,
            Language::En => LanguageName::En,
        }
    }
}

/// A team's working hours in the tenant's time zone.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "WorkingHours")]
#[serde(deny_unknown_fields)]
pub struct WorkingHoursIo {
    /// Local time the working day starts, `HH:MM`.
    pub start: String,
    /// Local time it ends, `HH:MM`, later than `start`.
    pub end: String,
    /// Working days: `mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun`; at least one.
    pub days: Vec<String>,
}

impl From<WorkingHours> for WorkingHoursIo {
    fn from(h: WorkingHours) -> Self {
        Self { start: hhmm(h.start), end: hhmm(h.end), days: h.days.names().into_iter().map(str::to_owned).collect() }
    }
}

impl WorkingHoursIo {
    /// The hours, checked: clock times, known days, a day with a length.
    pub fn parse(&self) -> Result<WorkingHours, ValidationError> {
        let hours = WorkingHours {
            start: parse_clock("working_hours.start", &self.start)?,
            end: parse_clock("working_hours.end", &self.end)?,
            days: WeekDays::parse(self.days.iter().map(String::as_str))?,
        };
        hours.validate()?;
        Ok(hours)
    }
}

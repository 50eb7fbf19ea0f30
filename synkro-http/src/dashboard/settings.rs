//! Settings (superusers, `super_admin`, `admin_lite`): a tenant's runtime config with every
//! field explained, and one card per linked connector generated from the registry's field specs
//! (a connector a team adds appears here with no change to the dashboard), each with save and
//! check; the AI model list from the provider; secrets shown only as "set", with replace and
//! clear, never echoed.

use std::collections::BTreeMap;

use askama::Template;
use poem::{
    Request, Response, handler,
    http::StatusCode,
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;
use serde_json::{Map, Value};
use synkro_core::{
    Secret, ValidationError,
    connector::{CheckReport, ConnectorSpec, FieldSpec, FieldType},
    domain::{
        ConnectorKind, IntegrationConfig, IntegrationStatus, Language, ReportMode, RuntimeConfigChange,
        TenantRuntimeConfig, WeekDays, WorkingHours, parse_clock,
    },
    ids::TenantId,
    time::TimeZoneName,
};
use synkro_pipeline::settings::{IntegrationUpdate, SecretChange, secrets_set};
use uuid::Uuid;

use super::{
    Frame, PageResult, Section, Ui, Visit, either, form_visit, id_in, overview::integration_word, page, refusal,
    reports::mode_word, see_other, visit,
};
use crate::{
    AppState, access,
    access::Action,
    api::settings::{check_integration, save_integration, update_runtime_config},
    error::ApiError,
};

/// One public field's input.
struct FieldInput {
    name: &'static str,
    help: &'static str,
    example: &'static str,
    required: bool,
    /// `text`, `url`, `number`, `checkbox` or `select`.
    input: &'static str,
    value: String,
    choices: Vec<(&'static str, bool)>,
    /// Models the provider offered, for a `model` field.
    suggestions: Vec<String>,
}

/// One secret field: whether it is set, never its value.
struct SecretInput {
    name: &'static str,
    help: &'static str,
    required: bool,
    set: bool,
}

/// The outcome of a check, for its card.
struct CheckView {
    ok: bool,
    class: Option<String>,
    message: String,
    hint: Option<String>,
    millis: u128,
}

/// One connector's card.
struct Card {
    kind: &'static str,
    title: &'static str,
    description: &'static str,
    configured: bool,
    ok: bool,
    status: &'static str,
    checked: Option<String>,
    last_error: Option<String>,
    fields: Vec<FieldInput>,
    secrets: Vec<SecretInput>,
    check: Option<CheckView>,
    lists_models: bool,
    models_error: Option<String>,
    message: Option<String>,
    saved: bool,
}

/// The runtime config form's values.
struct ConfigForm {
    modes: Vec<(&'static str, &'static str, bool)>,
    languages: Vec<(&'static str, &'static str, bool)>,
    timezone: String,
    business_day_start: String,
    scheduled_run_time: String,
    schedule_enabled: bool,
    min_dialogs: i32,
    lookback_days: i32,
    window_hours: i32,
    followup_minutes: i32,
    prompt: String,
    default_prompt: &'static str,
    hours_on: bool,
    hours_start: String,
    hours_end: String,
    days: Vec<(&'static str, &'static str, bool)>,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    t: &'static Ui,
    f: Frame,
    tenants: Vec<(String, String, bool)>,
    tenant: String,
    tenant_name: String,
    config: ConfigForm,
    config_message: Option<String>,
    config_saved: bool,
    cards: Vec<Card>,
}

/// What the page shows besides the stored state: a save or check just done on one card.
#[derive(Default)]
struct Outcome {
    card: Option<String>,
    message: Option<String>,
    saved: bool,
    check: Option<CheckReport>,
    models: Option<Result<Vec<String>, String>>,
    config_message: Option<String>,
    config_saved: bool,
}

#[derive(Deserialize, Default)]
pub(super) struct SettingsQuery {
    tenant: Option<String>,
    /// A card just saved.
    saved: Option<String>,
}

fn hhmm(t: time::Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

fn config_form(t: &Ui, c: &TenantRuntimeConfig) -> ConfigForm {
    let hours = c.working_hours.unwrap_or(WorkingHours {
        start: time::macros::time!(09:00),
        end: time::macros::time!(18:00),
        days: WeekDays::MONDAY_TO_FRIDAY,
    });
    let day_words = [t.mon, t.tue, t.wed, t.thu, t.fri, t.sat, t.sun];
    let on: Vec<&str> = hours.days.names();
    ConfigForm {
        modes: [ReportMode::CrmChats, ReportMode::ChatsOnly, ReportMode::CrmOnly]
            .into_iter()
            .map(|m| (m.as_str(), mode_word(t, m), m == c.mode))
            .collect(),
        languages: vec![("ru", "Русский", c.language == Language::Ru), ("en", "English", c.language == Language::En)],
        timezone: c.timezone.as_str().to_owned(),
        business_day_start: hhmm(c.business_day_start),
        scheduled_run_time: hhmm(c.scheduled_run_time),
        schedule_enabled: c.is_schedule_enabled,
        min_dialogs: c.min_dialogs_for_report,
        lookback_days: c.max_force_lookback_days,
        window_hours: c.max_force_window_hours,
        followup_minutes: c.telegram_followup_minutes,
        prompt: c.prompt.clone().unwrap_or_default(),
        default_prompt: synkro_pipeline::ai_text::default_prompt(c.language),
        hours_on: c.working_hours.is_some(),
        hours_start: hhmm(hours.start),
        hours_end: hhmm(hours.end),
        days: WeekDays::EVERY_DAY.names().into_iter().zip(day_words).map(|(n, w)| (n, w, on.contains(&n))).collect(),
    }
}

fn input_kind(field: &FieldSpec) -> &'static str {
    match field.field_type {
        FieldType::String => "text",
        FieldType::Url => "url",
        FieldType::Integer => "number",
        FieldType::Boolean => "checkbox",
        FieldType::Choice => "select",
    }
}

fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn card(
    state: &AppState,
    v: &Visit,
    spec: &ConnectorSpec,
    found: Option<&IntegrationConfig>,
    zone: &TimeZoneName,
    outcome: &Outcome,
) -> Card {
    let t = v.t;
    let mine = outcome.card.as_deref() == Some(spec.kind);
    let set: Vec<String> = found.and_then(|i| secrets_set(state.service.keyring(), i).ok()).unwrap_or_default();
    let models = if mine { outcome.models.as_ref() } else { None };
    let fields = spec
        .public_fields
        .iter()
        .map(|f| {
            let value = shown(found.and_then(|i| i.public_config.get(f.name)));
            FieldInput {
                name: f.name,
                help: f.description,
                example: f.example,
                required: f.required,
                input: input_kind(f),
                choices: f.choices.iter().map(|c| (*c, *c == value)).collect(),
                suggestions: match models {
                    Some(Ok(list)) if f.name == "model" => list.clone(),
                    _ => Vec::new(),
                },
                value,
            }
        })
        .collect();
    let secrets = spec
        .secret_fields
        .iter()
        .map(|f| SecretInput {
            name: f.name,
            help: f.description,
            required: f.required,
            set: set.iter().any(|s| s == f.name),
        })
        .collect();
    let check = if mine { outcome.check.as_ref() } else { None }.map(|r| CheckView {
        ok: r.ok,
        class: r.class.map(|c| c.as_str().to_owned()),
        message: r.message.clone(),
        hint: r.hint.clone(),
        millis: r.latency.as_millis(),
    });
    Card {
        kind: spec.kind,
        title: spec.display_name,
        description: spec.description,
        configured: found.is_some(),
        ok: found.is_some_and(|i| i.status == IntegrationStatus::Ok),
        status: found.map_or(t.not_configured, |i| integration_word(t, i.status)),
        checked: found.and_then(|i| i.last_checked_at).map(|at| v.time(at, zone)),
        last_error: found.and_then(|i| i.last_error.clone()),
        fields,
        secrets,
        check,
        lists_models: spec.capabilities.contains(&synkro_core::connector::Capability::LanguageModel),
        models_error: match models {
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        },
        message: if mine { outcome.message.clone() } else { None },
        saved: mine && outcome.saved,
    }
}

/// The tenants whose settings the visitor manages, by name.
async fn managed(state: &AppState, v: &Visit) -> Result<Vec<synkro_core::domain::Tenant>, ApiError> {
    access::tenants_for(state, &v.caller, Action::ManageSettings).await
}

/// The tenant `id` if the visitor manages its settings; "not found" otherwise, also for those
/// who may only read it.
fn settings_of(v: &Visit, id: TenantId) -> Result<TenantId, ApiError> {
    if access::allowed(&v.caller, id, Action::ManageSettings) { Ok(id) } else { Err(ApiError::NotFound("tenant")) }
}

async fn render(state: &AppState, v: &Visit, wanted: Option<Uuid>, status: StatusCode, outcome: Outcome) -> PageResult {
    let t = v.t;
    let loaded = async {
        let tenants = managed(state, v).await?;
        let id = match wanted {
            Some(id) => settings_of(v, TenantId::from_uuid(id))?,
            None => tenants.first().map(|t| t.id).ok_or(ApiError::NotFound("tenant"))?,
        };
        let tenant = match tenants.iter().find(|t| t.id == id) {
            Some(t) => t.clone(),
            None => state.tenant(id).await?,
        };
        let config = state.service.runtime_config(id).await?;
        let integrations = state.store().list_integrations(id).await?;
        Ok::<_, ApiError>((tenants, tenant, config, integrations))
    };
    let (tenants, tenant, config, integrations) = loaded.await.map_err(|e| v.error(e))?;
    let zone = &config.timezone;
    let cards = state
        .service
        .registry()
        .specs()
        .iter()
        .map(|spec| card(state, v, spec, integrations.iter().find(|i| i.kind.as_str() == spec.kind), zone, &outcome))
        .collect();
    let rendered = SettingsPage {
        t,
        f: v.frame(Section::Settings),
        tenants: tenants.iter().map(|x| (x.id.as_uuid().to_string(), x.name.clone(), x.id == tenant.id)).collect(),
        tenant: tenant.id.as_uuid().to_string(),
        tenant_name: tenant.name,
        config: config_form(t, &config),
        config_message: outcome.config_message,
        config_saved: outcome.config_saved,
        cards,
    }
    .render();
    Ok(page(status, rendered))
}

#[handler]
pub(super) async fn settings_page(state: Data<&AppState>, req: &Request, query: Query<SettingsQuery>) -> Response {
    either(
        async {
            let v = visit(&state, req).await?;
            let q = query.0;
            let wanted = id_in(v.t, "tenant", q.tenant.as_deref()).map_err(|e| v.error(e))?;
            let mut outcome = Outcome::default();
            if q.saved.as_deref() == Some("runtime") {
                outcome.config_saved = true;
            } else if let Some(kind) = q.saved {
                outcome.card = Some(kind);
                outcome.saved = true;
            }
            render(&state, &v, wanted, StatusCode::OK, outcome).await
        }
        .await,
    )
}

/// A submitted form as its name/value pairs.
type Fields = Vec<(String, String)>;

fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn tenant_field(v: &Visit, fields: &Fields) -> Result<(Uuid, TenantId), Response> {
    let id = field(fields, "tenant")
        .and_then(|t| t.parse::<Uuid>().ok())
        .ok_or_else(|| v.error(ApiError::NotFound("tenant")))?;
    let tenant = settings_of(v, TenantId::from_uuid(id)).map_err(|e| v.error(e))?;
    Ok((id, tenant))
}

fn number<T: std::str::FromStr>(t: &Ui, fields: &Fields, name: &'static str) -> Result<T, ValidationError> {
    field(fields, name).unwrap_or_default().trim().parse().map_err(|_| ValidationError::new(name, t.not_whole_number))
}

/// The runtime config form as a change of every field it shows.
fn runtime_change(t: &Ui, fields: &Fields) -> Result<RuntimeConfigChange, ValidationError> {
    let text = |name: &str| field(fields, name).unwrap_or_default().trim().to_owned();
    let prompt = text("prompt");
    let working_hours = if field(fields, "hours_on").is_some() {
        let days = fields.iter().filter(|(k, _)| k == "day").map(|(_, v)| v.as_str());
        let hours = WorkingHours {
            start: parse_clock("working_hours.start", &text("hours_start"))?,
            end: parse_clock("working_hours.end", &text("hours_end"))?,
            days: WeekDays::parse(days)?,
        };
        hours.validate()?;
        Some(hours)
    } else {
        None
    };
    Ok(RuntimeConfigChange {
        mode: Some(text("mode").parse().map_err(|_| ValidationError::new("mode", t.bad_choice))?),
        timezone: Some(TimeZoneName::new(&text("timezone"))?),
        business_day_start: Some(parse_clock("business_day_start", &text("business_day_start"))?),
        scheduled_run_time: Some(parse_clock("scheduled_run_time", &text("scheduled_run_time"))?),
        is_schedule_enabled: Some(field(fields, "is_schedule_enabled").is_some()),
        min_dialogs_for_report: Some(number(t, fields, "min_dialogs_for_report")?),
        max_force_lookback_days: Some(number(t, fields, "max_force_lookback_days")?),
        max_force_window_hours: Some(number(t, fields, "max_force_window_hours")?),
        telegram_followup_minutes: Some(number(t, fields, "telegram_followup_minutes")?),
        language: Some(text("language").parse().map_err(|_| ValidationError::new("language", t.bad_choice))?),
        prompt: Some(Some(prompt).filter(|p| !p.is_empty())),
        working_hours: Some(working_hours),
    })
}

#[handler]
pub(super) async fn save_runtime(state: Data<&AppState>, req: &Request, form: Form<Fields>) -> Response {
    either(
        async {
            let fields = form.0;
            let v = form_visit(&state, req, field(&fields, "csrf").unwrap_or_default()).await?;
            let (id, tenant) = tenant_field(&v, &fields)?;
            let saved = async {
                let change = runtime_change(v.t, &fields)?;
                update_runtime_config(&state, req, &v.caller, tenant, change).await
            };
            match saved.await {
                Ok(_) => Ok(see_other(&format!("/settings?tenant={id}&saved=runtime#runtime"))),
                Err(e @ (ApiError::NotFound(_) | ApiError::Forbidden)) => Err(v.error(e)),
                Err(e) => {
                    let outcome = Outcome { config_message: Some(refusal(v.t, &e)), ..Default::default() };
                    render(&state, &v, Some(id), poem::error::ResponseError::status(&e), outcome).await
                }
            }
        }
        .await,
    )
}

/// The card's form as an integration update: public fields typed by their spec (empty ones
/// left out), each secret kept, replaced (a value typed) or cleared (the box ticked).
fn integration_update(t: &Ui, spec: &ConnectorSpec, fields: &Fields) -> Result<IntegrationUpdate, ValidationError> {
    let mut public_config = Map::new();
    for f in spec.public_fields {
        let key = format!("public.{}", f.name);
        let raw = field(fields, &key).unwrap_or_default().trim();
        let value = match f.field_type {
            FieldType::Boolean => Value::Bool(raw == "true"),
            _ if raw.is_empty() => continue,
            FieldType::Integer => {
                Value::from(raw.parse::<i64>().map_err(|_| ValidationError::new(f.name, t.not_whole_number))?)
            }
            _ => Value::String(raw.to_owned()),
        };
        public_config.insert(f.name.to_owned(), value);
    }
    let mut secrets = BTreeMap::new();
    for f in spec.secret_fields {
        let typed = field(fields, &format!("secret.{}", f.name)).unwrap_or_default();
        let clear = field(fields, &format!("clear.{}", f.name)).is_some();
        let change = match (typed.is_empty(), clear) {
            (true, false) => SecretChange::Keep,
            (true, true) => SecretChange::Clear,
            (false, false) => SecretChange::Replace(Secret::new(typed.to_owned())),
            (false, true) => return Err(ValidationError::new(f.name, t.type_or_clear)),
        };
        secrets.insert(f.name.to_owned(), change);
    }
    Ok(IntegrationUpdate { public_config, secrets })
}

/// A submitted connector card: who sends it, for which tenant and connector.
struct Submitted {
    v: Visit,
    /// The tenant's id as the form sent it (for the page's address).
    id: Uuid,
    tenant: TenantId,
    kind: ConnectorKind,
    spec: &'static ConnectorSpec,
}

impl Submitted {
    /// The settings page again with `outcome` on this card.
    async fn page(&self, state: &AppState, status: StatusCode, outcome: Outcome) -> PageResult {
        let outcome = Outcome { card: Some(self.kind.to_string()), ..outcome };
        render(state, &self.v, Some(self.id), status, outcome).await
    }

    /// The page again with why the card's change was refused.
    async fn refused(&self, state: &AppState, e: ApiError) -> PageResult {
        let outcome = Outcome { message: Some(refusal(self.v.t, &e)), ..Default::default() };
        self.page(state, poem::error::ResponseError::status(&e), outcome).await
    }
}

/// The card form's sender (its CSRF token checked), tenant (its settings theirs to manage) and
/// connector (one the registry links).
async fn submitted(state: &AppState, req: &Request, kind: &str, fields: &Fields) -> Result<Submitted, Response> {
    let v = form_visit(state, req, field(fields, "csrf").unwrap_or_default()).await?;
    let (id, tenant) = tenant_field(&v, fields)?;
    let not_found = |v: &Visit| v.error(ApiError::NotFound("connector"));
    let Some(spec) = state.service.registry().get(kind).map(|c| c.spec()) else { return Err(not_found(&v)) };
    let Ok(kind) = ConnectorKind::new(kind) else { return Err(not_found(&v)) };
    Ok(Submitted { v, id, tenant, kind, spec })
}

#[handler]
pub(super) async fn save_card(
    state: Data<&AppState>,
    req: &Request,
    kind: Path<String>,
    form: Form<Fields>,
) -> Response {
    either(
        async {
            let c = submitted(&state, req, &kind.0, &form.0).await?;
            let saved = async {
                let update = integration_update(c.v.t, c.spec, &form.0)?;
                save_integration(&state, req, &c.v.caller, c.tenant, &c.kind, update).await
            };
            match saved.await {
                Ok(_) => Ok(see_other(&format!("/settings?tenant={}&saved={}#card-{}", c.id, c.kind, c.kind))),
                Err(e @ (ApiError::NotFound(_) | ApiError::Forbidden)) => Err(c.v.error(e)),
                Err(e) => c.refused(&state, e).await,
            }
        }
        .await,
    )
}

#[handler]
pub(super) async fn check_card(
    state: Data<&AppState>,
    req: &Request,
    kind: Path<String>,
    form: Form<Fields>,
) -> Response {
    either(
        async {
            let c = submitted(&state, req, &kind.0, &form.0).await?;
            match check_integration(&state, req, &c.v.caller, c.tenant, &c.kind).await {
                Ok((_, report)) => {
                    c.page(&state, StatusCode::OK, Outcome { check: Some(report), ..Default::default() }).await
                }
                // The tenant was found above: what is missing is the integration.
                Err(ApiError::NotFound(_)) => {
                    let outcome = Outcome { message: Some(c.v.t.save_first.to_owned()), ..Default::default() };
                    c.page(&state, StatusCode::NOT_FOUND, outcome).await
                }
                Err(e @ ApiError::Forbidden) => Err(c.v.error(e)),
                Err(e) => c.refused(&state, e).await,
            }
        }
        .await,
    )
}

/// The provider's model list on the card: a form (it spends a request at the provider, so a
/// link from elsewhere cannot make a signed-in admin's browser ask for it).
#[handler]
pub(super) async fn models_card(
    state: Data<&AppState>,
    req: &Request,
    kind: Path<String>,
    form: Form<Fields>,
) -> Response {
    either(
        async {
            let c = submitted(&state, req, &kind.0, &form.0).await?;
            let listed = state.service.list_models(c.tenant, c.kind.as_str()).await;
            let listed = listed.map_err(|e| refusal(c.v.t, &ApiError::from(e)));
            c.page(&state, StatusCode::OK, Outcome { models: Some(listed), ..Default::default() }).await
        }
        .await,
    )
}

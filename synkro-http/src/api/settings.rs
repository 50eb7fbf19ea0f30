//! Settings: the connector registry, a tenant's integrations (secrets write-only; each secret
//! field kept, replaced or cleared explicitly; checks; model lists) and its runtime config.

use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::Path,
    payload::Json,
    types::{MaybeUndefined, ToJSON},
};
use serde_json::{Map, Value, json};
use synkro_core::{
    Secret, ValidationError,
    connector::CheckReport,
    domain::{ConnectorKind, IntegrationConfig, RuntimeConfigChange, TenantRuntimeConfig},
    ids::TenantId,
    time::TimeZoneName,
};
use synkro_pipeline::settings::{self, IntegrationUpdate, SavedIntegration, SecretChange};
use uuid::Uuid;

use super::{
    Tag,
    models::{
        CheckOut, ConnectorOut, IntegrationOut, ModelList, RuntimeConfigOut, SaveIntegration, SecretAction,
        UpdateRuntimeConfig,
    },
};
use crate::{
    AppState,
    access::{Action, authorize},
    audit,
    auth::{Auth, Caller},
    body::JsonBody,
    error::{ApiError, ApiResult},
};
use synkro_core::domain::AuditAction;

#[derive(Default)]
pub struct SettingsApi;

#[derive(ApiResponse)]
enum Deleted {
    /// The integration is gone.
    #[oai(status = 204)]
    Done,
}

/// The tenant whose settings the caller may manage, and the connector kind in the path.
fn target(caller: &Auth, tenant: &Path<Uuid>, kind: &Path<String>) -> ApiResult<(TenantId, ConnectorKind)> {
    let tenant = TenantId::from_uuid(tenant.0);
    authorize(&caller.0, tenant, Action::ManageSettings, "tenant")?;
    let kind = ConnectorKind::new(&kind.0).map_err(|_| ApiError::NotFound("connector"))?;
    Ok((tenant, kind))
}

fn view(state: &AppState, integration: IntegrationConfig) -> ApiResult<IntegrationOut> {
    let set = settings::secrets_set(state.service.keyring(), &integration)?;
    let spec = state.service.registry().get(integration.kind.as_str()).map(|c| c.spec());
    Ok(IntegrationOut::new(integration, spec, &set))
}

/// Parses `HH:MM` (or `HH:MM:SS`).
fn clock(field: &'static str, text: &str) -> ApiResult<time::Time> {
    Ok(synkro_core::domain::parse_clock(field, text)?)
}

/// The settings as the API shows them, for audit diffs.
fn runtime_json(c: &TenantRuntimeConfig) -> Value {
    let mut value = RuntimeConfigOut::new(c.clone()).to_json().unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.remove("schedule_from");
        map.remove("updated_at");
        map.remove("default_prompt");
    }
    value
}

/// `{field: {before, after}}` for the fields of two JSON objects that differ.
fn diff(before: &Value, after: &Value) -> Map<String, Value> {
    let empty = Map::new();
    let (b, a) = (before.as_object().unwrap_or(&empty), after.as_object().unwrap_or(&empty));
    before_after(&settings::public_changes(b, a))
}

/// The audit shape of a field diff: `{field: {before, after}}`.
fn before_after(changes: &std::collections::BTreeMap<String, (Value, Value)>) -> Map<String, Value> {
    changes.iter().map(|(k, (b, a))| (k.clone(), json!({ "before": b, "after": a }))).collect()
}

#[OpenApi(tag = "Tag::Settings")]
impl SettingsApi {
    /// Every connector this server links, with the fields its integrations take.
    #[oai(path = "/connectors", method = "get")]
    async fn list_connectors(&self, state: Data<&AppState>, _caller: Auth) -> ApiResult<Json<Vec<ConnectorOut>>> {
        Ok(Json(state.service.registry().specs().into_iter().map(ConnectorOut::from).collect()))
    }

    /// A tenant's integrations, without secret values (only whether each is set).
    #[oai(path = "/tenants/:id/integrations", method = "get")]
    async fn list_integrations(
        &self,
        state: Data<&AppState>,
        caller: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<Vec<IntegrationOut>>> {
        let tenant = TenantId::from_uuid(id.0);
        authorize(&caller.0, tenant, Action::ManageSettings, "tenant")?;
        let integrations = state.store().list_integrations(tenant).await?;
        Ok(Json(integrations.into_iter().map(|i| view(&state, i)).collect::<ApiResult<_>>()?))
    }

    /// One integration, without secret values.
    #[oai(path = "/tenants/:id/integrations/:kind", method = "get")]
    async fn get_integration(
        &self,
        state: Data<&AppState>,
        caller: Auth,
        id: Path<Uuid>,
        kind: Path<String>,
    ) -> ApiResult<Json<IntegrationOut>> {
        let (tenant, kind) = target(&caller, &id, &kind)?;
        let found = state.store().get_integration(tenant, &kind).await?;
        Ok(Json(view(&state, found)?))
    }

    /// Create or replace an integration's settings.
    ///
    /// `public_config` holds every non-secret field (omitted ones are unset); `secrets` names
    /// the secret fields to change, each with `{"action": "replace", "value": ...}` or
    /// `{"action": "clear"}` (omitted fields and `keep` leave the stored value). Values are
    /// checked against the connector's fields; required ones must end up set. The status goes
    /// back to `unknown` until the next check.
    #[oai(path = "/tenants/:id/integrations/:kind", method = "put")]
    async fn save_integration(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: Auth,
        id: Path<Uuid>,
        kind: Path<String>,
        body: JsonBody<SaveIntegration>,
    ) -> ApiResult<Json<IntegrationOut>> {
        let (tenant, kind) = target(&caller, &id, &kind)?;
        let SaveIntegration { public_config, secrets } = body.0;
        let public_config = match public_config {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(ValidationError::new("public_config", "must be a JSON object of settings").into()),
        };
        let mut changes = std::collections::BTreeMap::new();
        for (name, update) in secrets {
            let change = match (update.action, update.value) {
                (SecretAction::Keep, None) => SecretChange::Keep,
                (SecretAction::Clear, None) => SecretChange::Clear,
                (SecretAction::Replace, Some(value)) => SecretChange::Replace(Secret::new(value)),
                (SecretAction::Replace, None) => {
                    return Err(ValidationError::new("secrets", format!("{name}: replace needs a value")).into());
                }
                (_, Some(_)) => {
                    return Err(ValidationError::new("secrets", format!("{name}: only replace takes a value")).into());
                }
            };
            changes.insert(name, change);
        }
        let update = IntegrationUpdate { public_config, secrets: changes };
        let saved = save_integration(&state, req, &caller.0, tenant, &kind, update).await?;
        let spec = state.service.registry().get(kind.as_str()).map(|c| c.spec());
        Ok(Json(IntegrationOut::new(saved.integration, spec, &saved.secrets_set)))
    }

    /// Delete an integration and its secrets.
    #[oai(path = "/tenants/:id/integrations/:kind", method = "delete")]
    async fn delete_integration(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: Auth,
        id: Path<Uuid>,
        kind: Path<String>,
    ) -> ApiResult<Deleted> {
        let (tenant, kind) = target(&caller, &id, &kind)?;
        let found = state.store().get_integration(tenant, &kind).await?;
        state.store().delete_integration(found.id).await?;
        let metadata = json!({ "kind": kind.as_str(), "public_config": found.public_config });
        let message = format!("removed the {kind} integration");
        audit::by(&state, req, &caller.0, AuditAction::IntegrationDelete, message, Some(tenant), metadata).await;
        Ok(Deleted::Done)
    }

    /// Check an integration's credentials with the cheapest read that proves they work (no
    /// messages sent, nothing changed at the service) and record the result.
    #[oai(path = "/tenants/:id/integrations/:kind/check", method = "post")]
    async fn check_integration(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: Auth,
        id: Path<Uuid>,
        kind: Path<String>,
    ) -> ApiResult<Json<CheckOut>> {
        let (tenant, kind) = target(&caller, &id, &kind)?;
        let (integration, report) = check_integration(&state, req, &caller.0, tenant, &kind).await?;
        let view = view(&state, integration)?;
        Ok(Json(CheckOut::new(report, view)))
    }

    /// The models a language-model integration (such as `ai`) can use, from the provider.
    #[oai(path = "/tenants/:id/integrations/:kind/models", method = "get")]
    async fn list_models(
        &self,
        state: Data<&AppState>,
        caller: Auth,
        id: Path<Uuid>,
        kind: Path<String>,
    ) -> ApiResult<Json<ModelList>> {
        let (tenant, kind) = target(&caller, &id, &kind)?;
        let models = state.service.list_models(tenant, kind.as_str()).await?;
        Ok(Json(ModelList { models }))
    }

    /// A tenant's runtime settings (the defaults until first changed).
    #[oai(path = "/tenants/:id/runtime-config", method = "get")]
    async fn get_runtime_config(
        &self,
        state: Data<&AppState>,
        caller: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<RuntimeConfigOut>> {
        let tenant = TenantId::from_uuid(id.0);
        authorize(&caller.0, tenant, Action::ManageSettings, "tenant")?;
        Ok(Json(RuntimeConfigOut::new(state.service.runtime_config(tenant).await?)))
    }

    /// Change a tenant's runtime settings; omitted fields stay as they are.
    #[oai(path = "/tenants/:id/runtime-config", method = "patch")]
    async fn update_runtime_config(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: Auth,
        id: Path<Uuid>,
        body: JsonBody<UpdateRuntimeConfig>,
    ) -> ApiResult<Json<RuntimeConfigOut>> {
        let tenant = TenantId::from_uuid(id.0);
        authorize(&caller.0, tenant, Action::ManageSettings, "tenant")?;
        let u = body.0;
        let change = RuntimeConfigChange {
            mode: u.mode.map(Into::into),
            timezone: u.timezone.map(|tz| TimeZoneName::new(tz.trim())).transpose()?,
            business_day_start: u.business_day_start.map(|t| clock("business_day_start", &t)).transpose()?,
            scheduled_run_time: u.scheduled_run_time.map(|t| clock("scheduled_run_time", &t)).transpose()?,
            is_schedule_enabled: u.is_schedule_enabled,
            min_dialogs_for_report: u.min_dialogs_for_report,
            max_force_lookback_days: u.max_force_lookback_days,
            max_force_window_hours: u.max_force_window_hours,
            telegram_followup_minutes: u.telegram_followup_minutes,
            language: u.language.map(Into::into),
            prompt: match u.prompt {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(p) => Some(Some(p)),
            },
            working_hours: match u.working_hours {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(h) => Some(Some(h.parse()?)),
            },
        };
        let saved = update_runtime_config(&state, req, &caller.0, tenant, change).await?;
        Ok(Json(RuntimeConfigOut::new(saved)))
    }
}

/// Saves a tenant's `kind` integration as `caller` asks (the API's and the dashboard's one
/// path): the service validates and encrypts; the audit entry lists what changed, secrets only
/// as "set", "replaced" or "cleared".
pub(crate) async fn save_integration(
    state: &AppState,
    req: &Request,
    caller: &Caller,
    tenant: TenantId,
    kind: &ConnectorKind,
    update: IntegrationUpdate,
) -> ApiResult<SavedIntegration> {
    authorize(caller, tenant, Action::ManageSettings, "tenant")?;
    let saved = state.service.save_integration(tenant, kind.as_str(), update).await?;
    let public = before_after(&saved.public_changes);
    let secret_changes: Map<String, Value> =
        saved.secret_changes.iter().map(|(k, what)| (k.clone(), json!(format!("secret {what}")))).collect();
    let metadata =
        json!({ "kind": kind.as_str(), "created": saved.created, "changes": public, "secrets": secret_changes });
    let verb = if saved.created { "added" } else { "changed" };
    let message = format!("{verb} the {kind} integration");
    audit::by(state, req, caller, AuditAction::IntegrationUpdate, message, Some(tenant), metadata).await;
    Ok(saved)
}

/// Checks a tenant's `kind` integration as `caller` asks; the outcome is stored on it and audited.
pub(crate) async fn check_integration(
    state: &AppState,
    req: &Request,
    caller: &Caller,
    tenant: TenantId,
    kind: &ConnectorKind,
) -> ApiResult<(IntegrationConfig, CheckReport)> {
    authorize(caller, tenant, Action::ManageSettings, "tenant")?;
    let (integration, report) = state.service.check_integration(tenant, kind.as_str()).await?;
    let metadata = json!({
        "kind": kind.as_str(), "ok": report.ok, "class": report.class.map(|c| c.as_str()),
        "latency_ms": u64::try_from(report.latency.as_millis()).unwrap_or(u64::MAX),
    });
    let message = format!("checked the {kind} integration: {}", if report.ok { "ok" } else { "failed" });
    audit::by(state, req, caller, AuditAction::IntegrationCheck, message, Some(tenant), metadata).await;
    Ok((integration, report))
}

/// Changes a tenant's runtime settings as `caller` asks; the audit entry lists each change.
pub(crate) async fn update_runtime_config(
    state: &AppState,
    req: &Request,
    caller: &Caller,
    tenant: TenantId,
    change: RuntimeConfigChange,
) -> ApiResult<TenantRuntimeConfig> {
    authorize(caller, tenant, Action::ManageSettings, "tenant")?;
    let (before, saved) = state.service.update_runtime_config(tenant, change).await?;
    // Its time zone is the tenant's too.
    state.forget_tenant(tenant);
    let changes = diff(&runtime_json(&before), &runtime_json(&saved));
    let message = "changed the runtime settings";
    audit::by(
        state,
        req,
        caller,
        AuditAction::RuntimeConfigUpdate,
        message,
        Some(tenant),
        json!({ "changes": changes }),
    )
    .await;
    Ok(saved)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn clock_times_are_hh_mm() {
        assert_eq!(clock("t", "22:10").unwrap(), time::Time::from_hms(22, 10, 0).unwrap());
        assert_eq!(clock("t", "07:05:30").unwrap(), time::Time::from_hms(7, 5, 30).unwrap());
        for bad in ["24:00", "7:05", "22:60", "22", "noon", "22:10:99", "22:10:00:00"] {
            match clock("t", bad) {
                Err(ApiError::Invalid(v)) => assert!(v.message.contains("22:10"), "{bad}: {v}"),
                other => panic!("{bad}: {:?}", other.map(|_| ())),
            }
        }
    }
}

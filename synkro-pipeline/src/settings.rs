//! A tenant's integration settings: saving them against the connector's field specs (public
//! fields typed and checked, each secret field kept, replaced or cleared explicitly), checking
//! credentials, and listing a language model's models. The HTTP layer and the CLI call these;
//! neither holds the rules.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use synkro_core::{
    Keyring, Secret, Store, StoreError, ValidationError,
    connector::{CheckReport, Connector, ConnectorConfig, ConnectorSpec, FieldSpec, FieldType, run_check},
    domain::{ConnectorKind, IntegrationConfig, IntegrationStatus, NewIntegrationConfig},
    ids::TenantId,
    secrets::SecretMap,
};

use crate::{EngineError, Service, wiring};

/// What to do with one secret field when saving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretChange {
    /// Leave the stored value as it is (also what an omitted field means).
    Keep,
    /// Store this value instead.
    Replace(Secret),
    /// Remove the stored value.
    Clear,
}

/// New settings for one integration: every public field (a missing or `null` one is unset),
/// and the secret fields to change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntegrationUpdate {
    /// Public fields by name.
    pub public_config: Map<String, Value>,
    /// Secret fields by name; omitted fields are kept.
    pub secrets: BTreeMap<String, SecretChange>,
}

/// What [`Service::save_integration`] did, for the caller's answer and audit entry.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedIntegration {
    /// The integration as stored now.
    pub integration: IntegrationConfig,
    /// Whether it was created by this save.
    pub created: bool,
    /// Public fields whose value changed: name → (before, after); `null` means unset.
    pub public_changes: BTreeMap<String, (Value, Value)>,
    /// Secret fields that changed: name → `set`, `replaced` or `cleared` (never a value).
    pub secret_changes: BTreeMap<String, &'static str>,
    /// The secret fields that hold a value now.
    pub secrets_set: Vec<String>,
}

fn field_list(fields: &[FieldSpec]) -> String {
    let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
}

/// Checks one public value against its spec; returns the value to store (`None` = unset).
fn public_value(field: &FieldSpec, value: Value) -> Result<Option<Value>, ValidationError> {
    let bad = |what: &str| ValidationError::new(field.name, format!("must be {what}"));
    let value = match value {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        v => v,
    };
    let stored = match field.field_type {
        FieldType::String => match value {
            Value::String(s) if s.chars().count() <= 2000 => Value::String(s.trim().to_owned()),
            Value::String(_) => return Err(bad("at most 2000 characters")),
            // Forms send "0.2" and scripts 0.2: both mean the same setting.
            Value::Number(n) => Value::String(n.to_string()),
            _ => return Err(bad("text")),
        },
        FieldType::Url => match value {
            Value::String(s) if is_http_url(s.trim()) => Value::String(s.trim().to_owned()),
            _ => return Err(bad("an http(s) URL such as https://example.com")),
        },
        FieldType::Integer => match value {
            Value::Number(n) if n.is_i64() => Value::Number(n),
            Value::String(s) => s.trim().parse::<i64>().map(Value::from).map_err(|_| bad("a whole number"))?,
            _ => return Err(bad("a whole number")),
        },
        FieldType::Boolean => match value {
            Value::Bool(b) => Value::Bool(b),
            _ => return Err(bad("true or false")),
        },
        FieldType::Choice => match value {
            Value::String(s) if field.choices.contains(&s.trim()) => Value::String(s.trim().to_owned()),
            _ => return Err(bad(&format!("one of {}", field.choices.join(", ")))),
        },
    };
    Ok(Some(stored))
}

fn is_http_url(text: &str) -> bool {
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !r.contains(char::is_whitespace)
    })
}

/// The public config and secrets to store, and which secret fields changed.
type Merged = (Map<String, Value>, SecretMap, BTreeMap<String, &'static str>);

/// Validates `update` against `spec` and merges it with the stored secrets.
fn merge(spec: &ConnectorSpec, mut secrets: SecretMap, update: IntegrationUpdate) -> Result<Merged, ValidationError> {
    let mut public = Map::new();
    for (name, value) in update.public_config {
        let Some(field) = spec.public_fields.iter().find(|f| f.name == name) else {
            return Err(ValidationError::new(
                "public_config",
                format!(
                    "{name:?} is not a setting of {}; its settings are: {}",
                    spec.kind,
                    field_list(spec.public_fields)
                ),
            ));
        };
        if let Some(value) = public_value(field, value)? {
            public.insert(name, value);
        }
    }
    let mut changes = BTreeMap::new();
    for (name, change) in update.secrets {
        let Some(field) = spec.secret_fields.iter().find(|f| f.name == name) else {
            return Err(ValidationError::new(
                "secrets",
                format!(
                    "{name:?} is not a secret field of {}; its secret fields are: {}",
                    spec.kind,
                    field_list(spec.secret_fields)
                ),
            ));
        };
        match change {
            SecretChange::Keep => {}
            SecretChange::Replace(value) if value.expose().trim().is_empty() => {
                return Err(ValidationError::new(field.name, "is empty; to remove a secret, clear it"));
            }
            SecretChange::Replace(value) => {
                let what = if secrets.contains(field.name) { "replaced" } else { "set" };
                secrets.insert(field.name, value);
                changes.insert(name, what);
            }
            SecretChange::Clear => {
                if secrets.remove(field.name).is_some() {
                    changes.insert(name, "cleared");
                }
            }
        }
    }
    for field in spec.public_fields.iter().filter(|f| f.required) {
        if !public.contains_key(field.name) {
            return Err(ValidationError::new(field.name, format!("is required: {}", field.description)));
        }
    }
    for field in spec.secret_fields.iter().filter(|f| f.required) {
        if !secrets.contains(field.name) {
            return Err(ValidationError::new(field.name, format!("is required: {}", field.description)));
        }
    }
    Ok((public, secrets, changes))
}

/// The fields of two JSON objects that differ: name → (before, after), `null` for a field one
/// side lacks. Settings audits (integrations and runtime configs) record these.
pub fn public_changes(before: &Map<String, Value>, after: &Map<String, Value>) -> BTreeMap<String, (Value, Value)> {
    let mut changes = BTreeMap::new();
    for name in before.keys().chain(after.keys()) {
        let (b, a) =
            (before.get(name).cloned().unwrap_or(Value::Null), after.get(name).cloned().unwrap_or(Value::Null));
        if b != a {
            changes.insert(name.clone(), (b, a));
        }
    }
    changes
}

/// Refuses URL fields whose host outbound requests may not reach (the operator's policy): a
/// non-public address, plain http, credentials in the URL, or a name that resolves only to
/// refused addresses. A name that does not resolve here is left to the check.
async fn validate_hosts(
    service: &Service,
    spec: &ConnectorSpec,
    public: &Map<String, Value>,
) -> Result<(), EngineError> {
    let policy = &service.connector_context().outbound;
    for field in spec.public_fields.iter().filter(|f| f.field_type == FieldType::Url) {
        let Some(text) = public.get(field.name).and_then(Value::as_str) else { continue };
        let refused = |why: String| EngineError::from(ValidationError::new(field.name, why));
        let url = url::Url::parse(text).map_err(|e| refused(format!("is not a valid URL ({e})")))?;
        policy.check_url(&url).map_err(|e| refused(e.to_string()))?;
        let Some(url::Host::Domain(host)) = url.host() else { continue };
        let lookup = tokio::time::timeout(HOST_LOOKUP_TIMEOUT, tokio::net::lookup_host((host, 0))).await;
        if let Ok(Ok(addresses)) = lookup {
            let addresses: Vec<_> = addresses.map(|a| a.ip()).collect();
            if !addresses.is_empty() {
                policy.filter_addresses(host, addresses).map_err(|e| refused(e.to_string()))?;
            }
        }
    }
    Ok(())
}

/// How long saving waits to resolve a URL's host.
const HOST_LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// A settings error the connector found while building from the new settings, named after the
/// field its message starts with (connectors word config errors as "field: what is wrong").
fn build_refusal(spec: &ConnectorSpec, e: synkro_core::connector::ConnectorError) -> ValidationError {
    let first = e.message.split([' ', ':']).next().unwrap_or_default();
    let field = spec
        .public_fields
        .iter()
        .chain(spec.secret_fields)
        .find(|f| f.name == first)
        .map_or("public_config", |f| f.name);
    let text = with_hint(&e.message, e.hint.as_deref());
    let text = text.strip_prefix(field).map(|rest| rest.trim_start_matches(':').trim_start()).unwrap_or(&text);
    ValidationError::new(field, text.to_owned())
}

/// A connector's message with its hint for people, as settings errors and `last_error` show it.
fn with_hint(message: &str, hint: Option<&str>) -> String {
    match hint {
        Some(hint) => format!("{message} ({hint})"),
        None => message.to_owned(),
    }
}

/// The names of the secret fields that hold a value (never the values).
pub fn secrets_set(keyring: &Keyring, integration: &IntegrationConfig) -> Result<Vec<String>, EngineError> {
    Ok(wiring::stored_secrets(keyring, integration)?.field_names().map(str::to_owned).collect())
}

impl Service {
    /// The connector of `kind`, or `NotFound("connector")`.
    pub fn connector(&self, kind: &str) -> Result<&std::sync::Arc<dyn Connector>, EngineError> {
        self.registry().get(kind).ok_or(EngineError::NotFound("connector"))
    }

    /// Creates or updates `tenant`'s integration of `kind`: validates the public fields against the
    /// connector's spec, applies each secret change, requires every required field, and stores the
    /// result (status back to `unknown` until the next check).
    #[tracing::instrument(name = "save_integration", skip_all, fields(tenant = %tenant, kind = %kind))]
    pub async fn save_integration(
        &self,
        tenant: TenantId,
        kind: &str,
        update: IntegrationUpdate,
    ) -> Result<SavedIntegration, EngineError> {
        let spec = self.connector(kind)?.spec();
        let kind = ConnectorKind::new(kind)?;
        let store: &Store = self.store();
        let keyring = self.keyring();
        let existing = match store.get_integration(tenant, &kind).await {
            Ok(found) => Some(found),
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let before_public = match existing.as_ref().map(|i| &i.public_config) {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        };
        let before_secrets = match &existing {
            Some(integration) => wiring::stored_secrets(keyring, integration)?,
            None => SecretMap::new(),
        };
        let (public, secrets, secret_changes) = merge(spec, before_secrets, update)?;
        validate_hosts(self, spec, &public).await?;
        let config = ConnectorConfig::new(Value::Object(public), secrets);
        if let Err(e) = self.connector(kind.as_str())?.build(&config, self.connector_context()) {
            return Err(build_refusal(spec, e).into());
        }
        let ConnectorConfig { public, secrets } = config;
        let public_changes = public_changes(&before_public, &public);
        let secrets_set: Vec<String> = secrets.field_names().map(str::to_owned).collect();
        let token = (!secrets.is_empty()).then(|| keyring.encrypt(&secrets));
        let (integration, created) = match existing {
            Some(existing) => {
                (store.update_integration(existing.id, &Value::Object(public), token.as_ref()).await?, false)
            }
            None => {
                let new = NewIntegrationConfig::new(tenant, kind, Value::Object(public), token)?;
                (store.create_integration(&new).await?, true)
            }
        };
        Ok(SavedIntegration { integration, created, public_changes, secret_changes, secrets_set })
    }

    /// Checks `tenant`'s integration of `kind` with the connector's credential probe (hard
    /// timeout, no side effects) and records the outcome on the integration.
    #[tracing::instrument(name = "check_integration", skip_all, fields(tenant = %tenant, kind = %kind))]
    pub async fn check_integration(
        &self,
        tenant: TenantId,
        kind: &str,
    ) -> Result<(IntegrationConfig, CheckReport), EngineError> {
        let connector = self.connector(kind)?;
        let store = self.store();
        let integration = store.get_integration(tenant, &ConnectorKind::new(kind)?).await?;
        let report = match wiring::connector_config(self.keyring(), &integration) {
            Ok(config) => {
                let ctx = wiring::context_for(self, &integration);
                run_check(connector.as_ref(), &config, &ctx).await
            }
            Err(e) => CheckReport::from_result(Err(e), std::time::Duration::ZERO),
        };
        let (status, error) = if report.ok {
            (IntegrationStatus::Ok, None)
        } else {
            (IntegrationStatus::Error, Some(with_hint(&report.message, report.hint.as_deref())))
        };
        let integration = store.record_integration_check(integration.id, status, error.as_deref()).await?;
        tracing::info!(tenant = %tenant, kind, ok = report.ok, class = ?report.class, "integration checked");
        Ok((integration, report))
    }

    /// The models `tenant`'s integration of `kind` can use (a connector with the language-model
    /// capability, such as `ai`).
    #[tracing::instrument(name = "list_models", skip_all, fields(tenant = %tenant, kind = %kind))]
    pub async fn list_models(&self, tenant: TenantId, kind: &str) -> Result<Vec<String>, EngineError> {
        let connector = self.connector(kind)?;
        let integration = self.store().get_integration(tenant, &ConnectorKind::new(kind)?).await?;
        let config = wiring::connector_config(self.keyring(), &integration)?;
        let ctx = wiring::context_for(self, &integration);
        let built = connector.build(&config, &ctx)?;
        let Some(llm) = built.llm else {
            return Err(
                ValidationError::new("kind", format!("{kind} is not a language model; it has no model list")).into()
            );
        };
        let mut models = llm.list_models().await?;
        models.sort();
        models.dedup();
        Ok(models)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;
    use synkro_core::connector::Capability;

    use super::*;

    static PUBLIC: [FieldSpec; 4] = [
        FieldSpec::required("domain", "the account's address", "acme.amocrm.ru"),
        FieldSpec::optional("max_pages", "page cap", "100").typed(FieldType::Integer),
        FieldSpec::optional("base_url", "override", "https://api.example.com").typed(FieldType::Url),
        FieldSpec::optional("provider", "which API", "openai").choice(&["openai", "gemini"]),
    ];
    static SECRET: [FieldSpec; 2] =
        [FieldSpec::required("token", "the API token", "tok"), FieldSpec::optional("refresh", "refresh token", "ref")];
    static SPEC: ConnectorSpec = ConnectorSpec {
        kind: "fake",
        display_name: "Fake",
        version: "1",
        description: "a fake",
        public_fields: &PUBLIC,
        secret_fields: &SECRET,
        capabilities: &[Capability::CrmSource],
    };

    fn update(public: Value, secrets: &[(&str, SecretChange)]) -> IntegrationUpdate {
        IntegrationUpdate {
            public_config: public.as_object().unwrap().clone(),
            secrets: secrets.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
        }
    }

    fn stored(pairs: &[(&str, &str)]) -> SecretMap {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), Secret::new(*v))).collect()
    }

    #[test]
    fn values_are_typed_and_unknown_fields_named() {
        let ok = update(json!({"domain": " acme ", "max_pages": "40", "provider": "gemini", "base_url": null}), &[]);
        let (public, _, _) = merge(&SPEC, stored(&[("token", "t")]), ok).unwrap();
        assert_eq!(Value::Object(public), json!({"domain": "acme", "max_pages": 40, "provider": "gemini"}));
        let number = update(json!({"domain": 7}), &[]);
        assert_eq!(merge(&SPEC, stored(&[("token", "t")]), number).unwrap().0["domain"], json!("7"));
        let cases = [
            (json!({"domain": "a", "colour": 1}), "public_config", "colour"),
            (json!({"domain": "a", "max_pages": "many"}), "max_pages", "whole number"),
            (json!({"domain": "a", "provider": "claude"}), "provider", "openai, gemini"),
            (json!({"domain": "a", "base_url": "ftp://x"}), "base_url", "http(s) URL"),
            (json!({"domain": true}), "domain", "text"),
            (json!({"max_pages": 3}), "domain", "required"),
        ];
        for (public, field, says) in cases {
            let err = merge(&SPEC, stored(&[("token", "t")]), update(public.clone(), &[])).unwrap_err();
            assert_eq!(err.field, field, "{public}");
            assert!(err.message.contains(says), "{public}: {}", err.message);
        }
    }

    #[test]
    fn each_secret_is_kept_replaced_or_cleared_explicitly() {
        let before = stored(&[("token", "old-token"), ("refresh", "old-refresh")]);
        let keep = update(json!({"domain": "a"}), &[]);
        let (_, secrets, changes) = merge(&SPEC, before.clone(), keep).unwrap();
        assert_eq!(secrets.get("token").unwrap().expose(), "old-token", "omitted means keep");
        assert!(changes.is_empty());
        let change = update(
            json!({"domain": "a"}),
            &[("token", SecretChange::Replace(Secret::new("new"))), ("refresh", SecretChange::Clear)],
        );
        let (_, secrets, changes) = merge(&SPEC, before.clone(), change).unwrap();
        assert_eq!(secrets.get("token").unwrap().expose(), "new");
        assert!(!secrets.contains("refresh"));
        assert_eq!(
            changes.into_iter().collect::<Vec<_>>(),
            [("refresh".into(), "cleared"), ("token".into(), "replaced")]
        );
        let clear_required = update(json!({"domain": "a"}), &[("token", SecretChange::Clear)]);
        assert_eq!(merge(&SPEC, before.clone(), clear_required).unwrap_err().field, "token");
        let empty = update(json!({"domain": "a"}), &[("token", SecretChange::Replace(Secret::new(" ")))]);
        assert_eq!(merge(&SPEC, before.clone(), empty).unwrap_err().field, "token");
        let unknown = update(json!({"domain": "a"}), &[("password", SecretChange::Clear)]);
        let err = merge(&SPEC, before, unknown).unwrap_err();
        assert_eq!(err.field, "secrets");
        assert!(err.message.contains("token, refresh"), "{}", err.message);
    }

    #[test]
    fn public_changes_list_before_and_after() {
        let before = json!({"domain": "a", "max_pages": 3}).as_object().unwrap().clone();
        let after = json!({"domain": "b", "provider": "openai"}).as_object().unwrap().clone();
        let changes = public_changes(&before, &after);
        assert_eq!(changes["domain"], (json!("a"), json!("b")));
        assert_eq!(changes["max_pages"], (json!(3), Value::Null));
        assert_eq!(changes["provider"], (Value::Null, json!("openai")));
        assert_eq!(changes.len(), 3);
    }
}

//! Builds a tenant's capabilities from its integrations: decrypts each integration's secrets,
//! builds its connector, and hands rotated tokens back to the store, encrypted.

use std::sync::Arc;

use async_trait::async_trait;
use synkro_core::{
    Keyring, Store,
    connector::{
        Capabilities, Capability, ChatSource, Connector, ConnectorConfig, ConnectorContext, ConnectorError, CrmSource,
        FailureClass, LanguageModel, Messenger, TokenSink, Warehouse,
    },
    domain::{IntegrationConfig, ReportMode, Tenant},
    ids::IntegrationId,
    secrets::SecretMap,
    store::BuiltinWarehouse,
};

/// Everything a report run can use for one tenant.
pub struct TenantCapabilities {
    /// Deals (modes with amoCRM).
    pub crm: Option<Arc<dyn CrmSource>>,
    /// Dialogs (modes with Radist).
    pub chat: Option<Arc<dyn ChatSource>>,
    /// Deal rows and archive: the tenant's own, or the built-in one.
    pub warehouse: Arc<dyn Warehouse>,
    /// Whether `warehouse` is the built-in one.
    pub builtin_warehouse: bool,
    /// Text generation, if configured.
    pub llm: Option<Arc<dyn LanguageModel>>,
    /// Delivery, if configured.
    pub messenger: Option<Arc<dyn Messenger>>,
    /// Kinds of the integrations that provided each capability, for the job log.
    pub sources: Vec<(Capability, String)>,
}

impl TenantCapabilities {
    /// The messenger with the kind of the integration it came from.
    pub fn messenger(&self) -> Option<(&str, &dyn Messenger)> {
        let kind = self.sources.iter().find(|(c, _)| *c == Capability::Messenger).map(|(_, k)| k.as_str())?;
        Some((kind, self.messenger.as_deref()?))
    }
}

/// Persists rotated tokens into the integration's encrypted secrets.
struct StoreTokens {
    store: Store,
    keyring: Keyring,
    integration: IntegrationId,
}

#[async_trait]
impl TokenSink for StoreTokens {
    async fn store(&self, secrets: &SecretMap) -> Result<(), ConnectorError> {
        let mut merged = self.latest().await?.unwrap_or_default();
        for (field, value) in secrets.iter() {
            merged.insert(field, value.clone());
        }
        let token = self.keyring.encrypt(&merged);
        self.store
            .set_integration_secrets(self.integration, &token)
            .await
            .map_err(|e| ConnectorError::new(FailureClass::Upstream, format!("cannot store rotated tokens: {e}")))
    }

    async fn latest(&self) -> Result<Option<SecretMap>, ConnectorError> {
        let config = self
            .store
            .get_integration_by_id(self.integration)
            .await
            .map_err(|e| ConnectorError::new(FailureClass::Upstream, format!("cannot read stored tokens: {e}")))?;
        match config.secret_data_encrypted {
            None => Ok(None),
            Some(token) => self
                .keyring
                .decrypt(&token)
                .map(Some)
                .map_err(|e| ConnectorError::new(FailureClass::Config, e.to_string())),
        }
    }
}

/// The service's connector context for one integration, with a token sink that stores rotated
/// tokens back into the integration, encrypted.
pub fn context_for(service: &crate::Service, integration: &IntegrationConfig) -> ConnectorContext {
    let tokens =
        StoreTokens { store: service.store().clone(), keyring: service.keyring().clone(), integration: integration.id };
    service.connector_context().clone().with_tokens(Arc::new(tokens))
}

/// The tenant's language model alone (follow-up answers), built from the first integration
/// whose connector provides one; the tenant's other integrations are not built, so one that is
/// broken does not stand in the way.
pub async fn build_language_model(
    service: &crate::Service,
    tenant: &Tenant,
) -> Result<Option<Arc<dyn LanguageModel>>, ConnectorError> {
    let built = build_one(service, tenant, Capability::LanguageModel, |caps| caps.llm).await?;
    Ok(built.map(|(_, llm)| llm))
}

/// The tenant's messenger alone (Telegram follow-ups), with the integration it was built from:
/// the first integration whose connector provides one. The other integrations are not built.
pub async fn build_messenger(
    service: &crate::Service,
    tenant: &Tenant,
) -> Result<Option<(IntegrationConfig, Arc<dyn Messenger>)>, ConnectorError> {
    build_one(service, tenant, Capability::Messenger, |caps| caps.messenger).await
}

/// The warehouse a report of `tenant` used: the built-in one when `builtin`, else the tenant's
/// warehouse integration (the built-in one when it has none).
pub async fn build_warehouse(
    service: &crate::Service,
    tenant: &Tenant,
    builtin: bool,
) -> Result<Arc<dyn Warehouse>, ConnectorError> {
    let found = if builtin { None } else { build_one(service, tenant, Capability::Warehouse, |c| c.warehouse).await? };
    Ok(found.map_or_else(|| Arc::new(BuiltinWarehouse::new(service.store().clone())) as Arc<dyn Warehouse>, |(_, w)| w))
}

/// Builds the first of `tenant`'s integrations whose connector offers `capability` and yields it.
async fn build_one<T>(
    service: &crate::Service,
    tenant: &Tenant,
    capability: Capability,
    take: impl Fn(Capabilities) -> Option<T>,
) -> Result<Option<(IntegrationConfig, T)>, ConnectorError> {
    let integrations = service
        .store()
        .list_integrations(tenant.id)
        .await
        .map_err(|e| ConnectorError::new(FailureClass::Upstream, format!("cannot read integrations: {e}")))?;
    for integration in integrations {
        let Some(connector) = service.registry().get(integration.kind.as_str()) else { continue };
        if !connector.spec().capabilities.contains(&capability) {
            continue;
        }
        if let Some(found) = take(build_integration(service, connector.as_ref(), &integration)?) {
            return Ok(Some((integration, found)));
        }
    }
    Ok(None)
}

/// Builds one integration with the service's context.
fn build_integration(
    service: &crate::Service,
    connector: &dyn Connector,
    integration: &IntegrationConfig,
) -> Result<Capabilities, ConnectorError> {
    let config = connector_config(service.keyring(), integration)?;
    connector
        .build(&config, &context_for(service, integration))
        .map_err(|e| ConnectorError { message: format!("{} settings: {}", integration.kind, e.message), ..e })
}

/// The messenger of one integration (after its settings changed), if its connector has one.
pub fn messenger_of(
    service: &crate::Service,
    integration: &IntegrationConfig,
) -> Result<Option<Arc<dyn Messenger>>, ConnectorError> {
    let Some(connector) = service.registry().get(integration.kind.as_str()) else { return Ok(None) };
    Ok(build_integration(service, connector.as_ref(), integration)?.messenger)
}

/// Decrypts an integration's configuration.
pub fn connector_config(keyring: &Keyring, integration: &IntegrationConfig) -> Result<ConnectorConfig, ConnectorError> {
    Ok(ConnectorConfig::new(integration.public_config.clone(), stored_secrets(keyring, integration)?))
}

/// An integration's decrypted secrets (empty when it has none); a wrong key is a config error
/// naming `SYNKRO_SECRET_KEYS`, never an empty map.
pub fn stored_secrets(keyring: &Keyring, integration: &IntegrationConfig) -> Result<SecretMap, ConnectorError> {
    match &integration.secret_data_encrypted {
        None => Ok(SecretMap::new()),
        Some(token) => keyring.decrypt(token).map_err(|e| {
            ConnectorError::new(FailureClass::Config, format!("{} secrets: {e}", integration.kind))
                .with_hint("the stored secrets do not decrypt with the configured keys: check SYNKRO_SECRET_KEYS")
        }),
    }
}

/// Builds every integration of `tenant` and picks one provider per capability. The mode's
/// required sources (amoCRM for modes with amoCRM, Radist for modes with Radist) must be
/// present; everything else is optional (no AI → the fallback text; no messenger → the report
/// is saved but not delivered; no warehouse → the built-in one).
pub async fn build_tenant(
    service: &crate::Service,
    tenant: &Tenant,
    mode: ReportMode,
) -> Result<TenantCapabilities, ConnectorError> {
    let (store, registry) = (service.store(), service.registry());
    let integrations = store
        .list_integrations(tenant.id)
        .await
        .map_err(|e| ConnectorError::new(FailureClass::Upstream, format!("cannot read integrations: {e}")))?;
    let mut caps = Capabilities::default();
    let mut sources = Vec::new();
    for integration in &integrations {
        let Some(connector) = registry.get(integration.kind.as_str()) else {
            tracing::warn!(kind = %integration.kind, "integration of a connector this build does not have; skipped");
            continue;
        };
        let built = build_integration(service, connector.as_ref(), integration)?;
        // The first integration to provide a capability provides it.
        let held = caps.provided();
        sources.extend(
            built.provided().into_iter().filter(|c| !held.contains(c)).map(|c| (c, integration.kind.to_string())),
        );
        caps.crm = caps.crm.or(built.crm);
        caps.chat = caps.chat.or(built.chat);
        caps.warehouse = caps.warehouse.or(built.warehouse);
        caps.llm = caps.llm.or(built.llm);
        caps.messenger = caps.messenger.or(built.messenger);
    }
    let mut missing = Vec::new();
    if mode.uses_crm() && caps.crm.is_none() {
        missing.push(("a CRM", Capability::CrmSource));
    }
    if mode.uses_chats() && caps.chat.is_none() {
        missing.push(("a chat source", Capability::ChatSource));
    }
    if !missing.is_empty() {
        let needs: Vec<&str> = missing.iter().map(|(what, _)| *what).collect();
        // Name the connectors this build links that would do, by their display names.
        let offers: Vec<String> = missing
            .iter()
            .map(|(what, capability)| {
                let names: Vec<&str> = registry
                    .specs()
                    .into_iter()
                    .filter(|spec| spec.capabilities.contains(capability))
                    .map(|spec| spec.display_name)
                    .collect();
                format!("{what}: {}", if names.is_empty() { "none linked".to_owned() } else { names.join(", ") })
            })
            .collect();
        return Err(ConnectorError::new(
            FailureClass::Config,
            format!("the {mode} mode needs {}; the tenant has no such integration", needs.join(" and ")),
        )
        .with_hint(format!("add one in the tenant's settings ({}), or change the report mode", offers.join("; "))));
    }
    let (warehouse, builtin_warehouse) = match caps.warehouse {
        Some(w) => (w, false),
        None => (Arc::new(BuiltinWarehouse::new(store.clone())) as Arc<dyn Warehouse>, true),
    };
    Ok(TenantCapabilities {
        crm: caps.crm,
        chat: caps.chat,
        warehouse,
        builtin_warehouse,
        llm: caps.llm,
        messenger: caps.messenger,
        sources,
    })
}

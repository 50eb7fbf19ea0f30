//! Provisioning: a tenant whose integrations point at this sandbox, for demos, examples,
//! pipeline tests and benchmarks.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use synkro_core::{
    Keyring, Secret, Store, StoreError,
    domain::{ConnectorKind, NewIntegrationConfig, NewTenant, ReportMode, Tenant, TenantRuntimeConfig},
    secrets::SecretMap,
};

use crate::{Credentials, Sandbox, Service};

/// Which integrations a provisioned tenant gets.
#[derive(Debug, Clone)]
pub struct TenantSetup {
    /// Display name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// IANA time zone.
    pub timezone: String,
    /// Report mode (decides which of amoCRM / Radist are configured).
    pub mode: ReportMode,
    /// Configure the AI integration (OpenAI-compatible).
    pub ai: bool,
    /// Configure Telegram.
    pub telegram: bool,
    /// Configure Supabase (otherwise the built-in warehouse is used).
    pub supabase: bool,
    /// The amoCRM account (subdomain) the tenant connects, with that account's token
    /// ([`Credentials::amocrm_token_for`]); `None` is the sandbox's own account. Tenants with
    /// different accounts have their own rate-limit budgets on both sides.
    pub amocrm_account: Option<String>,
    /// Extra public settings per connector kind, merged into that integration's settings
    /// (e.g. `"amocrm"` → `{"max_pages": 1000}`, `"radist"` → `{"max_chats": 5000}`).
    pub settings: BTreeMap<String, Value>,
}

impl TenantSetup {
    /// Everything configured, mode crm_chats, Europe/Berlin.
    pub fn full(slug: &str) -> Self {
        Self {
            name: format!("Sandbox {slug}"),
            slug: slug.to_owned(),
            timezone: "Europe/Berlin".to_owned(),
            mode: ReportMode::CrmChats,
            ai: true,
            telegram: true,
            supabase: true,
            amocrm_account: None,
            settings: BTreeMap::new(),
        }
    }
}

impl Sandbox {
    /// The endpoint overrides that route each connector kind to this sandbox (pass them to the
    /// engine or the connector context).
    pub fn endpoints(&self) -> Vec<(&'static str, String)> {
        vec![
            ("amocrm", self.url(Service::Amocrm)),
            ("amocrm_oauth", self.url(Service::AmocrmOauth)),
            ("radist", self.url(Service::Radist)),
            ("supabase", self.url(Service::Supabase)),
            ("ai", self.url(Service::OpenAi)),
            ("telegram", self.url(Service::Telegram)),
        ]
    }

    /// Creates a tenant with a runtime config and the integrations `setup` asks for, all
    /// pointing at this sandbox, secrets encrypted with `keyring`.
    pub async fn provision_tenant(
        &self,
        store: &Store,
        keyring: &Keyring,
        setup: &TenantSetup,
    ) -> Result<Tenant, StoreError> {
        provision_tenant(store, keyring, self.credentials(), setup).await
    }
}

/// Creates a tenant with a runtime config and the integrations `setup` asks for, with the
/// `credentials` of a sandbox (this process's, or one running elsewhere: see
/// [`RemoteSandbox`](crate::remote::RemoteSandbox)), secrets encrypted with `keyring`. Route
/// the connectors to that sandbox with its endpoints (the integrations hold no URLs).
pub async fn provision_tenant(
    store: &Store,
    keyring: &Keyring,
    credentials: &Credentials,
    setup: &TenantSetup,
) -> Result<Tenant, StoreError> {
    let new = NewTenant::new(&setup.name, &setup.slug, &setup.timezone)?;
    let tenant = store.create_tenant(&new).await?;
    let mut runtime = TenantRuntimeConfig::defaults(tenant.id, tenant.timezone.clone());
    runtime.mode = setup.mode;
    store.put_runtime_config(&runtime).await?;
    let c = credentials;
    let add = async |kind: &str, public: Value, secrets: &[(&str, &str)]| {
        let map: SecretMap = secrets.iter().map(|(k, v)| ((*k).to_owned(), Secret::new(*v))).collect();
        let token = (!map.is_empty()).then(|| keyring.encrypt(&map));
        let mut public = public;
        if let (Some(public), Some(Value::Object(extra))) = (public.as_object_mut(), setup.settings.get(kind)) {
            public.extend(extra.clone());
        }
        let kind = ConnectorKind::new(kind)?;
        store.create_integration(&NewIntegrationConfig::new(tenant.id, kind, public, token)?).await.map(|_| ())
    };
    if setup.mode.uses_crm() {
        let domain = setup.amocrm_account.as_deref().unwrap_or(&c.amocrm_subdomain);
        add("amocrm", json!({"domain": domain}), &[("long_lived_token", &c.amocrm_token_for(domain))]).await?;
    }
    if setup.mode.uses_chats() {
        add("radist", json!({"company_id": c.radist_company_id}), &[("api_key", &c.radist_api_key)]).await?;
    }
    if setup.ai {
        add("ai", json!({"provider": "openai", "model": "gpt-4o-mini"}), &[("api_key", &c.openai_api_key)]).await?;
    }
    if setup.telegram {
        add("telegram", json!({"chat_id": c.telegram_chat_id.to_string()}), &[("bot_token", &c.telegram_bot_token)])
            .await?;
    }
    if setup.supabase {
        add("supabase", json!({"url": "https://sandbox.supabase.co"}), &[("service_key", &c.supabase_secret_key)])
            .await?;
    }
    Ok(tenant)
}

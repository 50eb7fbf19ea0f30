//! Each fake service as a [`FakeUpstream`] for the connector contract suites
//! (`synkro-connector-contract`), which the bundled connectors run against this sandbox.

use serde_json::{Value, json};
use synkro_connector_contract::{FakeUpstream, Fault as ContractFault, STANDARD_FAULTS, Seen};
use synkro_core::{
    Secret,
    connector::{ConnectorConfig, ConnectorContext, FailureClass, OutboundPolicy},
    secrets::SecretMap,
};

use crate::{Fault, Sandbox, Service};

/// One of the sandbox's services, configured for its bundled connector.
pub struct ContractFake<'a> {
    sandbox: &'a Sandbox,
    service: Service,
    public: Value,
    secrets: Vec<(&'static str, String)>,
}

impl Sandbox {
    /// The fake of the service connector `kind` (`amocrm`, `radist`, `supabase`, `ai` with the
    /// OpenAI-compatible provider, `telegram`) talks to, with the settings and credentials it
    /// accepts. `None` for another kind.
    pub fn contract_fake(&self, kind: &str) -> Option<ContractFake<'_>> {
        let c = self.credentials();
        let (service, public, secrets) = match kind {
            "amocrm" => (
                Service::Amocrm,
                json!({"domain": c.amocrm_subdomain}),
                vec![("long_lived_token", c.amocrm_long_lived_token.clone())],
            ),
            "radist" => (
                Service::Radist,
                json!({"company_id": c.radist_company_id}),
                vec![("api_key", c.radist_api_key.clone())],
            ),
            "supabase" => (
                Service::Supabase,
                json!({"url": "https://sandbox.supabase.co"}),
                vec![("service_key", c.supabase_secret_key.clone())],
            ),
            "ai" => (
                Service::OpenAi,
                // One second per answer, so the timeout fault (3 s) shows within the suite.
                json!({"provider": "openai", "model": "gpt-4o-mini", "timeout_seconds": 1}),
                vec![("api_key", c.openai_api_key.clone())],
            ),
            "telegram" => (
                Service::Telegram,
                json!({"chat_id": c.telegram_chat_id.to_string()}),
                vec![("bot_token", c.telegram_bot_token.clone())],
            ),
            _ => return None,
        };
        Some(ContractFake { sandbox: self, service, public, secrets })
    }
}

impl FakeUpstream for ContractFake<'_> {
    fn config(&self) -> ConnectorConfig {
        let secrets: SecretMap = self.secrets.iter().map(|(k, v)| ((*k).to_owned(), Secret::new(v.clone()))).collect();
        ConnectorConfig::new(self.public.clone(), secrets)
    }

    fn context(&self) -> ConnectorContext {
        let mut ctx = ConnectorContext::default().with_outbound(OutboundPolicy::loopback());
        ctx.endpoints = self.sandbox.endpoints().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        ctx
    }

    fn fail_with(&self, fault: ContractFault) {
        let fault = match fault {
            // Each service's own 429: Telegram's retry_after, amoCRM's text body, Retry-After.
            ContractFault::Status(429) => Fault::RateLimited,
            ContractFault::Status(status) => Fault::Status(status),
            ContractFault::Timeout => Fault::Slow(std::time::Duration::from_secs(3)),
            ContractFault::Malformed => Fault::Malformed,
        };
        self.sandbox.inject(self.service, "", fault, u32::MAX);
    }

    fn heal(&self) {
        self.sandbox.clear_faults();
    }

    fn requests(&self) -> Vec<Seen> {
        self.sandbox.requests(self.service).into_iter().map(|r| Seen { method: r.method, path: r.path }).collect()
    }

    fn faults(&self) -> Vec<(ContractFault, FailureClass)> {
        let mut faults = STANDARD_FAULTS.to_vec();
        if self.service == Service::Telegram {
            // The token is part of the path: the Bot API answers 404 to a token it does not know.
            for (fault, class) in &mut faults {
                if *fault == ContractFault::Status(404) {
                    *class = FailureClass::Auth;
                }
            }
        }
        faults
    }

    fn is_write(&self, request: &Seen) -> bool {
        match self.service {
            // The Bot API takes every method by POST: only sending changes a chat.
            Service::Telegram => request.path.contains("/send") || request.path.contains("/edit"),
            _ => !matches!(request.method.as_str(), "GET" | "HEAD" | "OPTIONS"),
        }
    }
}

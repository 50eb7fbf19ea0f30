//! Shared helpers for the integration tests.

use serde_json::Value;
use synkro_sandbox::{Sandbox, SandboxConfig};

/// A sandbox with the default data and no amoCRM rate limit (tests that page a lot).
pub async fn unlimited() -> Sandbox {
    Sandbox::start(SandboxConfig { amocrm_rate_limit: 0, ..Default::default() }).await
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// Status and JSON body (Null when the body is empty or not JSON).
pub async fn json(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

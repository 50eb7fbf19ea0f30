//! amoCRM keeps the CRM source contract (synkro-connector-contract) against the sandbox.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use synkro_connector_amocrm::AmoCrmConnector;
use synkro_connector_contract::Contract;
use synkro_core::domain::Window;
use synkro_sandbox::{Sandbox, SandboxConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amocrm_keeps_the_crm_source_contract() {
    // More deals than one page of 250, so paging and cancellation are both exercised.
    let sandbox = Sandbox::start(SandboxConfig { deals: 600, ..Default::default() }).await;
    let c = sandbox.config();
    let window = Window::new(c.window_start, c.window_end()).unwrap();
    let deals = sandbox.data().leads_updated_in(window.start(), window.end()).len();
    let fake = sandbox.contract_fake("amocrm").unwrap();
    Contract::new(Arc::new(AmoCrmConnector), &fake).crm_source(window, deals).await;
}

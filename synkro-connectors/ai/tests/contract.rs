//! The AI connector (OpenAI-compatible) keeps the language model contract
//! (synkro-connector-contract) against the sandbox.

use std::sync::Arc;

use synkro_connector_ai::AiConnector;
use synkro_connector_contract::Contract;
use synkro_sandbox::{Sandbox, SandboxConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ai_keeps_the_language_model_contract() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let fake = sandbox.contract_fake("ai").expect("the sandbox fakes OpenAI");
    Contract::new(Arc::new(AiConnector), &fake).language_model().await;
}

//! Telegram keeps the messenger contract (synkro-connector-contract) against the sandbox.

use std::sync::Arc;

use synkro_connector_contract::Contract;
use synkro_connector_telegram::TelegramConnector;
use synkro_sandbox::{Sandbox, SandboxConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_keeps_the_messenger_contract() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let fake = sandbox.contract_fake("telegram").expect("the sandbox fakes Telegram");
    Contract::new(Arc::new(TelegramConnector), &fake).messenger().await;
}

//! Radist keeps the chat source contract (synkro-connector-contract) against the sandbox.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use synkro_connector_contract::Contract;
use synkro_connector_radist::RadistConnector;
use synkro_core::domain::Window;
use synkro_sandbox::{Sandbox, SandboxConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn radist_keeps_the_chat_source_contract() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let c = sandbox.config();
    let window = Window::new(c.window_start, c.window_end()).unwrap();
    let data = sandbox.data();
    let dialogs = data
        .chats
        .iter()
        .filter(|chat| chat.is_messaging() && !data.messages_in(chat.id, window.start(), window.end()).is_empty())
        .count();
    let fake = sandbox.contract_fake("radist").unwrap();
    Contract::new(Arc::new(RadistConnector), &fake).chat_source(window, dialogs).await;
}

//! Supabase keeps the warehouse contract (synkro-connector-contract) against the sandbox.

use std::sync::Arc;

use synkro_connector_contract::Contract;
use synkro_connector_supabase::SupabaseConnector;
use synkro_sandbox::{Sandbox, SandboxConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supabase_keeps_the_warehouse_contract() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let fake = sandbox.contract_fake("supabase").expect("the sandbox fakes Supabase");
    // More rows than one page, so reading back pages to the end.
    let rows = synkro_connector_supabase::MAX_PAGE_ROWS + 20;
    Contract::new(Arc::new(SupabaseConnector), &fake).warehouse("contract", rows).await;
}

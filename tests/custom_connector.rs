//! The custom-connector example registers itself with one `inventory::submit!` and works like
//! a bundled connector.

#![allow(clippy::unwrap_used)]

#[path = "../examples/custom_connector.rs"]
#[allow(dead_code, unreachable_pub)]
mod example;

use std::sync::Arc;

use futures::TryStreamExt;
use serde_json::json;
use synkro::{
    connector::{ConnectorConfig, ConnectorContext, FailureClass, Registry, run_check},
    domain::Window,
};

fn ctx() -> ConnectorContext {
    ConnectorContext::new(Arc::new(synkro_connector_kit::InProcessRateLimiter::default()))
}

fn config(path: &str) -> ConnectorConfig {
    ConnectorConfig::new(json!({"path": path}), Default::default())
}

#[tokio::test]
async fn the_example_connector_sits_in_the_registry_beside_the_bundled_ones() {
    let registry = Registry::from_linked().unwrap();
    let kinds = registry.kinds();
    assert!(kinds.contains(&"csv_crm"), "{kinds:?}");
    assert!(kinds.contains(&"amocrm") && kinds.contains(&"telegram"), "bundled connectors are linked too: {kinds:?}");

    let csv = registry.get("csv_crm").unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/deals.csv");
    let report = run_check(csv.as_ref(), &config(path), &ctx()).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.details, json!({"deals_in_file": 4}));

    let day = Window::new("2026-03-01T00:00:00Z".parse().unwrap(), "2026-03-02T00:00:00Z".parse().unwrap()).unwrap();
    let crm = csv.build(&config(path), &ctx()).unwrap().crm.unwrap();
    let batches: Vec<_> = crm.deals(day).try_collect().await.unwrap();
    let deals: Vec<_> = batches.into_iter().flat_map(|b| b.items).collect();
    assert_eq!(deals.iter().map(|d| d.id).collect::<Vec<_>>(), [101, 102, 103], "the old lead is outside the day");
    assert_eq!(deals[1].phones(), ["79002223344"]);
}

#[tokio::test]
async fn a_missing_file_is_a_config_failure_with_a_hint() {
    let csv = Registry::from_linked().unwrap().get("csv_crm").unwrap().clone();
    let report = run_check(csv.as_ref(), &config("/nonexistent/deals.csv"), &ctx()).await;
    assert_eq!((report.ok, report.class), (false, Some(FailureClass::Config)));
    assert!(report.hint.unwrap().contains("path"));
}

//! The example connector registers itself with one `inventory::submit!` and works like a
//! bundled connector.

#![allow(clippy::unwrap_used)]

use custom_connector as _;
use futures::TryStreamExt;
use serde_json::json;
use synkro_core::{
    connector::{ConnectorConfig, ConnectorContext, FailureClass, Registry, run_check},
    domain::Window,
};

const DEALS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/deals.csv");

fn config(path: &str) -> ConnectorConfig {
    ConnectorConfig::new(json!({"path": path}), Default::default())
}

#[tokio::test]
async fn the_example_connector_is_registered_and_reads_the_days_deals() {
    let registry = Registry::from_linked().unwrap();
    assert_eq!(registry.kinds(), ["csv_crm"], "only what this crate links");

    let csv = registry.get("csv_crm").unwrap();
    let report = run_check(csv.as_ref(), &config(DEALS), &ConnectorContext::default()).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.details, json!({"deals_in_file": 4}));

    let day = Window::new("2026-03-01T00:00:00Z".parse().unwrap(), "2026-03-02T00:00:00Z".parse().unwrap()).unwrap();
    let crm = csv.build(&config(DEALS), &ConnectorContext::default()).unwrap().crm.unwrap();
    let batches: Vec<_> = crm.deals(day).try_collect().await.unwrap();
    let deals: Vec<_> = batches.into_iter().flat_map(|b| b.items).collect();
    assert_eq!(deals.iter().map(|d| d.id).collect::<Vec<_>>(), [101, 102, 103], "the old lead is outside the day");
    assert_eq!(deals[1].phones(), ["79002223344"]);
}

#[tokio::test]
async fn a_missing_file_is_a_config_failure_with_a_hint() {
    let csv = Registry::from_linked().unwrap().get("csv_crm").unwrap().clone();
    let report = run_check(csv.as_ref(), &config("/nonexistent/deals.csv"), &ConnectorContext::default()).await;
    assert_eq!((report.ok, report.class), (false, Some(FailureClass::Config)));
    assert!(report.hint.unwrap().contains("path"));
}

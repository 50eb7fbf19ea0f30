//! The example connector keeps the CRM source contract (synkro-connector-contract). Its
//! "service" is a file, so its fake is one: a missing file and a file that is not the
//! expected CSV are the failures it can have, and both are configuration errors.

#![allow(clippy::unwrap_used)]

use std::{path::PathBuf, sync::Arc};

use custom_connector::CsvCrm;
use serde_json::json;
use synkro_connector_contract::{Contract, FakeUpstream, Fault, Seen};
use synkro_core::{
    connector::{ConnectorConfig, ConnectorContext, FailureClass},
    domain::Window,
};

const DEALS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/deals.csv");

/// The deals file in a directory of the test's own.
struct CsvFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl CsvFile {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deals.csv");
        std::fs::copy(DEALS, &path).unwrap();
        Self { _dir: dir, path }
    }
}

impl FakeUpstream for CsvFile {
    fn config(&self) -> ConnectorConfig {
        ConnectorConfig::new(json!({"path": self.path.display().to_string()}), Default::default())
    }

    fn context(&self) -> ConnectorContext {
        ConnectorContext::default()
    }

    fn fail_with(&self, fault: Fault) {
        match fault {
            Fault::Status(404) => std::fs::remove_file(&self.path).unwrap(),
            Fault::Malformed => std::fs::write(&self.path, "<html>not a CSV export</html>").unwrap(),
            other => panic!("a file cannot fail with {other:?}"),
        }
    }

    fn heal(&self) {
        std::fs::copy(DEALS, &self.path).unwrap();
    }

    fn requests(&self) -> Vec<Seen> {
        Vec::new()
    }

    fn faults(&self) -> Vec<(Fault, FailureClass)> {
        vec![(Fault::Status(404), FailureClass::Config), (Fault::Malformed, FailureClass::Config)]
    }
}

#[tokio::test]
async fn the_csv_connector_keeps_the_crm_source_contract() {
    let file = CsvFile::new();
    let day = Window::new("2026-03-01T00:00:00Z".parse().unwrap(), "2026-03-02T00:00:00Z".parse().unwrap()).unwrap();
    Contract::new(Arc::new(CsvCrm), &file).crm_source(day, 3).await;
}

//! The team's own binary is the whole `synkro` command line with its connector linked: the
//! connector is listed beside the bundled ones, and a report runs on it end to end.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use custom_connector as _;
use serde_json::json;
use synkro::{
    Keyring, Store,
    connector::Registry,
    domain::{NewTenant, ReportMode, RuntimeConfigChange},
    pipeline::{Service, settings::IntegrationUpdate},
    time::Timestamp,
};

fn my_synkro(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_my-synkro"));
    command.args(args).env_clear().env("SYNKRO_LOG", "warn");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_teams_connector_is_listed_beside_the_bundled_ones() {
    let out = my_synkro(&["connectors", "list"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    let kinds: Vec<&str> = listed.lines().filter(|l| !l.starts_with(' ')).filter_map(|l| l.split(' ').next()).collect();
    assert!(kinds.contains(&"csv_crm"), "{listed}");
    assert!(kinds.contains(&"amocrm") && kinds.contains(&"telegram"), "{listed}");
    assert!(listed.contains("Path of the CSV file"), "its settings are described: {listed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_runs_on_the_teams_connector() {
    let dir = tempfile::tempdir().unwrap();
    let now = Timestamp::now();
    let at = |hours: i64| (now + time::Duration::hours(-hours)).to_string();
    let csv = dir.path().join("deals.csv");
    let rows = [
        "id,name,status,responsible,phone,updated_at".to_owned(),
        format!("1,Kitchen,won,Olga,+7 900 111-22-33,{}", at(10)),
        format!("2,Chairs,won,Pavel,8 900 222 33 44,{}", at(9)),
        format!("3,Wardrobe,lost,Olga,9003334455,{}", at(5)),
        format!("4,Old lead,new,Pavel,+7 900 444-55-66,{}", at(40)),
    ];
    std::fs::write(&csv, rows.join("\n")).unwrap();

    // The tenant and its CSV integration, set up through the library on the binary's database.
    let url = format!("sqlite://{}/synkro.db?mode=rwc", dir.path().display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let keyring = Keyring::generate();
    let service =
        Service::builder(store.clone(), Registry::from_linked().unwrap(), keyring.clone()).build().await.unwrap();
    let tenant = store.create_tenant(&NewTenant::new("Acme", "acme", "UTC").unwrap()).await.unwrap();
    let crm_only = RuntimeConfigChange { mode: Some(ReportMode::CrmOnly), ..Default::default() };
    service.update_runtime_config(tenant.id, crm_only).await.unwrap();
    let path = json!({"path": csv.display().to_string()});
    let update = IntegrationUpdate { public_config: path.as_object().unwrap().clone(), ..Default::default() };
    service.save_integration(tenant.id, "csv_crm", update).await.unwrap();
    store.close().await;

    let env = [
        ("SYNKRO_DATABASE_URL", url.clone()),
        ("SYNKRO_DATA_DIR", dir.path().display().to_string()),
        ("SYNKRO_SECRET_KEYS", keyring.primary_key().expose().to_owned()),
    ];
    let out = my_synkro(&["report", "run", "--tenant", "acme", "--from", &at(20), "--to", &at(1)], &env);
    assert!(out.status.success(), "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("success"), "{}", text(&out.stdout));

    let store = Store::connect(&url).await.unwrap();
    let report = store.latest_report(tenant.id).await.unwrap().expect("a saved report");
    let summary = report.summary.expect("the report has its numbers");
    assert_eq!(summary.total_deals, 3, "the deals inside the window: {summary:?}");
    assert_eq!(summary.by_status["won"], 2);
    store.close().await;
}

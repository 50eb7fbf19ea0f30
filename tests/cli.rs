//! The `synkro` binary's start-up behaviour: migrations, key generation on first run, the
//! secrets self-test and key rotation, as an operator would see them.

#![allow(clippy::unwrap_used)]

use std::{os::unix::fs::PermissionsExt, path::Path, process::Output};

use serde_json::json;
use synkro::{
    Keyring, Store,
    domain::{ConnectorKind, NewIntegrationConfig, NewTenant},
    secrets::SecretMap,
};

fn synkro(data_dir: &Path, keys: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_synkro"));
    cmd.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("SYNKRO_DATA_DIR", data_dir).env("SYNKRO_LOG", "warn");
    if let Some(keys) = keys {
        cmd.env("SYNKRO_SECRET_KEYS", keys);
    }
    cmd.output().unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

async fn store_with_secret(data_dir: &Path, keyring: &Keyring) -> Store {
    let url = format!("sqlite://{}/synkro.db?mode=rwc", data_dir.display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let tenant = store.create_tenant(&NewTenant::new("Acme", "acme", "UTC").unwrap()).await.unwrap();
    let secrets: SecretMap = [("api_key".to_owned(), "canary-7f3a".into())].into_iter().collect();
    let kind = ConnectorKind::new("ai").unwrap();
    let cfg = NewIntegrationConfig::new(tenant.id, kind, json!({}), Some(keyring.encrypt(&secrets))).unwrap();
    store.create_integration(&cfg).await.unwrap();
    store
}

#[test]
fn first_run_migrates_and_generates_a_private_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = synkro(dir.path(), None, &["migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("migrations applied"), "{}", text(&out));
    assert!(dir.path().join("synkro.db").exists(), "the default database lives in the data directory");
    let key_file = dir.path().join("secret.key");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(text(&out).contains("secret.key"), "the log says where the key was written: {}", text(&out));

    let again = synkro(dir.path(), None, &["check"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("secret.key"), "{}", text(&again));
}

#[tokio::test]
async fn a_wrong_key_refuses_to_start_and_names_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let right = Keyring::generate();
    store_with_secret(dir.path(), &right).await.close().await;

    let wrong = Keyring::generate_key();
    let out = synkro(dir.path(), Some(wrong.expose()), &["check"]);
    assert!(!out.status.success(), "must refuse: {}", text(&out));
    let said = text(&out);
    assert!(said.contains("SYNKRO_SECRET_KEYS"), "{said}");
    assert!(!said.contains(wrong.expose()) && !said.contains("canary-7f3a"), "no key or secret in output: {said}");

    let ok = synkro(dir.path(), Some(right.primary_key().expose()), &["check"]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("1 of 1 stored secrets under the primary key"), "{}", text(&ok));
}

#[tokio::test]
async fn rotation_reencrypts_under_the_new_key_so_the_old_one_can_go() {
    let dir = tempfile::tempdir().unwrap();
    let old = Keyring::generate();
    store_with_secret(dir.path(), &old).await.close().await;

    let new_key = synkro(dir.path(), None, &["keys", "generate"]);
    assert!(new_key.status.success());
    let new_key = String::from_utf8(new_key.stdout).unwrap().trim().to_owned();
    assert!(Keyring::parse(&new_key).is_ok(), "keys generate prints a usable key");

    let both = format!("{new_key},{}", old.primary_key().expose());
    let out = synkro(dir.path(), Some(&both), &["keys", "reencrypt"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("re-encrypted 1 of 1"), "{}", text(&out));

    let only_new = synkro(dir.path(), Some(&new_key), &["check"]);
    assert!(only_new.status.success(), "the old key is no longer needed: {}", text(&only_new));
    let only_old = synkro(dir.path(), Some(old.primary_key().expose()), &["check"]);
    assert!(!only_old.status.success());
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_synkro"));
    cmd.arg("migrate").env_clear().env("SYNKRO_DATA_DIR", dir.path());
    let out = cmd.env("SYNKRO_DATABASE_URL", "mysql://u:hunter2@h/db").output().unwrap();
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains("SYNKRO_DATABASE_URL"), "{said}");
    assert!(!said.contains("hunter2"), "{said}");
}

#[test]
fn openapi_prints_the_document_and_admin_creates_accounts_with_passwords_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out = synkro(dir.path(), None, &["openapi"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["paths"]["/auth/login"]["post"].is_object(), "{doc}");

    assert!(synkro(dir.path(), None, &["admin", "create-tenant", "Acme", "acme"]).status.success());
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_synkro"));
    cmd.args(["admin", "create-user", "anna", "--password-stdin"]).env_clear();
    cmd.env("SYNKRO_DATA_DIR", dir.path()).env("SYNKRO_LOG", "warn");
    cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"long enough secret\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = synkro(dir.path(), None, &["admin", "grant-role", "anna", "user", "--tenant", "acme"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("granted user on tenant acme to anna"), "{}", text(&out));
    let out = synkro(dir.path(), None, &["admin", "grant-role", "anna", "owner"]);
    assert!(!out.status.success() && text(&out).contains("super_admin, admin_lite, user"), "{}", text(&out));

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let url = format!("sqlite://{}/synkro.db?mode=rwc", dir.path().display());
        let store = Store::connect(&url).await.unwrap();
        let anna = store.get_user_by_username("anna").await.unwrap();
        let hash = anna.password_hash.unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$"));
        assert!(synkro::http::auth::password::verify("long enough secret", Some(&hash)));
        store.close().await;
    });
}

#[test]
fn the_demo_runs_a_report_end_to_end_and_prints_the_logins() {
    let dir = tempfile::tempdir().unwrap();
    let out = synkro(dir.path(), None, &["demo", "--no-serve"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains(": success"), "the report job succeeded: {said}");
    assert!(said.contains("delivered to the fake Telegram"), "{said}");
    for step in ["check_config", "sync_sources", "summary", "deliver", "done"] {
        assert!(said.contains(step), "progress shows {step}: {said}");
    }
    assert!(said.contains("admin / ") && said.contains("client / "), "{said}");
    // A second run replaces the demo tenant and works again.
    let again = synkro(dir.path(), None, &["demo", "--no-serve"]);
    assert!(again.status.success() && text(&again).contains(": success"), "{}", text(&again));
}

#[test]
fn connectors_list_shows_every_bundled_connector_and_marks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let out = synkro(dir.path(), None, &["connectors", "list"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    for kind in ["ai", "amocrm", "radist", "supabase", "telegram"] {
        assert!(said.lines().any(|l| l.starts_with(kind)), "{kind} listed: {said}");
    }
    assert!(said.contains("bot_token") && said.contains("(secret)"), "{said}");
}

#[test]
fn healthcheck_fails_clearly_when_nothing_serves_and_passes_against_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bind = format!("127.0.0.1:{port}");
    let check = |expect_ok: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_synkro"));
        cmd.args(["healthcheck"]).env_clear().env("SYNKRO_DATA_DIR", dir.path()).env("SYNKRO_BIND", &bind);
        let out = cmd.output().unwrap();
        assert_eq!(out.status.success(), expect_ok, "{}", text(&out));
        text(&out)
    };
    let said = check(false);
    assert!(said.contains("nothing answers") && said.contains("SYNKRO_BIND"), "{said}");

    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_synkro"))
        .args(["serve", "--no-workers"])
        .env_clear()
        .env("SYNKRO_DATA_DIR", dir.path())
        .env("SYNKRO_BIND", &bind)
        .env("SYNKRO_LOG", "warn")
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(&bind).is_err() {
        assert!(std::time::Instant::now() < deadline, "the server never listened");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let said = check(true);
    assert!(said.contains("ready"), "{said}");
    server.kill().unwrap();
    server.wait().unwrap();
}

//! The `synkro` binary's start-up behaviour: migrations, key generation on first run, the
//! secrets self-test, key rotation and logging, as an operator would see them (the demo: tests/demo.rs).

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
    let create = |password: &[u8]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_synkro"));
        cmd.args(["admin", "create-user", "anna", "--password-stdin"]).env_clear();
        cmd.env("SYNKRO_DATA_DIR", dir.path()).env("SYNKRO_LOG", "warn");
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), password).unwrap();
        child.wait_with_output().unwrap()
    };
    let weak = create(b"password\n");
    assert!(!weak.status.success() && text(&weak).contains("most common passwords"), "{}", text(&weak));
    let out = create(b"long enough secret\n");
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
fn logs_have_no_colours_when_not_on_a_terminal_and_json_lines_parse() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["text", "json"] {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_synkro"));
        cmd.arg("migrate").env_clear().env("SYNKRO_DATA_DIR", dir.path());
        let out = cmd.env("SYNKRO_LOG", "info").env("SYNKRO_LOG_FORMAT", format).output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(log.contains("store ready"), "{format}: {log}");
        assert!(!log.contains('\x1b'), "{format} logs to a pipe carry no colour codes: {log:?}");
        if format == "json" {
            for line in log.lines() {
                assert!(serde_json::from_str::<serde_json::Value>(line).is_ok(), "{line}");
            }
        }
    }
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

#[tokio::test]
async fn keys_rotate_then_reencrypt_drop_old_moves_secrets_to_a_new_key_file() {
    let dir = tempfile::tempdir().unwrap();
    assert!(synkro(dir.path(), None, &["migrate"]).status.success());
    let key_file = dir.path().join("secret.key");
    let first = Keyring::parse(&std::fs::read_to_string(&key_file).unwrap().replace('\n', ",")).unwrap();
    store_with_secret(dir.path(), &first).await.close().await;

    let out = synkro(dir.path(), None, &["keys", "rotate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("2 keys, the new one first") && text(&out).contains("reencrypt --drop-old"),
        "{}",
        text(&out)
    );
    let keys: Vec<String> = std::fs::read_to_string(&key_file).unwrap().lines().map(str::to_owned).collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[1], first.primary_key().expose(), "the old key stays second");
    assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    let check = synkro(dir.path(), None, &["check"]);
    assert!(text(&check).contains("0 of 1 stored secrets under the primary key"), "{}", text(&check));

    let out = synkro(dir.path(), None, &["keys", "reencrypt", "--drop-old"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("re-encrypted 1 of 1") && text(&out).contains("removed 1 older key"), "{}", text(&out));
    let left: Vec<String> = std::fs::read_to_string(&key_file).unwrap().lines().map(str::to_owned).collect();
    assert_eq!(left, [keys[0].clone()]);
    let check = synkro(dir.path(), None, &["check"]);
    assert!(text(&check).contains("1 of 1 stored secrets under the primary key"), "{}", text(&check));

    // With SYNKRO_SECRET_KEYS the new list is printed, and nothing is written.
    let env = keys[0].clone();
    let out = synkro(dir.path(), Some(&env), &["keys", "rotate"]);
    let said = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let list = said.lines().find(|l| Keyring::parse(l).is_ok()).unwrap();
    assert!(list.ends_with(&format!(",{env}")) && Keyring::parse(list).unwrap().len() == 2, "{said}");
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().trim(), env, "the key file is untouched");
}

#[test]
fn admin_lists_tenants_and_users_and_revokes_roles() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        synkro(dir.path(), None, &["admin", "create-tenant", "Acme Retail", "acme", "--timezone", "Asia/Almaty"])
            .status
            .success()
    );
    assert!(synkro(dir.path(), None, &["admin", "create-user", "bob", "--superuser"]).status.success());
    assert!(synkro(dir.path(), None, &["admin", "create-user", "anna"]).status.success());
    assert!(
        synkro(dir.path(), None, &["admin", "grant-role", "anna", "admin_lite", "--tenant", "acme"]).status.success()
    );
    let tenants = text(&synkro(dir.path(), None, &["admin", "list-tenants"]));
    assert!(
        tenants.contains("acme") && tenants.contains("Asia/Almaty") && tenants.contains("Acme Retail"),
        "{tenants}"
    );
    let users = text(&synkro(dir.path(), None, &["admin", "list-users"]));
    let anna = users.lines().find(|l| l.starts_with("anna")).unwrap();
    assert!(anna.contains("admin_lite@acme") && anna.contains("no password"), "{users}");
    assert!(users.lines().any(|l| l.starts_with("bob") && l.contains("superuser")), "{users}");

    let out = synkro(dir.path(), None, &["admin", "revoke-role", "anna", "--tenant", "acme"]);
    assert!(out.status.success() && text(&out).contains("revoked admin_lite on tenant acme"), "{}", text(&out));
    let again = synkro(dir.path(), None, &["admin", "revoke-role", "anna", "--tenant", "acme"]);
    assert!(!again.status.success() && text(&again).contains("list-users"), "{}", text(&again));
    assert!(!text(&synkro(dir.path(), None, &["admin", "list-users"])).contains("admin_lite@acme"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_run_follows_a_job_to_success_and_explains_bad_input() {
    use synkro_sandbox::{Sandbox, SandboxConfig, TenantSetup};
    let dir = tempfile::tempdir().unwrap();
    let yesterday = (synkro::time::Timestamp::now().unix_seconds() / 86_400 - 1) * 86_400;
    let window_start = synkro::time::Timestamp::from_unix_seconds(yesterday).unwrap();
    let sandbox = Sandbox::start(SandboxConfig { window_start, ..Default::default() }).await;
    let keyring = Keyring::generate();
    let url = format!("sqlite://{}/synkro.db?mode=rwc", dir.path().display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let setup = TenantSetup { timezone: "UTC".into(), ..TenantSetup::full("live") };
    sandbox.provision_tenant(&store, &keyring, &setup).await.unwrap();
    store.close().await;
    let endpoints: serde_json::Map<String, serde_json::Value> =
        sandbox.endpoints().into_iter().map(|(k, v)| (k.to_owned(), v.into())).collect();
    let endpoints = serde_json::Value::Object(endpoints).to_string();
    let key = keyring.primary_key().expose().to_owned();
    let data_dir = dir.path().to_owned();
    let run = move |args: Vec<String>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_synkro"));
        cmd.args(&args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        cmd.env("SYNKRO_DATA_DIR", &data_dir).env("SYNKRO_LOG", "warn").env("SYNKRO_SECRET_KEYS", &key);
        // The fake services listen on loopback, which only the operator's allowance reaches.
        cmd.env("SYNKRO_CONNECTOR_ENDPOINTS", &endpoints).env("SYNKRO_OUTBOUND_ALLOW", "127.0.0.1");
        cmd.output().unwrap()
    };
    let day = window_start.as_offset().date();
    let from = format!("{day} 00:00");
    let to = format!("{} 00:00", day.next_day().unwrap());
    let args = |extra: &[&str]| {
        let mut v: Vec<String> = ["report", "run", "--tenant", "live"].iter().map(|s| (*s).to_owned()).collect();
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    };
    let out = tokio::task::spawn_blocking({
        let run = run.clone();
        let a = args(&["--from", &from, "--to", &to, "--follow"]);
        move || run(a)
    })
    .await
    .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains(": success") && said.contains("report "), "{said}");
    for step in ["check_config", "sync_sources", "summary", "deliver", "done"] {
        assert!(said.contains(step), "--follow shows {step}: {said}");
    }
    assert!(!sandbox.telegram_sent().is_empty(), "the report went out");

    for (extra, says) in [
        (vec!["--from", "yesterday", "--to", "today"], "is not a time"),
        (vec!["--from", "2020-01-01 00:00", "--to", "2020-01-01 12:00"], "days"),
        (vec!["--mode", "everything"], "crm_chats, chats_only, crm_only"),
    ] {
        let out = tokio::task::spawn_blocking({
            let run = run.clone();
            let a = args(&extra);
            move || run(a)
        })
        .await
        .unwrap();
        assert!(!out.status.success() && text(&out).contains(says), "{extra:?}: {}", text(&out));
    }
    let cli = |args: &[&str]| {
        let run = run.clone();
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        tokio::task::spawn_blocking(move || run(args))
    };
    let out = cli(&["report", "run", "--tenant", "ghost"]).await.unwrap();
    assert!(!out.status.success() && text(&out).contains("list-tenants"), "{}", text(&out));

    // Re-sending: refused for a delivered report, sends a failed one, and a paused tenant runs nothing.
    let store = Store::connect(&url).await.unwrap();
    let tenant = store.get_tenant_by_slug(&synkro::domain::Slug::new("live").unwrap()).await.unwrap();
    let report = store.latest_report(tenant.id).await.unwrap().unwrap();
    let id = report.id.to_string();
    let out = cli(&["report", "resend", &id]).await.unwrap();
    assert!(!out.status.success() && text(&out).contains("only an unknown or failed delivery"), "{}", text(&out));
    let out = cli(&["report", "resend", "not-an-id"]).await.unwrap();
    assert!(!out.status.success() && text(&out).contains("is not a report id"), "{}", text(&out));
    // A second report whose delivery Telegram refuses (a 403 is not retried): failed for good.
    sandbox.inject(synkro_sandbox::Service::Telegram, "sendMessage", synkro_sandbox::Fault::Status(403), 100);
    let out = cli(&["report", "run", "--tenant", "live", "--from", &from, "--to", &to]).await.unwrap();
    assert!(out.status.success(), "{}", text(&out));
    sandbox.clear_faults();
    let report = store.latest_report(tenant.id).await.unwrap().unwrap();
    let delivery = store.get_delivery(report.id).await.unwrap().unwrap();
    assert_eq!(delivery.state, synkro::store::DeliveryState::Failed);
    let id = report.id.to_string();
    let before = sandbox.telegram_sent().len();
    let out = cli(&["report", "resend", &id]).await.unwrap();
    assert!(out.status.success() && text(&out).contains("delivery sent"), "{}", text(&out));
    assert!(sandbox.telegram_sent().len() > before, "the report went out again");
    let paused =
        synkro::domain::TenantUpdate { status: Some(synkro::domain::TenantStatus::Paused), ..Default::default() };
    store.update_tenant(tenant.id, &paused).await.unwrap();
    store.close().await;
    let out = cli(&["report", "run", "--tenant", "live"]).await.unwrap();
    assert!(!out.status.success() && text(&out).contains("the tenant is paused"), "{}", text(&out));
}

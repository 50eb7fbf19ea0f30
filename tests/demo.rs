//! `synkro demo` as an operator sees it: a report end to end on its own data, and never taking
//! over an installation (its own data directory, existing accounts and tenants untouched,
//! truthful labels, one report per window, readable output).

#![allow(clippy::unwrap_used)]

use std::{
    path::Path,
    process::{Command, Output, Stdio},
};

use synkro::{PageRequest, Store, domain::Slug};

/// `synkro` with a clean environment in `cwd`, plus `env`.
fn synkro(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_synkro"));
    cmd.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).current_dir(cwd);
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

/// `synkro` on the data directory `dir`, logging warnings only.
fn synkro_in(dir: &Path, args: &[&str]) -> Output {
    synkro(dir, &[("SYNKRO_DATA_DIR", dir.to_str().unwrap()), ("SYNKRO_LOG", "warn")], args)
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Creates a login with `password` through `synkro admin create-user`.
fn create_user(dir: &Path, name: &str, password: &str) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_synkro"));
    cmd.args(["admin", "create-user", name, "--password-stdin"]).env_clear();
    cmd.env("SYNKRO_DATA_DIR", dir).env("SYNKRO_LOG", "warn");
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), format!("{password}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

/// The (login, password, rights) lines the demo printed.
fn logins(said: &str) -> Vec<(String, String, String)> {
    said.lines()
        .filter_map(|line| {
            let line = line.strip_prefix("Logins:").unwrap_or(line).trim();
            let (name, rest) = line.split_once(" / ")?;
            let (password, rights) = rest.split_once("   (")?;
            Some((name.to_owned(), password.to_owned(), rights.trim_end_matches(')').to_owned()))
        })
        .collect()
}

async fn open(dir: &Path) -> Store {
    Store::connect(&format!("sqlite://{}/synkro.db?mode=rw", dir.display())).await.unwrap()
}

/// The report the demo printed has the four sections, and its numbers are the analytics Synkro
/// measured and stored (the fake AI writes them from the context it is given).
async fn report_matches_the_analytics(dir: &Path, said: &str) {
    let store = open(dir).await;
    let tenant = store.list_tenants(&PageRequest::first(10).unwrap()).await.unwrap().items.remove(0);
    let report = store.latest_report(tenant.id).await.unwrap().unwrap();
    store.close().await;
    let (summary, analytics) = (report.summary.unwrap(), report.analytics.unwrap());
    let d = &analytics.day;
    let at = |needle: &str| said.find(needle).unwrap_or_else(|| panic!("{needle:?} missing from:\n{said}"));
    let sections = ["1. Итоги", "2. Риски", "3. Сильные стороны", "4. Рекомендации"].map(at);
    assert!(sections.windows(2).all(|w| w[0] < w[1]), "{said}");
    at(&format!(
        "Сделок в отчёте: {}, из них с диалогами: {}; сообщений за день: {}.",
        summary.total_deals, summary.deals_with_dialogs, summary.total_messages
    ));
    assert!(summary.total_messages > 0 && d.inbound_messages + d.outbound_messages == summary.total_messages);
    let duration = |secs| synkro::pipeline::ai_text::duration_text(synkro::domain::Language::Ru, secs);
    let median = d.first_response_median_secs.expect("the demo's dialogs have answered questions");
    at(&format!("медиана {}, 90% ответов быстрее {}", duration(median), duration(d.first_response_p90_secs.unwrap())));
    if d.clients_waiting > 0 {
        at(&format!("На конец дня ждут ответа клиентов: {}.", d.clients_waiting));
        let longest = &analytics.waiting[0];
        at(&format!("{} (сделка {}", longest.deal_name, longest.deal_id));
    }
    if let Some(updated) = d.deals_updated {
        at(&format!("Обновлено сделок в CRM: {updated}."));
    }
}

#[tokio::test]
async fn the_demo_runs_a_report_end_to_end_and_replaces_only_its_own_earlier_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = synkro_in(dir.path(), &["demo", "--no-serve"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains(": success"), "the report job succeeded: {said}");
    assert!(said.contains("1 message(s) delivered to the fake Telegram"), "{said}");
    for step in ["check_config", "sync_sources", "summary", "deliver", "done"] {
        assert!(said.contains(step), "progress shows {step}: {said}");
    }
    let first = logins(&said);
    let names: Vec<&str> = first.iter().map(|(name, _, _)| name.as_str()).collect();
    assert_eq!(names, ["admin", "client"], "{said}");
    report_matches_the_analytics(dir.path(), &said).await;

    // A second run replaces the demo's own tenant and logins, and works again.
    let again = synkro_in(dir.path(), &["demo", "--no-serve"]);
    let said = text(&again);
    assert!(again.status.success() && said.contains(": success"), "{said}");
    let second = logins(&said);
    assert_eq!(second.iter().map(|(name, _, _)| name.as_str()).collect::<Vec<_>>(), ["admin", "client"], "{said}");
    let store = open(dir.path()).await;
    let tenants = store.list_tenants(&PageRequest::first(10).unwrap()).await.unwrap().items;
    assert_eq!(tenants.len(), 1, "{tenants:?}");
    for (name, password, _) in &second {
        let user = store.get_user_by_username(name).await.unwrap();
        assert!(synkro::http::auth::password::verify(password, user.password_hash.as_ref()), "{name}");
    }
    store.close().await;
}

#[tokio::test]
async fn the_demo_keeps_its_own_data_directory_and_its_fake_services_quiet() {
    let cwd = tempfile::tempdir().unwrap();
    // `synkro serve`'s default data, with a real tenant.
    let out = synkro(cwd.path(), &[("SYNKRO_LOG", "warn")], &["admin", "create-tenant", "Acme", "acme"]);
    assert!(out.status.success(), "{}", text(&out));

    // No SYNKRO_DATA_DIR, no SYNKRO_LOG: what `cargo run -- demo` does.
    let out = synkro(cwd.path(), &[], &["demo", "--no-serve"]);
    let said = text(&out);
    assert!(out.status.success() && said.contains(": success"), "{said}");
    assert!(cwd.path().join("demo-data/synkro.db").exists(), "the demo's database is its own: {said}");
    assert!(cwd.path().join("demo-data/secret.key").exists(), "{said}");
    assert!(said.contains("demo-data"), "the demo says where its data is: {said}");
    let serve_data = open(&cwd.path().join("data")).await;
    let tenants = serve_data.list_tenants(&PageRequest::first(10).unwrap()).await.unwrap().items;
    let slugs: Vec<String> = tenants.iter().map(|t| t.slug.to_string()).collect();
    assert_eq!(slugs, ["acme"], "serve's database is untouched");
    serve_data.close().await;

    let log = String::from_utf8_lossy(&out.stderr);
    let noisy: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("INFO") && (l.contains("poem::server") || l.contains("synkro_sandbox")))
        .collect();
    assert!(noisy.is_empty(), "the fake services log warnings only: {noisy:#?}");
    assert!(!log.contains('\x1b'), "no colours when stderr is not a terminal: {log:?}");
}

#[tokio::test]
async fn the_demo_never_changes_existing_accounts_and_labels_rights_truthfully() {
    let dir = tempfile::tempdir().unwrap();
    create_user(dir.path(), "admin", "the real admin's secret");
    create_user(dir.path(), "client", "the real client's secret");

    let out = synkro_in(dir.path(), &["demo", "--no-serve"]);
    let said = text(&out);
    assert!(out.status.success() && said.contains(": success"), "{said}");

    let store = open(dir.path()).await;
    let printed = logins(&said);
    assert_eq!(printed.len(), 2, "{said}");
    for (name, _, rights) in &printed {
        let user = store.get_user_by_username(name).await.unwrap();
        assert_eq!(rights == "superuser", user.is_superuser, "{name} is labelled {rights:?}: {said}");
    }
    assert!(printed.iter().any(|(_, _, rights)| rights == "superuser"), "{said}");

    for (name, password) in [("admin", "the real admin's secret"), ("client", "the real client's secret")] {
        let user = store.get_user_by_username(name).await.unwrap();
        assert!(synkro::http::auth::password::verify(password, user.password_hash.as_ref()), "{name}'s password kept");
        assert!(!user.is_superuser, "{name} gained no rights");
        assert!(store.list_user_roles(user.id).await.unwrap().is_empty(), "{name} gained no role");
    }
    assert!(said.contains("admin already existed") && said.contains("client already existed"), "{said}");
    for (name, password, _) in &printed {
        assert!(name != "admin" && name != "client", "the demo printed an existing account: {said}");
        let user = store.get_user_by_username(name).await.unwrap();
        assert!(synkro::http::auth::password::verify(password, user.password_hash.as_ref()), "{name}");
    }
    store.close().await;
}

#[tokio::test]
async fn the_demo_refuses_a_database_with_tenants_it_did_not_create() {
    let dir = tempfile::tempdir().unwrap();
    let out = synkro_in(dir.path(), &["admin", "create-tenant", "Real Company", "demo"]);
    assert!(out.status.success(), "{}", text(&out));
    let store = open(dir.path()).await;
    let before = store.get_tenant_by_slug(&Slug::new("demo").unwrap()).await.unwrap();
    store.close().await;

    let out = synkro_in(dir.path(), &["demo", "--no-serve"]);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("did not create (demo)") && said.contains("SYNKRO_DATA_DIR"), "{said}");

    let store = open(dir.path()).await;
    let after = store.get_tenant_by_slug(&Slug::new("demo").unwrap()).await.unwrap();
    assert_eq!((after.id, after.name.as_str()), (before.id, "Real Company"), "the tenant is untouched");
    assert!(store.list_users(&PageRequest::first(10).unwrap()).await.unwrap().items.is_empty(), "no logins added");
    store.close().await;

    // Any other tenant too: the demo's workers and scheduler would run its reports against the
    // fake services.
    let other = tempfile::tempdir().unwrap();
    assert!(synkro_in(other.path(), &["admin", "create-tenant", "Acme", "acme"]).status.success());
    let out = synkro_in(other.path(), &["demo", "--no-serve"]);
    assert!(!out.status.success() && text(&out).contains("did not create (acme)"), "{}", text(&out));
}

#[tokio::test]
async fn the_scheduler_does_not_post_the_demos_report_a_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let out = synkro_in(dir.path(), &["demo", "--no-serve"]);
    let said = text(&out);
    assert!(out.status.success() && said.contains("1 message(s) delivered to the fake Telegram"), "{said}");

    // The pass `synkro demo`'s scheduler makes as soon as it serves.
    let store = open(dir.path()).await;
    let (keyring, _) = synkro::Keyring::load(None, dir.path()).unwrap().expect("the demo's key file");
    let registry = synkro::connector::Registry::from_linked().unwrap();
    let service = synkro::pipeline::Service::builder(store.clone(), registry, keyring).build().await.unwrap();
    let now = synkro::time::Timestamp::now();
    let tick =
        synkro::pipeline::scheduler::tick(&service, now, synkro::pipeline::scheduler::DEFAULT_CATCH_UP).await.unwrap();
    assert_eq!(tick.created, 0, "{tick:?}");

    let tenant = store.get_tenant_by_slug(&Slug::new("demo").unwrap()).await.unwrap();
    let jobs = store.list_jobs(Some(tenant.id), &PageRequest::first(10).unwrap()).await.unwrap().items;
    assert_eq!(jobs.len(), 1, "one report job for the window: {jobs:#?}");
    let reports = store.list_reports(tenant.id, &PageRequest::first(10).unwrap()).await.unwrap().items;
    assert_eq!(reports.len(), 1);
    store.close().await;
}

/// Kills the demo server when the test ends, however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_demo_ends_by_printing_the_dashboards_address_and_logins_that_sign_in() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_synkro"));
    cmd.arg("demo").env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).current_dir(dir.path());
    cmd.env("SYNKRO_DATA_DIR", dir.path()).env("SYNKRO_LOG", "warn").env("SYNKRO_BIND", "127.0.0.1:0");
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = Running(cmd.spawn().unwrap());
    let stdout = child.0.stdout.take().unwrap();
    // Read until the last line the demo prints before it serves.
    let said = tokio::task::spawn_blocking(move || {
        let mut said = String::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            said.push_str(&line);
            said.push('\n');
            if line.starts_with("Stop with Ctrl-C") {
                break;
            }
        }
        said
    })
    .await
    .unwrap();
    let tail = &said[said.find("Dashboard: ").unwrap_or_else(|| panic!("no dashboard address: {said}"))..];
    let url = tail["Dashboard: ".len()..].split_whitespace().next().unwrap().to_owned();
    let printed = logins(tail);
    assert_eq!(printed.len(), 2, "both logins after the address: {tail}");

    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = http.get(format!("{url}login")).send().await.unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let page = login.text().await.unwrap();
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let (name, password, _) = &printed[0];
    let form = [("username", name.as_str()), ("password", password.as_str()), ("csrf", csrf.as_str())];
    let signed = http.post(format!("{url}login")).header("cookie", cookie).form(&form).send().await.unwrap();
    assert_eq!(signed.status(), 303, "the printed admin login signs in to the dashboard");
    let session = signed.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let overview = http.get(&url).header("cookie", session).send().await.unwrap().text().await.unwrap();
    assert!(overview.contains("Demo") || overview.contains("demo"), "the demo company on the overview: {overview}");
}

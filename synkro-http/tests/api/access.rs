//! DESIGN.md section 4 on every endpoint: each operation of the OpenAPI document is called by
//! every kind of caller (superuser, global and tenant super_admin, admin_lite, user, a user of
//! another tenant, a user with no role, anonymous) and answers what the rules say; the test
//! fails if the document has an operation the matrix does not call. Other tenants' objects
//! answer exactly like missing ones.

use std::{
    collections::BTreeSet,
    sync::atomic::{AtomicUsize, Ordering},
};

use serde_json::{Value, json};
use synkro_core::{
    domain::{ConnectorKind, NewIntegrationConfig, NewUser, Role},
    store::NewApiToken,
};

use crate::support::{CANARY, Login, PASSWORD, World};

synkro_core::on_both_backends!(
    start = crate::support::World::start;
    the_access_matrix,
    other_tenants_objects_look_missing,
    tenant_lists_show_only_visible_tenants,
    a_user_stops_manual_jobs_only
);

/// DESIGN.md section 4: a `user` starts and stops manual report jobs; the scheduled ones are
/// for the tenant's admins.
async fn a_user_stops_manual_jobs_only(w: &World) {
    let start = synkro_core::time::Timestamp::from_unix_seconds(1_700_000_000).unwrap();
    let end = synkro_core::time::Timestamp::from_unix_seconds(1_700_086_400).unwrap();
    let request = synkro_pipeline::ReportRequest {
        trigger: synkro_core::domain::TriggerType::Scheduled,
        ..synkro_pipeline::ReportRequest::manual(w.cast.acme.id)
    }
    .window(start, end);
    let scheduled = w.state.service.enqueue_report(request).await.unwrap();
    let path = format!("/api/v1/jobs/{}/stop", scheduled.id.as_uuid());
    let plain = w.login("plain").await;
    let refused = w.call("POST", &path, Some(&plain), None, &[]).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(w.store.get_job(scheduled.id).await.unwrap().status, synkro_core::domain::JobStatus::Pending);
    let lite = w.login("lite").await;
    let stopped = w.call("POST", &path, Some(&lite), None, &[]).await;
    assert_eq!(stopped.status, 200, "{}", stopped.text);
}

/// The callers, in the order of every expectation row.
const WHO: [&str; 8] = ["root", "gadmin", "tadmin", "lite", "plain", "stranger", "nobody", "anonymous"];

/// Who may do something, as the expected status class per caller (in [`WHO`] order; 2 = 2xx).
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// No sign-in needed.
    Open,
    /// Anyone signed in.
    SignedIn,
    /// Any role on acme (read, and the client actions: jobs, questions).
    AnyRole,
    /// admin_lite and above on acme: settings.
    Settings,
    /// super_admin on acme: the tenant, its users and roles, its audit log.
    Access,
    /// Superusers and global super_admins, on an object of a tenant like acme.
    GlobalOnTenant,
    /// Superusers and global super_admins, on nothing tenant-specific.
    Global,
    /// Anyone who manages users: superusers and every super_admin.
    UserManagers,
    /// A user whose only role is on acme: those who manage acme's users.
    AcmeUser,
}

impl Rule {
    fn expected(self) -> [u16; 8] {
        match self {
            Rule::Open => [2, 2, 2, 2, 2, 2, 2, 2],
            Rule::SignedIn => [2, 2, 2, 2, 2, 2, 2, 401],
            Rule::AnyRole => [2, 2, 2, 2, 2, 404, 404, 401],
            Rule::Settings => [2, 2, 2, 2, 403, 404, 404, 401],
            Rule::Access => [2, 2, 2, 403, 403, 404, 404, 401],
            Rule::GlobalOnTenant => [2, 2, 403, 403, 403, 404, 404, 401],
            Rule::Global => [2, 2, 403, 403, 403, 403, 403, 401],
            Rule::UserManagers => [2, 2, 2, 403, 403, 403, 403, 401],
            Rule::AcmeUser => [2, 2, 2, 404, 404, 404, 404, 401],
        }
    }
}

/// One call: method, the document's path template, the concrete path, a body, and (for
/// logout) a login of its own so the caller's main session survives.
struct Call {
    method: &'static str,
    template: &'static str,
    path: String,
    body: Option<Value>,
    own_login: bool,
}

fn call(method: &'static str, template: &'static str, path: String, body: Option<Value>) -> Call {
    Call { method, template, path, body, own_login: false }
}

static SERIAL: AtomicUsize = AtomicUsize::new(0);

fn fresh(prefix: &str) -> String {
    format!("{prefix}-{}", SERIAL.fetch_add(1, Ordering::Relaxed))
}

/// The endpoint `n` as `who` calls it (objects it changes or deletes are made fresh each time).
async fn prepare(w: &World, who: &str, n: usize) -> Option<(Rule, Call)> {
    let t = w.cast.acme.id.as_uuid();
    let r = w.cast.acme_report.id.as_uuid();
    let j = w.cast.acme_job.id.as_uuid();
    let user_id = async || w.acme_user(&fresh("member"), Role::User).await.id.as_uuid();
    let role_id = async || {
        let user = w.acme_user(&fresh("holder"), Role::User).await;
        w.store.list_user_roles(user.id).await.unwrap()[0].id.as_uuid()
    };
    Some(match n {
        0 => (
            Rule::Open,
            call(
                "POST",
                "/auth/login",
                "/api/v1/auth/login".into(),
                Some(json!({"username": "root", "password": PASSWORD})),
            ),
        ),
        1 => {
            let mut c = call("POST", "/auth/logout", "/api/v1/auth/logout".into(), None);
            c.own_login = true;
            (Rule::SignedIn, c)
        }
        2 => (Rule::SignedIn, call("GET", "/auth/me", "/api/v1/auth/me".into(), None)),
        3 => {
            let body = json!({"current_password": PASSWORD, "new_password": PASSWORD});
            (Rule::SignedIn, call("POST", "/auth/password", "/api/v1/auth/password".into(), Some(body)))
        }
        4 => (Rule::SignedIn, call("GET", "/auth/profile", "/api/v1/auth/profile".into(), None)),
        5 => {
            let body = json!({"phone": "+7 900 000-00-00", "timezone": "Asia/Almaty"});
            (Rule::SignedIn, call("PUT", "/auth/profile", "/api/v1/auth/profile".into(), Some(body)))
        }
        6 => (Rule::SignedIn, call("GET", "/auth/tokens", "/api/v1/auth/tokens".into(), None)),
        7 => (Rule::SignedIn, call("POST", "/auth/tokens", "/api/v1/auth/tokens".into(), Some(json!({"name": "ci"})))),
        8 => {
            let owner = w.store.get_user_by_username(if who == "anonymous" { "root" } else { who }).await.unwrap();
            let new = NewApiToken {
                user_id: owner.id,
                name: "old".into(),
                token_hash: synkro_http::auth::token_id(&fresh("synkro_pat_x")),
                prefix: "synkro_pat_x".into(),
                expires_at: None,
            };
            let token = w.store.create_api_token(&new).await.unwrap();
            let path = format!("/api/v1/auth/tokens/{}", token.id.as_uuid());
            (Rule::SignedIn, call("DELETE", "/auth/tokens/{id}", path, None))
        }
        9 => (Rule::SignedIn, call("GET", "/tenants", "/api/v1/tenants".into(), None)),
        10 => {
            let slug = fresh("made");
            let body = json!({"name": slug, "slug": slug, "timezone": "Europe/Berlin"});
            (Rule::Global, call("POST", "/tenants", "/api/v1/tenants".into(), Some(body)))
        }
        11 => (Rule::AnyRole, call("GET", "/tenants/{id}", format!("/api/v1/tenants/{t}"), None)),
        12 => {
            let body = json!({"name": "Acme"});
            (Rule::Access, call("PATCH", "/tenants/{id}", format!("/api/v1/tenants/{t}"), Some(body)))
        }
        13 => {
            let doomed = w.tenant_like_acme(&fresh("doomed")).await.id.as_uuid();
            (Rule::GlobalOnTenant, call("DELETE", "/tenants/{id}", format!("/api/v1/tenants/{doomed}"), None))
        }
        14 => (Rule::UserManagers, call("GET", "/users", "/api/v1/users".into(), None)),
        15 => {
            let body = json!({"username": fresh("newbie"), "password": "a fine password", "email": "n@example.com"});
            (Rule::UserManagers, call("POST", "/users", "/api/v1/users".into(), Some(body)))
        }
        16 => (Rule::AcmeUser, call("GET", "/users/{id}", format!("/api/v1/users/{}", user_id().await), None)),
        17 => {
            let body = json!({"email": "member@example.com"});
            (Rule::AcmeUser, call("PATCH", "/users/{id}", format!("/api/v1/users/{}", user_id().await), Some(body)))
        }
        18 => (Rule::AcmeUser, call("DELETE", "/users/{id}", format!("/api/v1/users/{}", user_id().await), None)),
        19 => (Rule::Access, call("GET", "/tenants/{id}/roles", format!("/api/v1/tenants/{t}/roles"), None)),
        20 => {
            // An account tadmin created and that holds no role yet: the one kind of outsider a
            // tenant's super_admin may bring in (a_tenant_admin_grants_roles_only_to_their_own_people).
            let tadmin = w.store.get_user_by_username("tadmin").await.unwrap();
            let new = NewUser { created_by: Some(tadmin.id), ..NewUser::new(&fresh("loner")).unwrap() };
            let loner = w.store.create_user(&new).await.unwrap();
            let body = json!({"user_id": loner.id.as_uuid(), "tenant_id": t, "role": "user"});
            (Rule::Access, call("POST", "/roles", "/api/v1/roles".into(), Some(body)))
        }
        21 => {
            let body = json!({"is_active": false});
            (Rule::Access, call("PATCH", "/roles/{id}", format!("/api/v1/roles/{}", role_id().await), Some(body)))
        }
        22 => (Rule::Access, call("DELETE", "/roles/{id}", format!("/api/v1/roles/{}", role_id().await), None)),
        23 => (Rule::SignedIn, call("GET", "/connectors", "/api/v1/connectors".into(), None)),
        24 => (
            Rule::Settings,
            call("GET", "/tenants/{id}/integrations", format!("/api/v1/tenants/{t}/integrations"), None),
        ),
        25 => {
            let path = format!("/api/v1/tenants/{t}/integrations/ai");
            (Rule::Settings, call("GET", "/tenants/{id}/integrations/{kind}", path, None))
        }
        26 => {
            let path = format!("/api/v1/tenants/{t}/integrations/ai");
            let body = json!({"public_config": {"provider": "openai", "model": "fake-1", "temperature": 0.3}});
            (Rule::Settings, call("PUT", "/tenants/{id}/integrations/{kind}", path, Some(body)))
        }
        27 => {
            let kind = ConnectorKind::new("telegram").unwrap();
            if w.store.get_integration(w.cast.acme.id, &kind).await.is_err() {
                let new = NewIntegrationConfig::new(w.cast.acme.id, kind, json!({"chat_id": "-100"}), None).unwrap();
                w.store.create_integration(&new).await.unwrap();
            }
            let path = format!("/api/v1/tenants/{t}/integrations/telegram");
            (Rule::Settings, call("DELETE", "/tenants/{id}/integrations/{kind}", path, None))
        }
        28 => {
            let path = format!("/api/v1/tenants/{t}/integrations/ai/check");
            (Rule::Settings, call("POST", "/tenants/{id}/integrations/{kind}/check", path, None))
        }
        29 => {
            let path = format!("/api/v1/tenants/{t}/integrations/ai/models");
            (Rule::Settings, call("GET", "/tenants/{id}/integrations/{kind}/models", path, None))
        }
        30 => {
            let path = format!("/api/v1/tenants/{t}/runtime-config");
            (Rule::Settings, call("GET", "/tenants/{id}/runtime-config", path, None))
        }
        31 => {
            let path = format!("/api/v1/tenants/{t}/runtime-config");
            let body = json!({"min_dialogs_for_report": 2, "scheduled_run_time": "21:30"});
            (Rule::Settings, call("PATCH", "/tenants/{id}/runtime-config", path, Some(body)))
        }
        32 => (Rule::AnyRole, call("GET", "/tenants/{id}/reports", format!("/api/v1/tenants/{t}/reports"), None)),
        33 => (Rule::AnyRole, call("GET", "/reports/{id}", format!("/api/v1/reports/{r}"), None)),
        34 => (Rule::AnyRole, call("GET", "/reports/{id}/questions", format!("/api/v1/reports/{r}/questions"), None)),
        35 => {
            let body = json!({"question": "How were sales?"});
            (
                Rule::AnyRole,
                call("POST", "/reports/{id}/questions", format!("/api/v1/reports/{r}/questions"), Some(body)),
            )
        }
        36 => (Rule::AnyRole, call("GET", "/tenants/{id}/jobs", format!("/api/v1/tenants/{t}/jobs"), None)),
        37 => (Rule::AnyRole, call("POST", "/tenants/{id}/jobs", format!("/api/v1/tenants/{t}/jobs"), Some(json!({})))),
        38 => (Rule::AnyRole, call("GET", "/jobs/{id}", format!("/api/v1/jobs/{j}"), None)),
        39 => (Rule::AnyRole, call("GET", "/jobs/{id}/events", format!("/api/v1/jobs/{j}/events"), None)),
        40 => (Rule::AnyRole, call("POST", "/jobs/{id}/stop", format!("/api/v1/jobs/{j}/stop"), None)),
        41 => (Rule::AnyRole, call("GET", "/jobs/{id}/stream", format!("/api/v1/jobs/{j}/stream"), None)),
        42 => (Rule::Access, call("GET", "/audit", format!("/api/v1/audit?tenant_id={t}&action=job.start"), None)),
        43 => (Rule::Global, call("GET", "/audit", "/api/v1/audit?limit=10".into(), None)),
        44 => (Rule::Settings, call("POST", "/reports/{id}/resend", format!("/api/v1/reports/{r}/resend"), None)),
        45 => (Rule::AnyRole, call("GET", "/reports/{id}/rows.csv", format!("/api/v1/reports/{r}/rows.csv"), None)),
        46 => (Rule::AnyRole, call("GET", "/reports/{id}/text.md", format!("/api/v1/reports/{r}/text.md"), None)),
        _ => return None,
    })
}

async fn the_access_matrix(w: &World) {
    let mut called = BTreeSet::new();
    let mut logins = Vec::new();
    for who in WHO {
        logins.push(if who == "anonymous" { None } else { Some(w.login(who).await) });
    }
    for n in 0.. {
        for (i, who) in WHO.iter().enumerate() {
            let Some((rule, c)) = prepare(w, who, n).await else {
                return check_coverage(w, called).await;
            };
            called.insert(format!("{} {}", c.method, c.template));
            let fresh_login;
            let login: Option<&Login> = match (&logins[i], c.own_login) {
                (Some(_), true) => {
                    fresh_login = w.login(who).await;
                    Some(&fresh_login)
                }
                (login, _) => login.as_ref(),
            };
            let a = w.call(c.method, &c.path, login, c.body.clone(), &[]).await;
            let class = if (200..300).contains(&a.status) { 2 } else { a.status };
            let expected = rule.expected()[i];
            assert_eq!(class, expected, "{who} {} {} ({rule:?}): {} {}", c.method, c.path, a.status, a.text);
            if class != 2 {
                let code = a.json()["code"].as_str().unwrap().to_owned();
                let want = match expected {
                    401 => "unauthenticated",
                    403 => "forbidden",
                    _ => "not_found",
                };
                assert_eq!(code, want, "{who} {} {}", c.method, c.path);
            }
            if c.template == "/jobs/{id}/stream" && class == 2 {
                assert!(a.header("content-type").unwrap().starts_with("text/event-stream"));
                assert!(a.text.contains("event: done"), "a finished job's stream ends with done: {}", a.text);
            }
            if c.template == "/tenants/{id}/jobs" && c.method == "POST" && class == 2 {
                // Free the tenant's report slot for the next caller.
                let id = a.json()["id"].as_str().unwrap().to_owned();
                // (root's own session: changing the password ended root's other sessions.)
                let root = logins[0].as_ref();
                let stop = w.call("POST", &format!("/api/v1/jobs/{id}/stop"), root, None, &[]).await;
                assert_eq!(stop.status, 200, "{}", stop.text);
            }
        }
    }
}

/// Every operation of the OpenAPI document was called above, and nothing else.
async fn check_coverage(w: &World, called: BTreeSet<String>) {
    let doc: Value = serde_json::from_str(&synkro_http::openapi_json()).unwrap();
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| format!("{} {path}", m.to_uppercase())))
        .collect();
    assert_eq!(called, documented, "the matrix and the document must list the same operations");
    let asked = w
        .get(&format!("/api/v1/reports/{}/questions", w.cast.acme_report.id.as_uuid()), Some(&w.login("root").await))
        .await;
    let asked = asked.json();
    assert_eq!(asked.as_array().unwrap().len(), 5, "one question per allowed role");
    assert_eq!(asked[0]["answer"], "Sales were steady.", "the AI got the stored key");
    for body in w.bodies() {
        assert!(!body.contains(CANARY), "the integration secret leaked into a response: {body}");
    }
}

async fn other_tenants_objects_look_missing(w: &World) {
    let plain = w.login("plain").await;
    let missing = uuid::Uuid::now_v7();
    let other = &w.cast;
    let o = other.other.id.as_uuid();
    let pairs = [
        (format!("/api/v1/tenants/{o}"), format!("/api/v1/tenants/{missing}")),
        (format!("/api/v1/tenants/{o}/reports"), format!("/api/v1/tenants/{missing}/reports")),
        (format!("/api/v1/tenants/{o}/jobs"), format!("/api/v1/tenants/{missing}/jobs")),
        (format!("/api/v1/tenants/{o}/integrations"), format!("/api/v1/tenants/{missing}/integrations")),
        (format!("/api/v1/tenants/{o}/runtime-config"), format!("/api/v1/tenants/{missing}/runtime-config")),
        (format!("/api/v1/tenants/{o}/roles"), format!("/api/v1/tenants/{missing}/roles")),
        (format!("/api/v1/audit?tenant_id={o}"), format!("/api/v1/audit?tenant_id={missing}")),
        (format!("/api/v1/reports/{}", other.other_report.id.as_uuid()), format!("/api/v1/reports/{missing}")),
        (format!("/api/v1/jobs/{}", other.other_job.id.as_uuid()), format!("/api/v1/jobs/{missing}")),
        (format!("/api/v1/jobs/{}/events", other.other_job.id.as_uuid()), format!("/api/v1/jobs/{missing}/events")),
        (format!("/api/v1/jobs/{}/stream", other.other_job.id.as_uuid()), format!("/api/v1/jobs/{missing}/stream")),
    ];
    for who in ["plain", "tadmin", "lite"] {
        let login = w.login(who).await;
        for (theirs, nothing) in &pairs {
            let a = w.get(theirs, Some(&login)).await;
            let b = w.get(nothing, Some(&login)).await;
            assert_eq!(a.status, 404, "{who} {theirs}: {}", a.text);
            assert_eq!((a.status, &a.text), (b.status, &b.text), "{who}: {theirs} must look like {nothing}");
        }
    }
    let stranger = w.store.get_user_by_username("stranger").await.unwrap();
    for (method, path, body) in [
        ("POST", format!("/api/v1/jobs/{}/stop", other.other_job.id.as_uuid()), None),
        ("POST", format!("/api/v1/tenants/{o}/jobs"), Some(json!({}))),
        (
            "POST",
            format!("/api/v1/reports/{}/questions", other.other_report.id.as_uuid()),
            Some(json!({"question": "?"})),
        ),
        ("PATCH", format!("/api/v1/tenants/{o}"), Some(json!({"name": "Mine"}))),
        ("PUT", format!("/api/v1/tenants/{o}/integrations/ai"), Some(json!({"public_config": {}}))),
        ("POST", format!("/api/v1/tenants/{o}/integrations/ai/check"), None),
        ("GET", format!("/api/v1/users/{}", stranger.id.as_uuid()), None),
        (
            "POST",
            "/api/v1/roles".to_owned(),
            Some(json!({"user_id": stranger.id.as_uuid(), "tenant_id": o, "role": "user"})),
        ),
    ] {
        let a = w.call(method, &path, Some(&plain), body.clone(), &[]).await;
        assert_eq!(a.status, 404, "plain {method} {path}: {}", a.text);
        let tadmin = w.login("tadmin").await;
        let a = w.call(method, &path, Some(&tadmin), body, &[]).await;
        assert_eq!(a.status, 404, "tadmin {method} {path}: {}", a.text);
    }
}

async fn tenant_lists_show_only_visible_tenants(w: &World) {
    for (who, expected) in [
        ("root", vec!["other", "acme"]),
        ("gadmin", vec!["other", "acme"]),
        ("tadmin", vec!["acme"]),
        ("plain", vec!["acme"]),
        ("stranger", vec!["other"]),
        ("nobody", vec![]),
    ] {
        let login = w.login(who).await;
        let a = w.get("/api/v1/tenants", Some(&login)).await;
        assert_eq!(a.status, 200, "{}", a.text);
        let slugs: Vec<String> =
            a.json()["items"].as_array().unwrap().iter().map(|t| t["slug"].as_str().unwrap().to_owned()).collect();
        assert_eq!(slugs, expected, "{who}");
    }
    let plain = w.login("plain").await;
    let list = w.get(&format!("/api/v1/tenants/{}/reports", w.cast.acme.id.as_uuid()), Some(&plain)).await.json();
    let item = &list["items"][0];
    assert_eq!(item["summary"]["total_deals"], 3);
    assert_eq!(item["summary"]["total_messages"], 12);
    assert!(item.get("metadata").is_none() && item.get("summary_text").is_none(), "lists carry summaries only");
    let full = w.get(&format!("/api/v1/reports/{}", w.cast.acme_report.id.as_uuid()), Some(&plain)).await.json();
    assert_eq!(full["metadata"]["details"]["big"], "blob");
    assert_eq!(full["analytics"]["day"]["deals"], 0, "the analytics are a typed field of the report");
    assert_eq!(
        (full["summary"]["deals_with_dialogs"].as_u64(), full["ai"]["model"].as_str()),
        (Some(2), Some("gpt-4o-mini"))
    );
    assert_eq!(full["summary_text"], "Report for acme");
}

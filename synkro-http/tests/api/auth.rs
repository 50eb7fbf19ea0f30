//! Login, cookies, CSRF, logout, throttling and the audit trail of logins.

use serde_json::json;
use synkro_core::{domain::AuditFilter, store::PageRequest};

use crate::support::{PASSWORD, World};

synkro_core::on_both_backends!(
    start = crate::support::World::start;
    login_sets_a_hardened_cookie_and_me_answers,
    cookie_is_secure_only_when_a_trusted_proxy_says_https,
    state_changes_need_the_csrf_token,
    logout_revokes_the_session,
    failed_logins_are_held_back_per_username_and_address_and_audited_once,
    failed_logins_are_throttled_per_address,
    every_api_node_shares_the_login_counters,
    another_api_node_sees_a_revocation_within_its_cache_lifetime,
);

async fn login_sets_a_hardened_cookie_and_me_answers(w: &World) {
    let a = w.try_login("plain", PASSWORD, &[]).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let cookie = a.header("set-cookie").unwrap();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP from a client that did not say https: {cookie}");
    let body = a.json();
    assert_eq!(body["user"]["username"], "plain");
    let roles = body["roles"].as_array().unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(
        (roles[0]["tenant_id"].clone(), roles[0]["role"].clone()),
        (json!(w.cast.acme.id.as_uuid()), json!("user"))
    );
    assert!(body["user"].get("password_hash").is_none());

    let login = w.login("plain").await;
    let me = w.get("/api/v1/auth/me", Some(&login)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["csrf_token"], login.csrf.as_str());
    assert_ne!(me.json()["csrf_token"], body["csrf_token"], "each session has its own CSRF token");

    let wrong = w.try_login("plain", "not the password", &[]).await;
    assert_eq!((wrong.status, wrong.json()["code"].as_str()), (401, Some("bad_credentials")));
    let unknown = w.try_login("ghost", PASSWORD, &[]).await;
    assert_eq!(unknown.text, wrong.text, "unknown users and wrong passwords look the same");
    assert!(wrong.header("set-cookie").is_none());
}

async fn cookie_is_secure_only_when_a_trusted_proxy_says_https(w: &World) {
    // The test client connects from loopback, which is a trusted proxy.
    let a = w.try_login("plain", PASSWORD, &[("x-forwarded-proto", "https")]).await;
    assert!(a.header("set-cookie").unwrap().contains("; Secure"), "behind a TLS proxy the cookie is Secure");
    let a = w.try_login("plain", PASSWORD, &[("x-forwarded-proto", "http")]).await;
    assert!(!a.header("set-cookie").unwrap().contains("Secure"));
    // An untrusted peer's X-Forwarded-Proto is ignored: see net::tests (no socket needed).
}

async fn state_changes_need_the_csrf_token(w: &World) {
    let login = w.login("plain").await;
    let path = format!("/api/v1/jobs/{}/stop", w.cast.acme_job.id.as_uuid());
    let without = w.send(w.request(reqwest::Method::POST, &path).header("cookie", &login.cookie)).await;
    assert_eq!((without.status, without.json()["code"].as_str()), (403, Some("csrf_failed")), "{}", without.text);
    let wrong = w
        .send(w.request(reqwest::Method::POST, &path).header("cookie", &login.cookie).header("x-csrf-token", "nope"))
        .await;
    assert_eq!(wrong.status, 403);
    let other = w.login("plain").await;
    let crossed = w
        .send(
            w.request(reqwest::Method::POST, &path).header("cookie", &login.cookie).header("x-csrf-token", &other.csrf),
        )
        .await;
    assert_eq!(crossed.status, 403, "another session's token does not count");
    let with = w.call("POST", &path, Some(&login), None, &[]).await;
    assert_eq!(with.status, 200, "{}", with.text);
    let read =
        w.send(w.request(reqwest::Method::GET, &path.replace("/stop", "")).header("cookie", &login.cookie)).await;
    assert_eq!(read.status, 200, "reads need no CSRF token");
}

async fn logout_revokes_the_session(w: &World) {
    let login = w.login("plain").await;
    let out = w.call("POST", "/api/v1/auth/logout", Some(&login), None, &[]).await;
    assert_eq!(out.status, 204, "{}", out.text);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"), "the cookie is cleared");
    let me = w.get("/api/v1/auth/me", Some(&login)).await;
    assert_eq!((me.status, me.json()["code"].as_str()), (401, Some("unauthenticated")), "the old cookie is dead");
    let other = w.login("plain").await;
    assert_eq!(w.get("/api/v1/auth/me", Some(&other)).await.status, 200, "other sessions live on");
}

/// Five wrong passwords hold the username back from that address only (growing delays, no
/// lockout from everywhere: anyone could otherwise lock out any admin), and the held-back
/// attempts make one audit entry with their count, not one each.
async fn failed_logins_are_held_back_per_username_and_address_and_audited_once(w: &World) {
    let from = [("x-forwarded-for", "203.0.113.5")];
    for _ in 0..5 {
        assert_eq!(w.try_login("lite", "wrong password", &from).await.status, 401);
    }
    for _ in 0..30 {
        let blocked = w.try_login("lite", PASSWORD, &from).await;
        assert_eq!(
            (blocked.status, blocked.json()["code"].as_str()),
            (429, Some("too_many_attempts")),
            "{}",
            blocked.text
        );
        let retry: u64 = blocked.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
    }
    assert_eq!(w.try_login("plain", PASSWORD, &from).await.status, 200, "other usernames still sign in");
    let elsewhere = w.try_login("lite", PASSWORD, &[("x-forwarded-for", "203.0.113.99")]).await;
    assert_eq!(elsewhere.status, 200, "the account is not locked from everywhere: {}", elsewhere.text);
    assert_eq!(synkro_http::auth::audit_refusals(&w.state).await, 1, "one summary for the held-back attempts");

    let audit = w.store.list_audit(&AuditFilter::default(), &PageRequest::first(200).unwrap()).await.unwrap().items;
    let failed: Vec<_> = audit.iter().filter(|a| a.action == "auth.login_failed").collect();
    assert_eq!(failed.len(), 5);
    assert!(failed.iter().all(|a| a.ip_address.as_deref() == Some("203.0.113.5") && a.metadata["username"] == "lite"));
    let held: Vec<_> = audit.iter().filter(|a| a.action == "auth.login_throttled").collect();
    assert_eq!(held.len(), 1, "30 held-back attempts, one entry");
    assert_eq!((held[0].metadata["count"].as_u64(), held[0].metadata["username"].as_str()), (Some(30), Some("lite")));
    assert_eq!(held[0].ip_address.as_deref(), Some("203.0.113.5"));
    let logins: Vec<_> = audit.iter().filter(|a| a.action == "auth.login").collect();
    let from: Vec<_> = logins.iter().map(|a| (a.metadata["username"].as_str(), a.ip_address.as_deref())).collect();
    assert!(from.contains(&(Some("plain"), Some("203.0.113.5"))), "{from:?}");
    assert!(from.contains(&(Some("lite"), Some("203.0.113.99"))), "{from:?}");
    assert!(logins.iter().all(|a| a.actor_id.is_some()));
    assert!(audit.iter().all(|a| !a.metadata.to_string().contains(PASSWORD)), "passwords are never audited");
}

async fn failed_logins_are_throttled_per_address(w: &World) {
    let from = [("x-forwarded-for", "198.51.100.7")];
    for i in 0..20 {
        assert_eq!(w.try_login(&format!("guess{i}"), "x", &from).await.status, 401);
    }
    assert_eq!(w.try_login("plain", PASSWORD, &from).await.status, 429, "the address is blocked for every name");
    assert_eq!(w.try_login("plain", PASSWORD, &[("x-forwarded-for", "198.51.100.8")]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temp_login_works_only_when_both_variables_are_set_and_is_audited() {
    use synkro_core::{Secret, config::TempLogin};
    use synkro_http::HttpConfig;

    let temp = TempLogin { username: "rescue".into(), password: Secret::new("rescue-pass-8841".to_owned()) };
    let config = HttpConfig { temp_login: Some(temp), ..HttpConfig::default() };
    let w = World::start_with("sqlite", "temp_login", config).await.unwrap();
    assert_eq!(w.try_login("rescue", "rescue-pass-884", &[]).await.status, 401, "a prefix is not the password");
    assert_eq!(w.try_login("rescue2", "rescue-pass-8841", &[]).await.status, 401);
    let a = w.try_login("rescue", "rescue-pass-8841", &[("x-forwarded-for", "192.0.2.77")]).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json()["user"]["is_superuser"], true);
    let audit = w.store.list_audit(&AuditFilter::default(), &PageRequest::first(50).unwrap()).await.unwrap().items;
    let used = audit.iter().find(|e| e.action == "auth.temp_login").expect("the fallback's use is audited");
    assert_eq!(used.ip_address.as_deref(), Some("192.0.2.77"));
    // Started again without the variables, the server deletes the fallback's account.
    synkro_http::auth::settle_temp_login(&w.store, None).await.unwrap();
    assert!(w.store.get_user_by_username("rescue").await.is_err(), "the account went with the variables");
    w.finish().await;

    // Variables naming an ordinary account give it no second password, and serving refuses them.
    let temp = TempLogin { username: "plain".into(), password: Secret::new("second-pass-1234".to_owned()) };
    let config = HttpConfig { temp_login: Some(temp.clone()), ..HttpConfig::default() };
    let w = World::start_with("sqlite", "temp_login_taken", config).await.unwrap();
    assert_eq!(w.try_login("plain", "second-pass-1234", &[]).await.status, 401, "no second password");
    let refused = synkro_http::auth::settle_temp_login(&w.store, Some(&temp)).await.unwrap_err();
    assert!(refused.contains("TEMP_LOGIN_USER") && refused.contains("plain"), "{refused}");
    assert!(!refused.contains("second-pass-1234"), "{refused}");
    w.finish().await;

    let w = World::start("sqlite", "temp_login_off").await.unwrap();
    assert_eq!(w.try_login("rescue", "rescue-pass-8841", &[]).await.status, 401, "off unless configured");
    assert!(w.store.get_user_by_username("rescue").await.is_err(), "no account appears");
    w.finish().await;
}

/// The counters live in the database: failures through one API node hold the next attempt
/// back on another.
async fn every_api_node_shares_the_login_counters(w: &World) {
    let other = synkro_http::AppState::new(w.state.service.clone(), synkro_http::HttpConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let node_b = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(synkro_http::serve(listener, other, async move {
        let _ = stopped.await;
    }));
    // Node B sees the client's own address (loopback), as node A does without the header.
    for _ in 0..5 {
        assert_eq!(w.try_login("tadmin", "wrong password", &[]).await.status, 401);
    }
    let on_b = reqwest::Client::new()
        .post(format!("{node_b}/api/v1/auth/login"))
        .json(&json!({"username": "tadmin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(on_b.status().as_u16(), 429, "node B holds back what node A counted");
    let _ = stop.send(());
}

async fn another_api_node_sees_a_revocation_within_its_cache_lifetime(w: &World) {
    use std::time::Duration;
    // A second API node over the same database, remembering callers for 300 ms.
    let config = synkro_http::HttpConfig { auth_cache_ttl: Duration::from_millis(300), ..Default::default() };
    let other = synkro_http::AppState::new(w.state.service.clone(), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let node_b = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(synkro_http::serve(listener, other, async move {
        let _ = stopped.await;
    }));
    let on_b = |login: &crate::support::Login| {
        let request = reqwest::Client::new().get(format!("{node_b}/api/v1/auth/me")).header("cookie", &login.cookie);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let login = w.login("plain").await;
    assert_eq!(on_b(&login).await, 200, "node B knows the session (and now remembers it)");
    assert_eq!(w.call("POST", "/api/v1/auth/logout", Some(&login), None, &[]).await.status, 204);
    assert_eq!(w.get("/api/v1/auth/me", Some(&login)).await.status, 401, "node A forgets at once");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(on_b(&login).await, 401, "node B stops accepting it within its cache lifetime");
    let _ = stop.send(());
}

//! Personal API tokens: shown once, stored hashed, usable without CSRF, limited to what a
//! session may not delegate, revocable, expiring.

use serde_json::json;
use synkro_core::time::Timestamp;

use crate::support::World;

synkro_core::on_both_backends!(
    start = crate::support::World::start;
    a_token_is_shown_once_works_as_its_owner_and_can_be_revoked,
    tokens_cannot_do_session_only_things
);

async fn a_token_is_shown_once_works_as_its_owner_and_can_be_revoked(w: &World) {
    let plain = w.login("plain").await;
    let made = w.call("POST", "/api/v1/auth/tokens", Some(&plain), Some(json!({"name": "nightly export"})), &[]).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let body = made.json();
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("synkro_pat_") && token.len() > 40, "{token}");
    assert_eq!(body["prefix"].as_str().unwrap(), &token[..16]);
    let stored = w.store.list_api_tokens(w.store.get_user_by_username("plain").await.unwrap().id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].token_hash, token, "only a hash is stored");
    assert!(!format!("{:?}", stored[0]).contains(&stored[0].token_hash), "Debug hides the hash");

    let listed = w.get("/api/v1/auth/tokens", Some(&plain)).await;
    assert!(!listed.text.contains(&token), "the list never shows the token: {}", listed.text);
    assert_eq!(listed.json()[0]["name"], "nightly export");

    // The token acts as plain: reads, and changes without any CSRF token or cookie.
    let me = w.with_token("GET", "/api/v1/auth/me", &token, None).await;
    assert_eq!((me.status, me.json()["user"]["username"].clone()), (200, json!("plain")), "{}", me.text);
    assert!(me.json()["csrf_token"].is_null(), "tokens need no CSRF token");
    let t = w.cast.acme.id.as_uuid();
    let started = w.with_token("POST", &format!("/api/v1/tenants/{t}/jobs"), &token, Some(json!({}))).await;
    assert_eq!(started.status, 202, "{}", started.text);
    let stop = format!("/api/v1/jobs/{}/stop", started.json()["id"].as_str().unwrap());
    assert_eq!(w.with_token("POST", &stop, &token, None).await.status, 200);
    let other = w.cast.other.id.as_uuid();
    assert_eq!(w.with_token("GET", &format!("/api/v1/tenants/{other}"), &token, None).await.status, 404, "same roles");
    let settings = format!("/api/v1/tenants/{t}/integrations");
    assert_eq!(w.with_token("GET", &settings, &token, None).await.status, 403, "no more than its owner");
    let audit = w.audit().await;
    let start = audit.iter().find(|a| a.action == "job.start").unwrap();
    assert_eq!(start.actor_id, Some(stored[0].user_id), "actions by token are the owner's");

    for bad in ["synkro_pat_0000", "Bearer", "not-a-token", &format!("{token}x")] {
        let a = w.with_token("GET", "/api/v1/auth/me", bad, None).await;
        assert_eq!((a.status, a.json()["code"].clone()), (401, json!("unauthenticated")), "{bad}");
    }

    let id = body["id"].as_str().unwrap();
    assert_eq!(w.call("DELETE", &format!("/api/v1/auth/tokens/{id}"), Some(&plain), None, &[]).await.status, 204);
    assert_eq!(w.with_token("GET", "/api/v1/auth/me", &token, None).await.status, 401, "revoked");
    assert!(w.get("/api/v1/auth/tokens", Some(&plain)).await.json()[0]["revoked_at"].is_string());
    let lite = w.login("lite").await;
    let theirs = w.call("DELETE", &format!("/api/v1/auth/tokens/{id}"), Some(&lite), None, &[]).await;
    assert_eq!(theirs.status, 404, "another user's token looks missing");
    let actions: Vec<String> = w.audit().await.into_iter().map(|a| a.action).collect();
    assert!(actions.contains(&"token.create".to_owned()) && actions.contains(&"token.revoke".to_owned()));
    assert!(w.bodies().iter().filter(|b| b.contains(&token)).count() == 1, "shown exactly once");

    // Expiry: a token past its date no longer works; a deactivated owner's tokens neither.
    let short = w
        .call("POST", "/api/v1/auth/tokens", Some(&plain), Some(json!({"name": "a day", "expires_in_days": 1})), &[])
        .await;
    let short = short.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(w.with_token("GET", "/api/v1/auth/me", &short, None).await.status, 200);
    let found =
        w.store.get_live_api_token(&synkro_http::auth::token_id(&short), Timestamp::now()).await.unwrap().unwrap();
    let tomorrow = Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() + 86_401).unwrap();
    assert!(w.store.get_live_api_token(&found.token_hash, tomorrow).await.unwrap().is_none(), "expired after a day");
    let bad_days = w
        .call("POST", "/api/v1/auth/tokens", Some(&plain), Some(json!({"name": "x", "expires_in_days": 0})), &[])
        .await;
    assert_eq!((bad_days.status, bad_days.json()["fields"][0]["field"].clone()), (422, json!("expires_in_days")));
    let root = w.login("root").await;
    let plain_id = found.user_id.as_uuid();
    let off = w
        .call("PATCH", &format!("/api/v1/users/{plain_id}"), Some(&root), Some(json!({"is_active": false})), &[])
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(w.with_token("GET", "/api/v1/auth/me", &short, None).await.status, 401, "inactive owner");
}

async fn tokens_cannot_do_session_only_things(w: &World) {
    let plain = w.login("plain").await;
    let made = w.call("POST", "/api/v1/auth/tokens", Some(&plain), Some(json!({"name": "script"})), &[]).await;
    let token = made.json()["token"].as_str().unwrap().to_owned();
    for (path, body) in [
        ("/api/v1/auth/tokens", Some(json!({"name": "another"}))),
        ("/api/v1/auth/password", Some(json!({"current_password": "x", "new_password": "yyyyyyyy"}))),
        ("/api/v1/auth/logout", None),
    ] {
        let a = w.with_token("POST", path, &token, body).await;
        assert_eq!((a.status, a.json()["code"].clone()), (403, json!("session_required")), "{path}: {}", a.text);
    }
    assert_eq!(w.get("/api/v1/auth/tokens", Some(&plain)).await.json().as_array().unwrap().len(), 1);
}

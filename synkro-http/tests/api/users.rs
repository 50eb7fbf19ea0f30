//! Tenants, users and roles through the API: who may change what, what an admin cannot take
//! over, sessions ending on password changes, and the audit trail with before/after values.

use serde_json::{Value, json};

use crate::support::{PASSWORD, World};

synkro_core::on_both_backends!(
    start = crate::support::World::start;
    a_tenant_admin_runs_their_tenants_people_and_no_one_else,
    superusers_and_self_are_protected,
    tenants_are_created_changed_and_deleted_with_an_audit_trail,
    people_endpoints_refuse_bad_input_by_field,
    a_tenant_admin_grants_roles_only_to_their_own_people,
);

/// A tenant's `super_admin` cannot pull anyone else into their tenant (and then read their
/// details or reset their password): not another tenant's user, not a superuser, not an
/// account with no role that someone else created. Their own new account works.
async fn a_tenant_admin_grants_roles_only_to_their_own_people(w: &World) {
    let tadmin = w.login("tadmin").await;
    let root = w.login("root").await;
    let t = w.cast.acme.id.as_uuid();
    let elsewhere = w.store.create_user(&synkro_core::domain::NewUser::new("elsewhere").unwrap()).await.unwrap();
    let grant = synkro_core::domain::NewUserRole {
        user_id: elsewhere.id,
        tenant_id: Some(w.cast.other.id),
        role: synkro_core::domain::Role::SuperAdmin,
    };
    w.store.grant_role(&grant).await.unwrap();
    let made = w.call("POST", "/api/v1/users", Some(&root), Some(json!({"username": "nobodys"})), &[]).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let nobodys = made.json()["id"].as_str().unwrap().to_owned();
    let superuser = w.store.get_user_by_username("root").await.unwrap();
    for (who, id, status) in [
        ("another tenant's user", elsewhere.id.as_uuid().to_string(), 404),
        ("a superuser", superuser.id.as_uuid().to_string(), 404),
        ("an account someone else created", nobodys.clone(), 404),
    ] {
        let grant = json!({"user_id": id, "tenant_id": t, "role": "user"});
        let answer = w.call("POST", "/api/v1/roles", Some(&tadmin), Some(grant), &[]).await;
        assert_eq!(answer.status, status, "{who}: {}", answer.text);
        let reset = w
            .call("PATCH", &format!("/api/v1/users/{id}"), Some(&tadmin), Some(json!({"password": "taken over!"})), &[])
            .await;
        assert_eq!(reset.status, 404, "{who}: {}", reset.text);
    }
    assert!(
        w.store.list_user_roles(elsewhere.id).await.unwrap().iter().all(|r| r.tenant_id == Some(w.cast.other.id)),
        "nothing was granted"
    );

    let own = w.call("POST", "/api/v1/users", Some(&tadmin), Some(json!({"username": "own-hire"})), &[]).await;
    let own_id = own.json()["id"].as_str().unwrap().to_owned();
    let grant = json!({"user_id": own_id, "tenant_id": t, "role": "user"});
    assert_eq!(w.call("POST", "/api/v1/roles", Some(&tadmin), Some(grant), &[]).await.status, 201);
    // The global admin still grants to anyone.
    let grant = json!({"user_id": nobodys, "tenant_id": t, "role": "user"});
    assert_eq!(w.call("POST", "/api/v1/roles", Some(&root), Some(grant), &[]).await.status, 201);
}

async fn login_as(w: &World, username: &str, password: &str) -> crate::support::Login {
    let a = w.try_login(username, password, &[]).await;
    assert_eq!(a.status, 200, "login {username}: {}", a.text);
    let cookie = a.header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
    crate::support::Login { cookie, csrf: a.json()["csrf_token"].as_str().unwrap().to_owned() }
}

async fn a_tenant_admin_runs_their_tenants_people_and_no_one_else(w: &World) {
    let tadmin = w.login("tadmin").await;
    let t = w.cast.acme.id.as_uuid();
    let made = w
        .call(
            "POST",
            "/api/v1/users",
            Some(&tadmin),
            Some(json!({"username": "anna", "password": "first password"})),
            &[],
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let anna: Value = made.json();
    let anna_id = anna["id"].as_str().unwrap().to_owned();
    assert_eq!((anna["has_password"].clone(), anna["roles"].clone()), (json!(true), json!([])));
    assert!(!made.text.contains("first password") && !made.text.contains("argon2"), "{}", made.text);

    let anna_login = login_as(w, "anna", "first password").await;
    assert!(w.get("/api/v1/tenants", Some(&anna_login)).await.json()["items"].as_array().unwrap().is_empty());
    let grant = json!({"user_id": anna_id, "tenant_id": t, "role": "user"});
    let granted = w.call("POST", "/api/v1/roles", Some(&tadmin), Some(grant.clone()), &[]).await;
    assert_eq!(granted.status, 201, "{}", granted.text);
    let role_id = granted.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(w.get(&format!("/api/v1/tenants/{t}"), Some(&anna_login)).await.status, 200, "the role works at once");
    let again = w.call("POST", "/api/v1/roles", Some(&tadmin), Some(grant), &[]).await;
    assert_eq!((again.status, again.json()["code"].clone()), (409, json!("conflict")), "one role per tenant");

    let roles = w.get(&format!("/api/v1/tenants/{t}/roles"), Some(&tadmin)).await.json();
    let names: Vec<&str> = roles.as_array().unwrap().iter().map(|r| r["username"].as_str().unwrap()).collect();
    for name in ["tadmin", "lite", "plain", "anna"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let listed = w.get("/api/v1/users", Some(&tadmin)).await.json();
    let mut users: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    users.sort();
    assert_eq!(users, ["anna", "lite", "plain", "tadmin"], "a tenant admin lists their tenant's people only");

    // A new password ends anna's sessions and revokes her API tokens; the old password stops
    // working.
    let made = w.call("POST", "/api/v1/auth/tokens", Some(&anna_login), Some(json!({"name": "ci"})), &[]).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let anna_token = made.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(w.with_token("GET", "/api/v1/auth/me", &anna_token, None).await.status, 200);
    let patch = json!({"password": "second password", "email": "anna@example.com"});
    let changed = w.call("PATCH", &format!("/api/v1/users/{anna_id}"), Some(&tadmin), Some(patch), &[]).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.json()["email"], "anna@example.com");
    assert_eq!(w.get("/api/v1/auth/me", Some(&anna_login)).await.status, 401, "sessions end with a new password");
    let with_token = w.with_token("GET", "/api/v1/auth/me", &anna_token, None).await;
    assert_eq!(with_token.status, 401, "so do API tokens");
    assert_eq!(w.try_login("anna", "first password", &[]).await.status, 401);
    let anna_login = login_as(w, "anna", "second password").await;

    // Deactivating the role takes the access away; revoking removes it.
    let off = w
        .call("PATCH", &format!("/api/v1/roles/{role_id}"), Some(&tadmin), Some(json!({"is_active": false})), &[])
        .await;
    assert_eq!((off.status, off.json()["is_active"].clone()), (200, json!(false)), "{}", off.text);
    assert_eq!(w.get(&format!("/api/v1/tenants/{t}"), Some(&anna_login)).await.status, 404);
    let on = w
        .call("PATCH", &format!("/api/v1/roles/{role_id}"), Some(&tadmin), Some(json!({"is_active": true})), &[])
        .await;
    assert_eq!(on.status, 200);

    // Once anna also holds a role elsewhere, acme's admin can no longer take over her account.
    let root = w.login("root").await;
    let o = w.cast.other.id.as_uuid();
    let elsewhere = json!({"user_id": anna_id, "tenant_id": o, "role": "super_admin"});
    assert_eq!(w.call("POST", "/api/v1/roles", Some(&root), Some(elsewhere), &[]).await.status, 201);
    let seen = w.get(&format!("/api/v1/users/{anna_id}"), Some(&tadmin)).await.json();
    let seen_roles: Vec<&Value> = seen["roles"].as_array().unwrap().iter().collect();
    assert_eq!(seen_roles.len(), 1, "only roles on tenants the caller sees: {seen}");
    let takeover = json!({"password": "third password"});
    let refused = w.call("PATCH", &format!("/api/v1/users/{anna_id}"), Some(&tadmin), Some(takeover), &[]).await;
    assert_eq!((refused.status, refused.json()["code"].clone()), (403, json!("forbidden")), "{}", refused.text);
    assert_eq!(w.call("DELETE", &format!("/api/v1/users/{anna_id}"), Some(&tadmin), None, &[]).await.status, 403);
    let global = json!({"user_id": anna_id, "role": "user"});
    assert_eq!(w.call("POST", "/api/v1/roles", Some(&tadmin), Some(global), &[]).await.status, 403, "no global grants");
    let lite = w.login("lite").await;
    assert_eq!(w.get("/api/v1/users", Some(&lite)).await.status, 403, "admin_lite manages settings, not people");

    assert_eq!(w.call("DELETE", &format!("/api/v1/roles/{role_id}"), Some(&tadmin), None, &[]).await.status, 204);
    assert_eq!(w.get(&format!("/api/v1/tenants/{t}"), Some(&anna_login)).await.status, 404, "revoked");

    let audit = w.audit().await;
    let update = audit.iter().find(|a| a.action == "user.update").unwrap();
    assert_eq!(update.metadata["changes"]["password"], "changed");
    assert_eq!(update.metadata["changes"]["email"], json!({"before": null, "after": "anna@example.com"}));
    assert_eq!(update.metadata["sessions_ended"], 1);
    let role_update = audit.iter().rfind(|a| a.action == "role.update").unwrap();
    assert_eq!(role_update.metadata["changes"]["is_active"], json!({"before": true, "after": false}));
    assert_eq!(role_update.tenant_id, Some(w.cast.acme.id));
    for action in ["user.create", "role.grant", "role.revoke"] {
        assert!(audit.iter().any(|a| a.action == action), "{action} audited");
    }
    let all = serde_json::to_string(&audit.iter().map(|a| &a.metadata).collect::<Vec<_>>()).unwrap();
    for secret in ["first password", "second password", "third password", "$argon2"] {
        assert!(!all.contains(secret), "{secret} in the audit log");
    }
}

async fn superusers_and_self_are_protected(w: &World) {
    let gadmin = w.login("gadmin").await;
    let root = w.store.get_user_by_username("root").await.unwrap().id.as_uuid();
    assert_eq!(w.get(&format!("/api/v1/users/{root}"), Some(&gadmin)).await.status, 200, "visible");
    let patch =
        w.call("PATCH", &format!("/api/v1/users/{root}"), Some(&gadmin), Some(json!({"is_active": false})), &[]).await;
    assert_eq!(patch.status, 403, "a global super_admin cannot disable a superuser: {}", patch.text);
    let plain = w.store.get_user_by_username("plain").await.unwrap().id.as_uuid();
    let promote = json!({"is_superuser": true});
    assert_eq!(
        w.call("PATCH", &format!("/api/v1/users/{plain}"), Some(&gadmin), Some(promote.clone()), &[]).await.status,
        403
    );
    let new_root = json!({"username": "root2", "is_superuser": true});
    assert_eq!(w.call("POST", "/api/v1/users", Some(&gadmin), Some(new_root.clone()), &[]).await.status, 403);

    let me = w.login("root").await;
    let promoted = w.call("PATCH", &format!("/api/v1/users/{plain}"), Some(&me), Some(promote), &[]).await;
    assert_eq!((promoted.status, promoted.json()["is_superuser"].clone()), (200, json!(true)));
    assert_eq!(w.call("POST", "/api/v1/users", Some(&me), Some(new_root), &[]).await.status, 201);
    let lock =
        w.call("PATCH", &format!("/api/v1/users/{root}"), Some(&me), Some(json!({"is_active": false})), &[]).await;
    assert_eq!((lock.status, lock.json()["fields"][0]["field"].clone()), (422, json!("is_active")), "{}", lock.text);
    let gone = w.call("DELETE", &format!("/api/v1/users/{root}"), Some(&me), None, &[]).await;
    assert_eq!((gone.status, gone.json()["fields"][0]["field"].clone()), (422, json!("id")));

    // Changing one's own password keeps this session and ends the others.
    let other_session = w.login("root").await;
    let change = json!({"current_password": PASSWORD, "new_password": "a brand new one"});
    let wrong = json!({"current_password": "guess", "new_password": "a brand new one"});
    let refused = w.call("POST", "/api/v1/auth/password", Some(&me), Some(wrong), &[]).await;
    assert_eq!((refused.status, refused.json()["fields"][0]["field"].clone()), (422, json!("current_password")));
    assert_eq!(w.call("POST", "/api/v1/auth/password", Some(&me), Some(change), &[]).await.status, 204);
    assert_eq!(w.get("/api/v1/auth/me", Some(&me)).await.status, 200, "this session stays");
    assert_eq!(w.get("/api/v1/auth/me", Some(&other_session)).await.status, 401, "the others end");
    assert_eq!(w.try_login("root", "a brand new one", &[]).await.status, 200);

    // Profiles: one's own, validated.
    let profile = json!({"phone": "+49 30 1234567", "timezone": "Europe/Berlin"});
    let saved = w.call("PUT", "/api/v1/auth/profile", Some(&me), Some(profile), &[]).await;
    assert_eq!(saved.json(), json!({"phone": "+49 30 1234567", "timezone": "Europe/Berlin", "language": null}));
    let english = w.call("PUT", "/api/v1/auth/profile", Some(&me), Some(json!({"language": "en"})), &[]).await;
    assert_eq!(english.json()["language"], "en", "the dashboard's language");
    let cleared =
        w.call("PUT", "/api/v1/auth/profile", Some(&me), Some(json!({"phone": null, "language": null})), &[]).await;
    let expected = json!({"phone": null, "timezone": "Europe/Berlin", "language": null});
    assert_eq!(cleared.json(), expected, "null clears, omitted keeps");
    let mail = w.call("PUT", "/api/v1/auth/profile", Some(&me), Some(json!({"email": "root@example.com"})), &[]).await;
    assert_eq!(mail.status, 200);
    assert_eq!(
        w.get("/api/v1/auth/me", Some(&me)).await.json()["user"]["email"],
        "root@example.com",
        "one's own e-mail"
    );
    let bad_mail = w.call("PUT", "/api/v1/auth/profile", Some(&me), Some(json!({"email": "nope"})), &[]).await;
    assert_eq!((bad_mail.status, bad_mail.json()["fields"][0]["field"].clone()), (422, json!("email")));
    let klingon = w.call("PUT", "/api/v1/auth/profile", Some(&me), Some(json!({"language": "tlh"})), &[]).await;
    assert_eq!((klingon.status, klingon.json()["fields"][0]["field"].clone()), (422, json!("language")));
    let bad = w.call("PUT", "/api/v1/auth/profile", Some(&me), Some(json!({"timezone": "Mars/Olympus"})), &[]).await;
    assert_eq!((bad.status, bad.json()["fields"][0]["field"].clone()), (422, json!("timezone")));
    let detail = w.get(&format!("/api/v1/users/{root}"), Some(&gadmin)).await.json();
    assert_eq!(detail["profile"]["timezone"], "Europe/Berlin");
}

async fn tenants_are_created_changed_and_deleted_with_an_audit_trail(w: &World) {
    let gadmin = w.login("gadmin").await;
    let body = json!({"name": "Shop 24", "slug": "shop-24", "timezone": "Asia/Almaty"});
    let made = w
        .call("POST", "/api/v1/tenants", Some(&gadmin), Some(body.clone()), &[("x-forwarded-for", "198.51.100.3")])
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let shop = made.json();
    assert_eq!(
        (shop["slug"].clone(), shop["status"].clone(), shop["timezone"].clone()),
        (json!("shop-24"), json!("active"), json!("Asia/Almaty"))
    );
    let dup = w.call("POST", "/api/v1/tenants", Some(&gadmin), Some(body), &[]).await;
    assert_eq!((dup.status, dup.json()["code"].clone()), (409, json!("conflict")));
    assert!(dup.json()["message"].as_str().unwrap().contains("slug"), "{}", dup.text);

    let id = shop["id"].as_str().unwrap();
    let change = json!({"name": "Shop 24/7", "status": "paused"});
    let changed = w.call("PATCH", &format!("/api/v1/tenants/{id}"), Some(&gadmin), Some(change), &[]).await;
    assert_eq!(
        (changed.json()["name"].clone(), changed.json()["status"].clone()),
        (json!("Shop 24/7"), json!("paused"))
    );
    let audit = w.audit().await;
    let update = audit.iter().find(|a| a.action == "tenant.update").unwrap();
    assert_eq!(update.metadata["changes"]["status"], json!({"before": "active", "after": "paused"}));
    assert!(update.metadata["changes"].get("timezone").is_none(), "only what changed");
    let create = audit.iter().find(|a| a.action == "tenant.create").unwrap();
    assert_eq!(create.ip_address.as_deref(), Some("198.51.100.3"));

    assert_eq!(w.call("DELETE", &format!("/api/v1/tenants/{id}"), Some(&gadmin), None, &[]).await.status, 204);
    assert_eq!(w.get(&format!("/api/v1/tenants/{id}"), Some(&gadmin)).await.status, 404);
    let deleted = w.audit().await.into_iter().find(|a| a.action == "tenant.delete").unwrap();
    assert_eq!(deleted.metadata["slug"], "shop-24");
    let kept = w.audit().await.into_iter().find(|a| a.action == "tenant.update").unwrap();
    assert_eq!(kept.tenant_id, None, "a deleted tenant's audit entries stay");
}

async fn people_endpoints_refuse_bad_input_by_field(w: &World) {
    let root = w.login("root").await;
    let plain = w.store.get_user_by_username("plain").await.unwrap().id.as_uuid();
    let t = w.cast.acme.id.as_uuid();
    let cases: Vec<(&str, String, Value, u16, &str)> = vec![
        ("POST", "/api/v1/users".into(), json!({"username": "has space"}), 422, "username"),
        ("POST", "/api/v1/users".into(), json!({"username": "ok", "password": "short"}), 422, "password"),
        ("POST", "/api/v1/users".into(), json!({"username": "ok", "email": "nope"}), 422, "email"),
        ("POST", "/api/v1/users".into(), json!({"username": "plain"}), 409, ""),
        ("POST", "/api/v1/users".into(), json!({"username": "ok", "is_superuser": "yes"}), 400, "is_superuser"),
        ("PATCH", format!("/api/v1/users/{plain}"), json!({"email": "x@"}), 422, "email"),
        ("PATCH", format!("/api/v1/users/{plain}"), json!({"role": "super_admin"}), 400, "role"),
        ("POST", "/api/v1/roles".into(), json!({"user_id": plain, "tenant_id": t, "role": "owner"}), 400, "role"),
        (
            "POST",
            "/api/v1/roles".into(),
            json!({"user_id": plain, "tenant_id": "acme", "role": "user"}),
            400,
            "tenant_id",
        ),
        (
            "POST",
            "/api/v1/roles".into(),
            json!({"user_id": uuid::Uuid::now_v7(), "tenant_id": t, "role": "user"}),
            404,
            "",
        ),
        (
            "POST",
            "/api/v1/tenants".into(),
            json!({"name": "X", "slug": "x-1", "timezone": "Europe/Atlantis"}),
            422,
            "timezone",
        ),
        ("POST", "/api/v1/tenants".into(), json!({"name": "X", "slug": "X_1"}), 422, "slug"),
        ("POST", "/api/v1/tenants".into(), json!({"name": "X", "slug": "x-2", "status": "closed"}), 400, "status"),
        ("PATCH", format!("/api/v1/tenants/{t}"), json!({"timezone": "UTC+3"}), 422, "timezone"),
        ("PATCH", format!("/api/v1/tenants/{t}"), json!({"slug": "new"}), 400, "slug"),
    ];
    for (method, path, body, status, field) in cases {
        let a = w.call(method, &path, Some(&root), Some(body.clone()), &[]).await;
        assert_eq!(a.status, status, "{method} {path} {body}: {}", a.text);
        if !field.is_empty() {
            assert_eq!(a.json()["fields"][0]["field"], field, "{body}: {}", a.text);
        }
    }
    let page = w.get("/api/v1/users?limit=2", Some(&root)).await.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let next = page["next_cursor"].as_str().unwrap();
    let rest = w.get(&format!("/api/v1/users?limit=200&cursor={next}"), Some(&root)).await.json();
    assert_eq!(rest["items"].as_array().unwrap().len(), 5, "seven users in pages of two and the rest");
}

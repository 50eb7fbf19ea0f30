//! A whole day of an administrator and a client through the API, with every secret a tenant
//! has, then the proof that none of them appears in any response body, any log line (debug
//! level), any audit entry or any job event. The secrets are the sandbox's real credentials
//! (each one is used against the fake services during the run), a wrong token that fails a
//! check, and the AI key.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{CANARY, World, logs};

synkro_core::on_both_backends!(start = crate::support::World::start; no_secret_reaches_a_response_a_log_line_or_the_audit_log);

async fn no_secret_reaches_a_response_a_log_line_or_the_audit_log(w: &World) {
    w.workers.start().await;
    let c = w.sandbox.credentials().clone();
    let wrong_bot_token = "987654321:AAwrong-canary-bot-token-3b1f";
    let root = w.login("root").await;

    // The administrator sets up a tenant with every integration.
    let made =
        w.call("POST", "/api/v1/tenants", Some(&root), Some(json!({"name": "Canary", "slug": "canary"})), &[]).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let t = made.json()["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/tenants/{t}/integrations");
    let replace = |v: &str| json!({"action": "replace", "value": v});
    let chat = c.telegram_chat_id.to_string();
    let settings = [
        (
            "amocrm",
            json!({"domain": c.amocrm_subdomain}),
            json!({"long_lived_token": replace(&c.amocrm_long_lived_token)}),
        ),
        ("radist", json!({"company_id": c.radist_company_id}), json!({"api_key": replace(&c.radist_api_key)})),
        (
            "supabase",
            json!({"url": "https://canary.supabase.co"}),
            json!({"service_key": replace(&c.supabase_secret_key)}),
        ),
        ("ai", json!({"provider": "openai", "model": "fake-1"}), json!({"api_key": replace(CANARY)})),
        ("telegram", json!({"chat_id": chat}), json!({"bot_token": replace(wrong_bot_token)})),
    ];
    for (kind, public, secrets) in settings {
        let a = w
            .call(
                "PUT",
                &format!("{base}/{kind}"),
                Some(&root),
                Some(json!({"public_config": public, "secrets": secrets})),
                &[],
            )
            .await;
        assert_eq!(a.status, 200, "{kind}: {}", a.text);
    }
    let failed = w.call("POST", &format!("{base}/telegram/check"), Some(&root), None, &[]).await.json();
    assert_eq!(failed["ok"], false, "the wrong bot token is refused: {failed}");
    let fix = json!({"public_config": {"chat_id": chat}, "secrets": {"bot_token": replace(&c.telegram_bot_token)}});
    assert_eq!(w.call("PUT", &format!("{base}/telegram"), Some(&root), Some(fix), &[]).await.status, 200);
    for kind in ["amocrm", "radist", "supabase", "ai", "telegram"] {
        let checked = w.call("POST", &format!("{base}/{kind}/check"), Some(&root), None, &[]).await.json();
        assert_eq!(checked["ok"], true, "{kind}: {checked}");
    }
    assert_eq!(w.get(&format!("{base}/ai/models"), Some(&root)).await.status, 200);
    assert_eq!(w.get(&base, Some(&root)).await.json().as_array().unwrap().len(), 5);
    let runtime = json!({"mode": "crm_chats", "timezone": "UTC"});
    assert_eq!(
        w.call("PATCH", &format!("/api/v1/tenants/{t}/runtime-config"), Some(&root), Some(runtime), &[]).await.status,
        200
    );

    // A client with a role and an API token runs a report, follows it and asks about it.
    let user = json!({"username": "client", "password": "client password 1"});
    let client_id = w.call("POST", "/api/v1/users", Some(&root), Some(user), &[]).await.json()["id"].clone();
    let grant = json!({"user_id": client_id, "tenant_id": t, "role": "user"});
    assert_eq!(w.call("POST", "/api/v1/roles", Some(&root), Some(grant), &[]).await.status, 201);
    let client = w.try_login("client", "client password 1", &[]).await;
    let cookie = client.header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
    let client = crate::support::Login { cookie, csrf: client.json()["csrf_token"].as_str().unwrap().to_owned() };
    let token = w.call("POST", "/api/v1/auth/tokens", Some(&client), Some(json!({"name": "report bot"})), &[]).await;
    let token = token.json()["token"].as_str().unwrap().to_owned();
    let format = &time::format_description::well_known::Rfc3339;
    let config = w.sandbox.config();
    let window = json!({
        "window_start": config.window_start.as_offset().format(format).unwrap(),
        "window_end": config.window_end().as_offset().format(format).unwrap(),
    });
    let job = w.with_token("POST", &format!("/api/v1/tenants/{t}/jobs"), &token, Some(window)).await;
    assert_eq!(job.status, 202, "{}", job.text);
    let job = job.json()["id"].as_str().unwrap().to_owned();
    let stream = w.request(reqwest::Method::GET, &format!("/api/v1/jobs/{job}/stream")).bearer_auth(&token);
    let streamed = tokio::time::timeout(Duration::from_secs(180), w.send(stream)).await.unwrap();
    assert!(streamed.text.contains("event: done"), "{}", streamed.text);
    let finished = w.with_token("GET", &format!("/api/v1/jobs/{job}"), &token, None).await.json();
    assert_eq!(finished["status"], "success", "{finished}");
    let events = w.with_token("GET", &format!("/api/v1/jobs/{job}/events"), &token, None).await;
    assert!(events.json().as_array().unwrap().len() >= 8);
    let reports = w.with_token("GET", &format!("/api/v1/tenants/{t}/reports"), &token, None).await.json();
    let report = reports["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(w.with_token("GET", &format!("/api/v1/reports/{report}"), &token, None).await.status, 200);
    let asked = w
        .with_token(
            "POST",
            &format!("/api/v1/reports/{report}/questions"),
            &token,
            Some(json!({"question": "Who sold most?"})),
        )
        .await;
    assert_eq!((asked.status, asked.json()["answer"].clone()), (200, json!("Sales were steady.")), "{}", asked.text);
    assert_eq!(w.call("POST", "/api/v1/auth/logout", Some(&client), None, &[]).await.status, 204);
    let audit = w.get(&format!("/api/v1/audit?tenant_id={t}&limit=200"), Some(&root)).await;
    assert_eq!(audit.status, 200);
    let all_audit = w.get("/api/v1/audit?limit=200", Some(&root)).await.json();
    assert!(all_audit["items"].as_array().unwrap().len() > 20);

    // Not one secret anywhere.
    let secrets: Vec<(&str, String)> = vec![
        ("amoCRM token", c.amocrm_long_lived_token.clone()),
        ("Radist key", c.radist_api_key.clone()),
        ("Supabase key", c.supabase_secret_key.clone()),
        ("Telegram bot token", c.telegram_bot_token.clone()),
        ("wrong bot token", wrong_bot_token.to_owned()),
        ("AI key", CANARY.to_owned()),
        ("client password", "client password 1".to_owned()),
    ];
    let bodies = w.bodies();
    let log_text = logs();
    assert!(log_text.contains("integration checked") && log_text.contains("job claimed"), "the capture has our logs");
    let stored_events =
        w.store.list_job_events(synkro_core::ids::JobId::from_uuid(job.parse().unwrap()), None, 1000).await.unwrap();
    let events_text =
        serde_json::to_string(&stored_events.iter().map(|e| (&e.message, &e.data)).collect::<Vec<_>>()).unwrap();
    let audit_text = serde_json::to_string(
        &w.audit().await.iter().map(|a| (&a.message, &a.metadata)).collect::<Vec<(&String, &Value)>>(),
    )
    .unwrap();
    for (what, secret) in &secrets {
        for body in &bodies {
            assert!(!body.contains(secret.as_str()), "the {what} is in a response body: {body}");
        }
        if let Some(line) = log_text.lines().find(|l| l.contains(secret.as_str())) {
            panic!("the {what} is in a log line: {line}");
        }
        assert!(!events_text.contains(secret.as_str()), "the {what} is in a job event");
        assert!(!audit_text.contains(secret.as_str()), "the {what} is in the audit log");
    }
    // The bot token is only ever the one piece of a Telegram URL path: not its prefix either.
    let bot_id = c.telegram_bot_token.split(':').nth(1).unwrap();
    assert!(!log_text.contains(bot_id), "no part of the bot token is logged");
}

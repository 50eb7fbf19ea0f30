//! Integrations and runtime settings through the API: secrets write-only and changed only on
//! purpose, values checked against the connector's fields, checks against the sandbox, the AI
//! model list, and audit entries that say "secret replaced" but never the secret.

use serde_json::{Value, json};

use crate::support::{CANARY, World};

synkro_core::on_both_backends!(
    start = crate::support::World::start;
    integrations_keep_replace_and_clear_secrets_and_check_against_the_service,
    integration_input_is_checked_against_the_connectors_fields,
    runtime_settings_change_field_by_field,
);

async fn integrations_keep_replace_and_clear_secrets_and_check_against_the_service(w: &World) {
    let lite = w.login("lite").await;
    let t = w.cast.acme.id.as_uuid();
    let path = format!("/api/v1/tenants/{t}/integrations/radist");
    let key = w.sandbox.credentials().radist_api_key.clone();
    let company = w.sandbox.credentials().radist_company_id;

    let connectors = w.get("/api/v1/connectors", Some(&lite)).await.json();
    let radist = connectors.as_array().unwrap().iter().find(|c| c["kind"] == "radist").unwrap().clone();
    assert_eq!(radist["secret_fields"][0]["name"], "api_key");
    assert!(radist["capabilities"].as_array().unwrap().contains(&json!("chat_source")));
    let kinds: Vec<&str> = connectors.as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ai", "amocrm", "radist", "supabase", "telegram"]);

    let body =
        json!({"public_config": {"company_id": company}, "secrets": {"api_key": {"action": "replace", "value": key}}});
    let saved = w.call("PUT", &path, Some(&lite), Some(body), &[("x-forwarded-for", "203.0.113.80")]).await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    let view = saved.json();
    assert_eq!(view["secrets"], json!([{"name": "api_key", "is_set": true}]));
    assert_eq!(view["status"], "unknown");
    assert!(!saved.text.contains(&key), "a secret never comes back: {}", saved.text);

    let checked = w.call("POST", &format!("{path}/check"), Some(&lite), None, &[]).await;
    assert_eq!(checked.status, 200, "{}", checked.text);
    let report = checked.json();
    assert_eq!((report["ok"].clone(), report["integration"]["status"].clone()), (json!(true), json!("ok")), "{report}");
    assert!(report["latency_ms"].is_u64());

    // Saving without the secret keeps it: the check still passes.
    let keep = json!({"public_config": {"company_id": company, "max_chats": "50"}});
    let kept = w.call("PUT", &path, Some(&lite), Some(keep), &[]).await.json();
    assert_eq!(kept["public_config"], json!({"company_id": company, "max_chats": 50}), "typed on the way in");
    assert_eq!(kept["secrets"][0]["is_set"], true);
    assert_eq!(w.call("POST", &format!("{path}/check"), Some(&lite), None, &[]).await.json()["ok"], true);

    // A wrong key fails the check with a class and a hint, recorded on the integration.
    let wrong = json!({"public_config": {"company_id": company}, "secrets": {"api_key": {"action": "replace", "value": "rk_wrong_5f0c"}}});
    assert_eq!(w.call("PUT", &path, Some(&lite), Some(wrong), &[]).await.status, 200);
    let failed = w.call("POST", &format!("{path}/check"), Some(&lite), None, &[]).await.json();
    assert_eq!((failed["ok"].clone(), failed["class"].clone()), (json!(false), json!("auth")), "{failed}");
    assert!(failed["hint"].is_string());
    let stored = w.get(&path, Some(&lite)).await.json();
    assert_eq!(stored["status"], "error");
    assert!(stored["last_error"].is_string() && !stored["last_error"].as_str().unwrap().contains("rk_wrong_5f0c"));

    // Clearing a required secret is refused; clearing an optional one works (amoCRM's).
    let clear = json!({"public_config": {"company_id": company}, "secrets": {"api_key": {"action": "clear"}}});
    let refused = w.call("PUT", &path, Some(&lite), Some(clear), &[]).await;
    assert_eq!((refused.status, refused.json()["fields"][0]["field"].clone()), (422, json!("api_key")));
    let amo = format!("/api/v1/tenants/{t}/integrations/amocrm");
    let amo_body = json!({"public_config": {"domain": "acme"}, "secrets": {
        "long_lived_token": {"action": "replace", "value": "amo-token-0a1b"},
        "refresh_token": {"action": "replace", "value": "def50200aa"}}});
    assert_eq!(w.call("PUT", &amo, Some(&lite), Some(amo_body), &[]).await.status, 200);
    let clear_one = json!({"public_config": {"domain": "acme"}, "secrets": {"refresh_token": {"action": "clear"}}});
    let after = w.call("PUT", &amo, Some(&lite), Some(clear_one), &[]).await.json();
    let set: Vec<(String, bool)> = after["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_owned(), s["is_set"].as_bool().unwrap()))
        .collect();
    assert!(
        set.contains(&("long_lived_token".into(), true)) && set.contains(&("refresh_token".into(), false)),
        "{set:?}"
    );
    assert_eq!(w.call("DELETE", &amo, Some(&lite), None, &[]).await.status, 204);
    assert_eq!(w.get(&amo, Some(&lite)).await.status, 404);

    // The AI integration's models come from the provider, with the stored key.
    let models = w.get(&format!("/api/v1/tenants/{t}/integrations/ai/models"), Some(&lite)).await;
    assert_eq!(models.json(), json!({"models": ["fake-1", "fake-2"]}), "{}", models.text);
    let not_llm = w.get(&format!("{path}/models"), Some(&lite)).await;
    assert_eq!((not_llm.status, not_llm.json()["fields"][0]["field"].clone()), (422, json!("kind")));

    let audit = w.audit().await;
    let updates: Vec<&Value> = audit.iter().filter(|a| a.action == "integration.update").map(|a| &a.metadata).collect();
    let first = updates.last().unwrap();
    assert_eq!(first["created"], true);
    assert_eq!(first["secrets"], json!({"api_key": "secret set"}));
    assert_eq!(first["changes"]["company_id"], json!({"before": null, "after": company}));
    let entry = audit.iter().rfind(|a| a.action == "integration.update").unwrap();
    assert_eq!(entry.ip_address.as_deref(), Some("203.0.113.80"));
    assert_eq!(entry.tenant_id, Some(w.cast.acme.id));
    assert!(updates.iter().any(|m| m["secrets"] == json!({"api_key": "secret replaced"})));
    assert!(updates.iter().any(|m| m["secrets"] == json!({"refresh_token": "secret cleared"})));
    let kept_entry = updates.iter().find(|m| m["changes"]["max_chats"]["after"] == 50).unwrap();
    assert_eq!(kept_entry["secrets"], json!({}), "keeping a secret is no change");
    let checks: Vec<&Value> = audit.iter().filter(|a| a.action == "integration.check").map(|a| &a.metadata).collect();
    assert_eq!(checks.len(), 3);
    assert!(checks.iter().any(|m| m["ok"] == false && m["class"] == "auth"));
    let text = serde_json::to_string(&audit.iter().map(|a| (&a.message, &a.metadata)).collect::<Vec<_>>()).unwrap();
    for secret in [key.as_str(), "rk_wrong_5f0c", "amo-token-0a1b", "def50200aa", CANARY] {
        assert!(!text.contains(secret), "{secret} in the audit log");
        assert!(w.bodies().iter().all(|b| !b.contains(secret)), "{secret} in a response");
    }
}

async fn integration_input_is_checked_against_the_connectors_fields(w: &World) {
    let tadmin = w.login("tadmin").await;
    let t = w.cast.acme.id.as_uuid();
    let ai = format!("/api/v1/tenants/{t}/integrations/ai");
    let cases: Vec<(String, Value, u16, &str, &str)> = vec![
        (ai.clone(), json!({"public_config": {"provider": "claude", "model": "x"}}), 422, "provider", "openai, gemini"),
        (ai.clone(), json!({"public_config": {"provider": "openai"}}), 422, "model", "required"),
        (
            ai.clone(),
            json!({"public_config": {"provider": "openai", "model": "m", "colour": 1}}),
            422,
            "public_config",
            "colour",
        ),
        (
            ai.clone(),
            json!({"public_config": {"provider": "openai", "model": "m", "base_url": "ftp://x"}}),
            422,
            "base_url",
            "URL",
        ),
        (
            ai.clone(),
            json!({"public_config": {"provider": "openai", "model": "m", "max_output_tokens": "lots"}}),
            422,
            "max_output_tokens",
            "whole number",
        ),
        (
            ai.clone(),
            json!({"public_config": {"provider": "openai", "model": "m"}, "secrets": {"password": {"action": "clear"}}}),
            422,
            "secrets",
            "api_key",
        ),
        (
            ai.clone(),
            json!({"public_config": {"provider": "openai", "model": "m"}, "secrets": {"api_key": {"action": "replace"}}}),
            422,
            "secrets",
            "needs a value",
        ),
        (
            ai.clone(),
            json!({"public_config": {"provider": "openai", "model": "m"}, "secrets": {"api_key": {"action": "replace", "value": "  "}}}),
            422,
            "api_key",
            "clear",
        ),
        (
            ai.clone(),
            json!({"public_config": {"provider": "openai", "model": "m"}, "secrets": {"api_key": {"action": "rotate"}}}),
            400,
            "secrets.api_key.action",
            "unknown variant",
        ),
        (ai.clone(), json!({"public_config": [1]}), 422, "public_config", "object"),
        // Outbound requests reach public addresses over https only (this server allows loopback,
        // as the sandbox needs), checked when the settings are saved.
        (
            ai.clone(),
            json!({"public_config": {"provider": "openai", "model": "m", "base_url": "https://169.254.169.254/v1"}}),
            422,
            "base_url",
            "non-public",
        ),
        (
            ai.clone(),
            json!({"public_config": {"provider": "openai", "model": "m", "base_url": "https://167772161/v1"}}),
            422,
            "base_url",
            "non-public",
        ),
        (
            ai.clone(),
            json!({"public_config": {"provider": "openai", "model": "m", "base_url": "http://api.example.com/v1"}}),
            422,
            "base_url",
            "https",
        ),
        (
            format!("/api/v1/tenants/{t}/integrations/amocrm"),
            json!({
                "public_config": {"domain": "acme.amocrm.ru.evil.com"},
                "secrets": {"long_lived_token": {"action": "replace", "value": "token-value"}},
            }),
            422,
            "domain",
            "amocrm.ru",
        ),
        (ai.clone(), json!({"settings": {}}), 400, "settings", "unknown field"),
        (
            format!("/api/v1/tenants/{t}/integrations/telegram"),
            json!({"public_config": {"chat_id": "-100"}}),
            422,
            "bot_token",
            "required",
        ),
        (format!("/api/v1/tenants/{t}/integrations/bitrix"), json!({"public_config": {}}), 404, "", "connector"),
        (format!("/api/v1/tenants/{t}/integrations/Bad-Kind"), json!({"public_config": {}}), 404, "", "connector"),
    ];
    for (path, body, status, field, says) in cases {
        let a = w.call("PUT", &path, Some(&tadmin), Some(body.clone()), &[]).await;
        assert_eq!(a.status, status, "{body}: {}", a.text);
        if !field.is_empty() {
            assert_eq!(a.json()["fields"][0]["field"], field, "{body}: {}", a.text);
        }
        assert!(a.text.contains(says), "{body}: {}", a.text);
    }
    let unchanged = w.get(&ai, Some(&tadmin)).await.json();
    assert_eq!(unchanged["public_config"]["model"], "fake-1", "refused saves change nothing");
    assert_eq!(w.get(&format!("/api/v1/tenants/{t}/integrations/telegram"), Some(&tadmin)).await.status, 404);
    assert_eq!(
        w.call("POST", &format!("/api/v1/tenants/{t}/integrations/radist/check"), Some(&tadmin), None, &[])
            .await
            .status,
        404
    );
}

async fn runtime_settings_change_field_by_field(w: &World) {
    let lite = w.login("lite").await;
    let path = format!("/api/v1/tenants/{}/runtime-config", w.cast.acme.id.as_uuid());
    let defaults = w.get(&path, Some(&lite)).await.json();
    assert_eq!(defaults["is_schedule_enabled"], true, "a new tenant is scheduled on the defaults shown");
    assert_eq!(
        (defaults["business_day_start"].clone(), defaults["scheduled_run_time"].clone()),
        (json!("22:01"), json!("22:10"))
    );
    assert_eq!(defaults["mode"], "crm_chats");

    let change = json!({"mode": "radist_only", "timezone": "Asia/Almaty", "scheduled_run_time": "07:30", "max_force_window_hours": 48});
    let saved = w.call("PATCH", &path, Some(&lite), Some(change), &[]).await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    let saved = saved.json();
    assert_eq!(
        (saved["mode"].clone(), saved["scheduled_run_time"].clone()),
        (json!("chats_only"), json!("07:30")),
        "the old name is accepted, the new one answered"
    );
    assert_eq!(saved["business_day_start"], "22:01", "omitted fields stay");
    assert_eq!(w.get(&path, Some(&lite)).await.json()["timezone"], "Asia/Almaty");
    let tenant = format!("/api/v1/tenants/{}", w.cast.acme.id.as_uuid());
    let root = w.login("root").await;
    assert_eq!(w.get(&tenant, Some(&root)).await.json()["timezone"], "Asia/Almaty", "one time zone: the tenant's");
    let moved = w.call("PATCH", &tenant, Some(&root), Some(json!({"timezone": "Asia/Tokyo"})), &[]).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(w.get(&path, Some(&lite)).await.json()["timezone"], "Asia/Tokyo", "the schedule follows the tenant");

    for (body, status, field) in [
        (json!({"timezone": "Asia/Nowhere"}), 422, "timezone"),
        (json!({"scheduled_run_time": "25:00"}), 422, "scheduled_run_time"),
        (json!({"business_day_start": "9am"}), 422, "business_day_start"),
        (json!({"max_force_window_hours": 0}), 422, "max_force_window_hours"),
        (json!({"radist_fetch_limit": 150}), 400, "radist_fetch_limit"),
        (json!({"metadata": {"prompt": "Be brief."}}), 400, "metadata"),
        (json!({"prompt": 123}), 400, "prompt"),
        (json!({"prompt": "x".repeat(20_001)}), 422, "prompt"),
        (json!({"prompt": "  "}), 422, "prompt"),
        (json!({"language": "de"}), 400, "language"),
        (json!({"working_hours": {"start": "18:00", "end": "09:00", "days": ["mon"]}}), 422, "working_hours.end"),
        (json!({"working_hours": {"start": "9", "end": "18:00", "days": ["mon"]}}), 422, "working_hours.start"),
        (json!({"working_hours": {"start": "09:00", "end": "18:00", "days": ["monday"]}}), 422, "working_hours.days"),
        (json!({"mode": "everything"}), 400, "mode"),
        (json!({"max_force_lookback_days": "3"}), 400, "max_force_lookback_days"),
        (json!({"max_force_lookback_days": 99999999999u64}), 400, "max_force_lookback_days"),
        (json!({"schedule": true}), 400, "schedule"),
    ] {
        let a = w.call("PATCH", &path, Some(&lite), Some(body.clone()), &[]).await;
        assert_eq!((a.status, a.json()["fields"][0]["field"].clone()), (status, json!(field)), "{body}: {}", a.text);
    }
    let audit = w.audit().await;
    let entry = audit.iter().find(|a| a.action == "runtime_config.update").unwrap();
    assert_eq!(entry.metadata["changes"]["mode"], json!({"before": "crm_chats", "after": "chats_only"}));
    assert_eq!(entry.metadata["changes"]["scheduled_run_time"], json!({"before": "22:10", "after": "07:30"}));
    assert!(entry.metadata["changes"].get("business_day_start").is_none());
    assert_eq!(
        audit.iter().filter(|a| a.action == "runtime_config.update").count(),
        1,
        "refused changes are not audited"
    );

    // Language, the AI's instructions and working hours are typed fields; the default
    // instructions are shown in the tenant's language so an admin can start from them.
    assert_eq!((defaults["language"].clone(), defaults["prompt"].clone()), (json!("ru"), json!(null)));
    assert!(defaults["default_prompt"].as_str().unwrap().contains("4. Рекомендации"), "{defaults}");
    let change = json!({"language": "en", "prompt": "Be brief.",
        "working_hours": {"start": "09:00", "end": "18:00", "days": ["mon", "tue", "wed", "thu", "fri"]}});
    let saved = w.call("PATCH", &path, Some(&lite), Some(change), &[]).await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    let saved = w.get(&path, Some(&lite)).await.json();
    assert_eq!((saved["language"].clone(), saved["prompt"].clone()), (json!("en"), json!("Be brief.")));
    assert!(saved["default_prompt"].as_str().unwrap().contains("4. Recommendations"), "{saved}");
    assert_eq!(saved["working_hours"]["days"], json!(["mon", "tue", "wed", "thu", "fri"]));
    let cleared = w.call("PATCH", &path, Some(&lite), Some(json!({"prompt": null, "working_hours": null})), &[]).await;
    let cleared = cleared.json();
    assert_eq!((cleared["prompt"].clone(), cleared["working_hours"].clone()), (json!(null), json!(null)), "{cleared}");
    assert_eq!(cleared["language"], "en", "omitted fields stay");

    // A manual window longer than the tenant allows is refused with the limit named.
    let jobs = format!("/api/v1/tenants/{}/jobs", w.cast.acme.id.as_uuid());
    let now = time::OffsetDateTime::now_utc();
    let start = (now - time::Duration::hours(60)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let end = (now - time::Duration::hours(1)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let plain = w.login("plain").await;
    let long = w.call("POST", &jobs, Some(&plain), Some(json!({"window_start": start, "window_end": end})), &[]).await;
    assert_eq!(long.status, 422, "{}", long.text);
    assert!(long.text.contains("48"), "the tenant's limit is named: {}", long.text);
}

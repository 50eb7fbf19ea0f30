//! Injected faults, latency, the request log and shutdown.

use std::time::{Duration, Instant};

use serde_json::Value;
use synkro_sandbox::{Fault, Sandbox, SandboxConfig, Service};

use crate::common::{client, json, unlimited};

fn radist(sb: &Sandbox) -> reqwest::RequestBuilder {
    client()
        .get(format!("{}/companies/", sb.url(Service::Radist)))
        .header("X-Api-Key", &sb.credentials().radist_api_key)
}

fn amocrm(sb: &Sandbox, path: &str) -> reqwest::RequestBuilder {
    client().get(format!("{}{path}", sb.url(Service::Amocrm))).bearer_auth(&sb.credentials().amocrm_long_lived_token)
}

#[tokio::test]
async fn status_faults_use_the_service_error_shape_and_run_out() {
    let sb = unlimited().await;
    sb.inject(Service::Radist, "/companies", Fault::Status(503), 2);
    let (status, body) = json(radist(&sb).send().await.unwrap()).await;
    assert_eq!((status, body["detail"].is_string()), (503, true));
    assert_eq!(radist(&sb).send().await.unwrap().status().as_u16(), 503);
    assert_eq!(radist(&sb).send().await.unwrap().status().as_u16(), 200, "the fault was used up");

    sb.inject(Service::Amocrm, "leads", Fault::Status(500), 5);
    assert_eq!(amocrm(&sb, "/api/v4/account").send().await.unwrap().status().as_u16(), 200, "path must match");
    assert_eq!(amocrm(&sb, "/api/v4/leads").send().await.unwrap().status().as_u16(), 500);
    sb.clear_faults();
    assert_eq!(amocrm(&sb, "/api/v4/leads").send().await.unwrap().status().as_u16(), 200);

    let statuses: Vec<u16> = sb.requests(Service::Radist).iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![503, 503, 200]);
    sb.reset_counters();
    assert_eq!(sb.request_count(Service::Radist), 0);
    assert!(sb.requests(Service::Amocrm).is_empty());
}

#[tokio::test]
async fn rate_limited_faults_look_like_each_service() {
    let sb = unlimited().await;
    for service in [Service::Telegram, Service::Amocrm, Service::Supabase] {
        sb.inject(service, "", Fault::RateLimited, 1);
    }
    let tg = format!("{}/bot{}/getMe", sb.url(Service::Telegram), sb.credentials().telegram_bot_token);
    let (status, body) = json(client().get(tg).send().await.unwrap()).await;
    assert_eq!((status, body["parameters"]["retry_after"].as_i64()), (429, Some(1)));

    let resp = amocrm(&sb, "/api/v4/account").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert!(serde_json::from_str::<Value>(&resp.text().await.unwrap()).is_err());

    let supa = client()
        .get(format!("{}/rest/v1/deals", sb.url(Service::Supabase)))
        .header("apikey", &sb.credentials().supabase_secret_key);
    let resp = supa.send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    for service in [Service::Telegram, Service::Amocrm, Service::Supabase] {
        assert_eq!(sb.rate_limited_count(service), 1, "{service:?}");
    }
}

#[tokio::test]
async fn slow_reset_and_malformed_faults() {
    let sb = unlimited().await;
    sb.inject(Service::Radist, "", Fault::Slow(Duration::from_millis(300)), 1);
    let started = Instant::now();
    assert_eq!(radist(&sb).send().await.unwrap().status().as_u16(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    sb.inject(Service::Amocrm, "account", Fault::Reset, 1);
    let outcome = match amocrm(&sb, "/api/v4/account").send().await {
        Ok(resp) => resp.text().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(outcome.is_err(), "the client sees a broken connection or body");
    assert_eq!(amocrm(&sb, "/api/v4/account").send().await.unwrap().status().as_u16(), 200, "server still serves");

    sb.inject(Service::OpenAi, "models", Fault::Malformed, 1);
    let resp =
        client().get(format!("{}/models", sb.url(Service::OpenAi))).bearer_auth(&sb.credentials().openai_api_key);
    let resp = resp.send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.json::<Value>().await.is_err());
}

#[tokio::test]
async fn latency_delays_every_answer_and_shutdown_stops_servers() {
    let sb = Sandbox::start(SandboxConfig { latency: Duration::from_millis(150), ..Default::default() }).await;
    let started = Instant::now();
    assert_eq!(radist(&sb).send().await.unwrap().status().as_u16(), 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    let url = sb.url(Service::Radist);
    sb.shutdown().await;
    assert!(client().get(format!("{url}/companies/")).send().await.is_err(), "nothing listens after shutdown");
}

//! amoCRM: auth, paging, filters, batches, rate limit, GET-only, OAuth rotation.

use serde_json::{Value, json};
use synkro_sandbox::{Sandbox, SandboxConfig, Service};

use crate::common::{client, json, unlimited};

fn get(sb: &Sandbox, path: &str) -> reqwest::RequestBuilder {
    client().get(format!("{}{path}", sb.url(Service::Amocrm))).bearer_auth(&sb.credentials().amocrm_long_lived_token)
}

fn ids(body: &Value, entity: &str) -> Vec<i64> {
    body["_embedded"][entity].as_array().unwrap().iter().map(|l| l["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn leads_filter_pages_and_ends_with_204() {
    let sb = unlimited().await;
    let (start, end) = (sb.config().window_start, sb.config().window_end());
    let truth: Vec<i64> = sb.data().leads_updated_in(start, end).iter().map(|l| l.id).collect();
    let from = start.unix_seconds().to_string();
    let to = (end.unix_seconds() - 1).to_string();
    let query = [("filter[updated_at][from]", from.as_str()), ("filter[updated_at][to]", to.as_str())];
    let resp =
        get(&sb, "/api/v4/leads").query(&query).query(&[("limit", "7"), ("with", "contacts")]).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/hal+json");
    let (status, mut page) = json(resp).await;
    assert_eq!(status, 200);
    let mut seen = ids(&page, "leads");
    assert!(page["_embedded"]["leads"][0]["_embedded"]["contacts"][0]["is_main"].as_bool().unwrap());
    let mut pages = 1;
    while let Some(next) = page["_links"]["next"]["href"].as_str() {
        assert!(next.starts_with("http://127.0.0.1:"), "absolute next href: {next}");
        let (status, body) =
            json(client().get(next).bearer_auth(&sb.credentials().amocrm_long_lived_token).send().await.unwrap()).await;
        assert_eq!(status, 200);
        seen.extend(ids(&body, "leads"));
        page = body;
        pages += 1;
    }
    assert_eq!(seen, truth, "every lead in the window, in (updated_at, id) order");
    assert_eq!(pages, truth.len().div_ceil(7));
    assert!(page["_links"].get("next").is_none(), "the last page has no next link");

    let past = get(&sb, "/api/v4/leads").query(&query).query(&[("limit", "7"), ("page", &(pages + 1).to_string())]);
    let resp = past.send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert!(resp.text().await.unwrap().is_empty());

    // Without with=contacts there is no _embedded.contacts; an inclusive `to` at window_end adds the edge lead.
    let end_s = end.unix_seconds().to_string();
    let inclusive = [("filter[updated_at][from]", from.as_str()), ("filter[updated_at][to]", end_s.as_str())];
    let (_, body) =
        json(get(&sb, "/api/v4/leads").query(&inclusive).query(&[("limit", "250")]).send().await.unwrap()).await;
    assert!(body["_embedded"]["leads"][0]["_embedded"].get("contacts").is_none());
    assert_eq!(ids(&body, "leads").len(), truth.len() + 1);
    assert!(ids(&body, "leads").contains(&10_002));

    let (_, desc) = json(
        get(&sb, "/api/v4/leads")
            .query(&query)
            .query(&[("limit", "250"), ("order[updated_at]", "desc")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ids(&desc, "leads"), truth.iter().rev().copied().collect::<Vec<_>>());
}

#[tokio::test]
async fn limit_above_250_is_a_validation_error() {
    let sb = unlimited().await;
    let resp = get(&sb, "/api/v4/leads?limit=251").send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let (status, body) = json(resp).await;
    assert_eq!(status, 400);
    assert_eq!(body["validation-errors"][0]["errors"][0]["path"], "limit");
    assert_eq!(get(&sb, "/api/v4/leads?limit=250").send().await.unwrap().status().as_u16(), 200);
}

#[tokio::test]
async fn contacts_come_in_batches_by_repeated_id_filter() {
    let sb = unlimited().await;
    let wanted = [50_003_i64, 50_001, 50_010];
    let query: Vec<(&str, String)> = wanted.iter().map(|id| ("filter[id][]", id.to_string())).collect();
    let (status, body) = json(get(&sb, "/api/v4/contacts").query(&query).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&body, "contacts"), vec![50_001, 50_003, 50_010]);
    let first = &body["_embedded"]["contacts"][0];
    let truth = sb.data().contact(50_001).unwrap();
    assert_eq!(first["name"], truth.name.as_str());
    assert_eq!(first["custom_fields_values"].is_null(), truth.custom_fields_values.is_none());

    let indexed = [("filter[id][0]", "50002"), ("filter[id][1]", "50004")];
    let (_, body) = json(get(&sb, "/api/v4/contacts").query(&indexed).send().await.unwrap()).await;
    assert_eq!(ids(&body, "contacts"), vec![50_002, 50_004]);

    let none = get(&sb, "/api/v4/contacts").query(&[("filter[id][]", "1")]).send().await.unwrap();
    assert_eq!(none.status().as_u16(), 204);
}

#[tokio::test]
async fn account_pipelines_users_and_auth() {
    let sb = unlimited().await;
    let (status, account) = json(get(&sb, "/api/v4/account").send().await.unwrap()).await;
    assert_eq!((status, account["subdomain"].as_str()), (200, Some("acme")));
    assert!(account["_links"]["self"]["href"].as_str().unwrap().ends_with("/api/v4/account"));
    let (_, pipes) = json(get(&sb, "/api/v4/leads/pipelines").send().await.unwrap()).await;
    let statuses = &pipes["_embedded"]["pipelines"][0]["_embedded"]["statuses"];
    assert!(statuses.as_array().unwrap().iter().any(|s| s["id"] == 142));
    assert_eq!(statuses[0]["type"], 1);

    let (status, users) = json(get(&sb, "/api/v4/users").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(users["_embedded"]["users"][0]["rights"]["is_admin"], true);
    sb.forbid_amocrm_users(true);
    assert_eq!(get(&sb, "/api/v4/users").send().await.unwrap().status().as_u16(), 403);

    let url = format!("{}/api/v4/account", sb.url(Service::Amocrm));
    let (status, body) = json(client().get(&url).bearer_auth("nope").send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(body["title"], "Unauthorized");
    assert_eq!(body["type"], "https://httpstatus.es/401");
    assert_eq!(client().get(&url).send().await.unwrap().status().as_u16(), 401);
}

#[tokio::test]
async fn rate_limit_admits_seven_per_second() {
    // The exact count (7 in any sliding second, refused requests not counted, per account) is
    // unit-tested on synthetic instants in src/amocrm/mod.rs. Here, over HTTP, nothing depends
    // on how fast this machine is: bursts of 20 at once until one of them lands within a
    // second (the first always does, unless the machine stalls for the whole burst).
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let (mut ok, mut refused) = (0u64, 0u64);
    for _ in 0..20 {
        let calls = (0..20).map(|_| get(&sb, "/api/v4/account").send());
        for resp in futures::future::join_all(calls).await {
            let resp = resp.unwrap();
            match resp.status().as_u16() {
                200 => ok += 1,
                429 => {
                    refused += 1;
                    assert!(
                        serde_json::from_str::<Value>(&resp.text().await.unwrap()).is_err(),
                        "429 body is not JSON"
                    );
                }
                other => panic!("unexpected {other}"),
            }
        }
        if refused > 0 {
            break;
        }
    }
    assert!(ok >= 7, "the first seven of a burst are always admitted: {ok}");
    assert!(refused > 0, "20 requests within a second got no 429");
    assert_eq!(sb.rate_limited_count(Service::Amocrm), refused);
    assert_eq!(sb.request_count(Service::Amocrm), ok + refused);
    // A second after the last answer, the window is empty again.
    tokio::time::sleep(std::time::Duration::from_millis(1050)).await;
    assert_eq!(get(&sb, "/api/v4/account").send().await.unwrap().status().as_u16(), 200);
}

#[tokio::test]
async fn only_get_reaches_amocrm() {
    let sb = unlimited().await;
    let resp = client()
        .post(format!("{}/api/v4/leads", sb.url(Service::Amocrm)))
        .bearer_auth(&sb.credentials().amocrm_long_lived_token)
        .json(&json!([{"name": "x"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert!(sb.methods_seen(Service::Amocrm).contains("POST"));
    let recorded = sb.requests(Service::Amocrm);
    assert_eq!((recorded[0].method.as_str(), recorded[0].status), ("POST", 405));
}

#[tokio::test]
async fn oauth_refresh_rotates_and_expired_tokens_fail() {
    let sb = unlimited().await;
    let c = sb.credentials().clone();
    let refresh = |token: &str, secret: &str| {
        client().post(format!("{}/oauth2/access_token", sb.url(Service::AmocrmOauth))).json(&json!({
            "client_id": c.amocrm_client_id, "client_secret": secret, "grant_type": "refresh_token",
            "refresh_token": token, "redirect_uri": c.amocrm_redirect_uri}))
    };
    let account_url = format!("{}/api/v4/account", sb.url(Service::Amocrm));
    let account = |token: &str| client().get(&account_url).bearer_auth(token);
    assert_eq!(account(&c.amocrm_access_token).send().await.unwrap().status().as_u16(), 200);

    let (status, _) = json(refresh(&c.amocrm_refresh_token, "wrong").send().await.unwrap()).await;
    assert_eq!(status, 401);
    let (status, pair) = json(refresh(&c.amocrm_refresh_token, &c.amocrm_client_secret).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!((pair["token_type"].as_str(), pair["expires_in"].as_i64()), (Some("Bearer"), Some(86_400)));
    let (status, reused) = json(refresh(&c.amocrm_refresh_token, &c.amocrm_client_secret).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(reused["hint"], "Token has been revoked");

    sb.expire_amocrm_access_tokens();
    let second = pair["access_token"].as_str().unwrap();
    assert_eq!(account(&c.amocrm_access_token).send().await.unwrap().status().as_u16(), 401);
    assert_eq!(account(second).send().await.unwrap().status().as_u16(), 401);
    assert_eq!(account(&c.amocrm_long_lived_token).send().await.unwrap().status().as_u16(), 200);
    let (status, third) =
        json(refresh(pair["refresh_token"].as_str().unwrap(), &c.amocrm_client_secret).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(account(third["access_token"].as_str().unwrap()).send().await.unwrap().status().as_u16(), 200);
    assert_eq!(sb.methods_seen(Service::Amocrm).into_iter().collect::<Vec<_>>(), vec!["GET"]);
}

//! The exact requests the amoCRM connector sends, and how it reads amoCRM's answers, against a
//! scripted server.

#![allow(clippy::unwrap_used)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use futures::TryStreamExt;
use serde_json::{Value, json};
use synkro_connector_amocrm::AmoCrmConnector;
use synkro_core::{
    Secret,
    connector::{
        Connector, ConnectorConfig, ConnectorContext, ConnectorError, Deal, FailureClass, TokenSink, run_check,
    },
    domain::Window,
    secrets::SecretMap,
    time::Timestamp,
};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{header, method, path, query_param},
};

const TOKEN: &str = "amo-long-lived-token-0123456789";

fn ctx(server: &MockServer) -> ConnectorContext {
    let mut ctx = ConnectorContext::default()
        .with_endpoint("amocrm", server.uri())
        .with_endpoint("amocrm_oauth", server.uri())
        .with_outbound(synkro_core::connector::OutboundPolicy::loopback());
    ctx.http.backoff_base = Duration::from_millis(5);
    ctx
}

fn long_lived() -> ConnectorConfig {
    let secrets: SecretMap = [("long_lived_token".to_owned(), Secret::new(TOKEN))].into_iter().collect();
    ConnectorConfig::new(json!({"domain": "acme"}), secrets)
}

fn window() -> Window {
    Window::new(
        Timestamp::from_unix_seconds(1_772_323_200).unwrap(),
        Timestamp::from_unix_seconds(1_772_409_600).unwrap(),
    )
    .unwrap()
}

async fn read_deals(config: &ConnectorConfig, ctx: &ConnectorContext) -> Result<Vec<Deal>, ConnectorError> {
    let caps = AmoCrmConnector.build(config, ctx).unwrap();
    let batches: Vec<_> = caps.crm.unwrap().deals(window()).try_collect().await?;
    Ok(batches.into_iter().flat_map(|b| b.items).collect())
}

fn lead(id: i64, contacts: &[i64]) -> Value {
    let contacts: Vec<_> = contacts.iter().map(|c| json!({"id": c, "is_main": true})).collect();
    json!({"id": id, "name": format!("Deal {id}"), "price": 1000, "status_id": 142, "pipeline_id": 7,
        "responsible_user_id": 501, "created_at": 1_772_000_000, "updated_at": 1_772_330_000,
        "custom_fields_values": null, "_links": {"self": {"href": "x"}},
        "_embedded": {"tags": [{"id": 1, "name": "vip"}], "contacts": contacts}})
}

fn contact(id: i64, phone_field: Value) -> Value {
    json!({"id": id, "name": format!("Client {id}"), "custom_fields_values": phone_field})
}

async fn mount_names(server: &MockServer, users_status: u16) {
    let pipelines = json!({"_embedded": {"pipelines": [{"id": 7, "name": "Sales", "_embedded": {"statuses": [
        {"id": 142, "name": "Won"}, {"id": 143, "name": "Lost"}]}}]}});
    Mock::given(path("/api/v4/leads/pipelines"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pipelines))
        .mount(server)
        .await;
    let users = json!({"_embedded": {"users": [{"id": 501, "name": "Olga"}]}});
    let resp = if users_status == 200 {
        ResponseTemplate::new(200).set_body_json(users)
    } else {
        ResponseTemplate::new(users_status).set_body_json(json!({"title": "Forbidden", "status": users_status}))
    };
    Mock::given(path("/api/v4/users")).respond_with(resp).mount(server).await;
}

#[tokio::test]
async fn check_reads_the_account_with_the_bearer_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/account"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 31, "name": "Acme", "subdomain": "acme"})))
        .expect(1)
        .mount(&server)
        .await;
    let report = run_check(&AmoCrmConnector, &long_lived(), &ctx(&server)).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.details, json!({"account_id": 31, "name": "Acme", "subdomain": "acme"}));
}

#[tokio::test]
async fn refused_and_forbidden_tokens_are_classified_with_hints_and_never_echoed() {
    let server = MockServer::start().await;
    let body = json!({"title": "Unauthorized", "status": 401, "detail": format!("token {TOKEN} is invalid")});
    Mock::given(path("/api/v4/account"))
        .respond_with(ResponseTemplate::new(401).set_body_json(body))
        .mount(&server)
        .await;
    let report = run_check(&AmoCrmConnector, &long_lived(), &ctx(&server)).await;
    assert_eq!((report.ok, report.class, report.retryable), (false, Some(FailureClass::Auth), false));
    let text = format!("{report:?} {}", serde_json::to_string(&report).unwrap());
    assert!(!text.contains(TOKEN), "{text}");
    assert!(report.hint.unwrap().contains("token"));

    let server = MockServer::start().await;
    Mock::given(path("/api/v4/account")).respond_with(ResponseTemplate::new(403)).mount(&server).await;
    let report = run_check(&AmoCrmConnector, &long_lived(), &ctx(&server)).await;
    assert_eq!(report.class, Some(FailureClass::Permission));
    assert!(report.hint.unwrap().contains("IP"));
}

#[tokio::test]
async fn a_config_without_any_token_names_the_field() {
    let server = MockServer::start().await;
    let config = ConnectorConfig::new(json!({"domain": "acme"}), SecretMap::new());
    let report = run_check(&AmoCrmConnector, &config, &ctx(&server)).await;
    assert_eq!(report.class, Some(FailureClass::Config));
    assert!(report.message.contains("long_lived_token"), "{}", report.message);
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing is sent for a bad config");
}

#[tokio::test]
async fn leads_are_paged_to_the_end_and_contacts_fetched_in_batches() {
    let server = MockServer::start().await;
    mount_names(&server, 200).await;
    // 260 leads over two pages; lead i has contact 50_000 + i; the last lead shares contact 50_000.
    let page1: Vec<_> = (0..250).map(|i| lead(10_000 + i, &[50_000 + i])).collect();
    let mut page2: Vec<_> = (250..259).map(|i| lead(10_000 + i, &[50_000 + i])).collect();
    page2.push(lead(10_259, &[50_000]));
    let next = format!("{}/api/v4/leads?page=2&limit=250&with=contacts", server.uri());
    Mock::given(path("/api/v4/leads"))
        .and(query_param("page", "1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"_page": 1, "_links": {"next": {"href": next}}, "_embedded": {"leads": page1}})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/v4/leads"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"_page": 2, "_links": {}, "_embedded": {"leads": page2}})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/v4/contacts"))
        .respond_with(|req: &Request| {
            let ids: Vec<i64> =
                req.url.query_pairs().filter(|(k, _)| k == "filter[id][]").map(|(_, v)| v.parse().unwrap()).collect();
            let phone =
                json!([{"field_name": "Телефон", "field_code": "PHONE", "values": [{"value": "8 (900) 111-22-33"}]}]);
            let contacts: Vec<_> = ids.iter().map(|id| contact(*id, phone.clone())).collect();
            ResponseTemplate::new(200).set_body_json(json!({"_embedded": {"contacts": contacts}}))
        })
        .mount(&server)
        .await;

    let deals = read_deals(&long_lived(), &ctx(&server)).await.unwrap();
    assert_eq!(deals.len(), 260);
    let first = &deals[0];
    assert_eq!((first.id, first.status.as_deref(), first.responsible.as_deref()), (10_000, Some("Won"), Some("Olga")));
    assert_eq!(first.contacts[0].phones, ["79001112233"]);
    assert_eq!(first.attrs["tags"][0]["name"], "vip");
    assert!(first.attrs.get("_links").is_none());
    assert_eq!(deals[259].contacts[0].id, 50_000, "a shared contact is attached to both deals");

    let requests = server.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| r.method.as_str() == "GET"));
    let leads: Vec<_> = requests.iter().filter(|r| r.url.path() == "/api/v4/leads").collect();
    let first_query: Vec<(String, String)> = leads[0].url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
    let expected = [
        ("with", "contacts"),
        ("limit", "250"),
        ("page", "1"),
        ("filter[updated_at][from]", "1772323200"),
        ("filter[updated_at][to]", "1772409599"),
    ];
    assert_eq!(first_query, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
    assert_eq!(leads.len(), 2, "the page with no next link is the last");
    let contact_requests: Vec<_> = requests.iter().filter(|r| r.url.path() == "/api/v4/contacts").collect();
    assert_eq!(contact_requests.len(), 2, "one batch request per lead page, never one per contact");
    let ids_in_first =
        contact_requests.iter().map(|r| r.url.query_pairs().filter(|(k, _)| k == "filter[id][]").count());
    assert_eq!(ids_in_first.collect::<Vec<_>>().iter().sum::<usize>(), 260, "every contact once per page");
    for r in &requests {
        assert_eq!(r.headers.get("authorization").unwrap(), format!("Bearer {TOKEN}").as_str());
    }
}

#[tokio::test]
async fn no_content_means_no_deals_and_a_forbidden_users_list_degrades_to_ids() {
    let server = MockServer::start().await;
    mount_names(&server, 403).await;
    Mock::given(path("/api/v4/leads"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"_links": {}, "_embedded": {"leads": [lead(1, &[])]}})),
        )
        .mount(&server)
        .await;
    let deals = read_deals(&long_lived(), &ctx(&server)).await.unwrap();
    assert_eq!((deals[0].responsible_user_id, deals[0].responsible.as_deref()), (Some(501), None));

    let empty = MockServer::start().await;
    mount_names(&empty, 200).await;
    Mock::given(path("/api/v4/leads")).respond_with(ResponseTemplate::new(204)).mount(&empty).await;
    assert!(read_deals(&long_lived(), &ctx(&empty)).await.unwrap().is_empty());
    let contacts =
        empty.received_requests().await.unwrap().iter().filter(|r| r.url.path() == "/api/v4/contacts").count();
    assert_eq!(contacts, 0);
}

/// Records every secret map it is handed, and what the server had seen by then.
#[derive(Default)]
struct Recorder {
    stored: Mutex<Vec<SecretMap>>,
}

#[async_trait]
impl TokenSink for Recorder {
    async fn store(&self, secrets: &SecretMap) -> Result<(), ConnectorError> {
        self.stored.lock().unwrap().push(secrets.clone());
        Ok(())
    }

    async fn latest(&self) -> Result<Option<SecretMap>, ConnectorError> {
        Ok(self.stored.lock().unwrap().last().cloned())
    }
}

fn oauth(expires_at: i64) -> ConnectorConfig {
    let secrets: SecretMap = [
        ("access_token", "old-access-token"),
        ("refresh_token", "old-refresh-token"),
        ("client_secret", "client-secret-xyz"),
        ("expires_at", &expires_at.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Secret::new(v)))
    .collect();
    ConnectorConfig::new(
        json!({"domain": "acme.kommo.com", "client_id": "cid", "redirect_uri": "https://s.example/cb"}),
        secrets,
    )
}

async fn mount_refresh(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/oauth2/access_token"))
        .respond_with(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            assert_eq!(body["grant_type"], "refresh_token");
            assert_eq!(body["refresh_token"], "old-refresh-token");
            assert_eq!(
                (body["client_id"].as_str(), body["client_secret"].as_str()),
                (Some("cid"), Some("client-secret-xyz"))
            );
            ResponseTemplate::new(200).set_body_json(json!({"token_type": "Bearer", "expires_in": 86400,
                "access_token": "new-access-token", "refresh_token": "new-refresh-token"}))
        })
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_expiring_oauth_token_is_refreshed_once_per_integration_and_stored_before_use() {
    let server = MockServer::start().await;
    mount_refresh(&server).await;
    Mock::given(path("/api/v4/account"))
        .and(header("authorization", "Bearer new-access-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1, "name": "Acme", "subdomain": "acme"})))
        .mount(&server)
        .await;
    let sink = Arc::new(Recorder::default());
    let ctx = ctx(&server).with_tokens(sink.clone());
    let soon = jiff::Timestamp::now().as_second() + 60;
    let config = oauth(soon);
    let connector = AmoCrmConnector;
    let checks = (0..4).map(|_| run_check(&connector, &config, &ctx));
    for report in futures::future::join_all(checks).await {
        assert!(report.ok, "{report:?}");
    }
    let stored = sink.stored.lock().unwrap();
    assert!(!stored.is_empty());
    assert_eq!(stored[0].get("refresh_token").unwrap().expose(), "new-refresh-token");
    assert_eq!(
        stored[0].get("client_secret").unwrap().expose(),
        "client-secret-xyz",
        "the whole secret map is handed over"
    );
    let expires: i64 = stored[0].get("expires_at").unwrap().expose().parse().unwrap();
    assert!(expires > soon + 80_000);
}

#[tokio::test]
async fn a_401_triggers_one_refresh_and_the_request_is_repeated() {
    let server = MockServer::start().await;
    mount_refresh(&server).await;
    Mock::given(path("/api/v4/account"))
        .and(header("authorization", "Bearer old-access-token"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(path("/api/v4/account"))
        .and(header("authorization", "Bearer new-access-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1, "name": "Acme", "subdomain": "acme"})))
        .mount(&server)
        .await;
    let sink = Arc::new(Recorder::default());
    let far = jiff::Timestamp::now().as_second() + 86_000;
    let report = run_check(&AmoCrmConnector, &oauth(far), &ctx(&server).with_tokens(sink.clone())).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(sink.stored.lock().unwrap().len(), 1);
    let api = server.received_requests().await.unwrap();
    let posts: Vec<_> = api.iter().filter(|r| r.method.as_str() != "GET").collect();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].url.path(), "/oauth2/access_token", "the only non-GET is the token exchange");
}

#[tokio::test]
async fn a_refused_refresh_token_asks_to_reconnect() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth2/access_token"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"hint": "Token has been revoked", "title": "Invalid grant"})),
        )
        .mount(&server)
        .await;
    let report = run_check(&AmoCrmConnector, &oauth(0), &ctx(&server)).await;
    assert_eq!((report.class, report.retryable), (Some(FailureClass::Auth), false));
    assert!(report.hint.unwrap().contains("reconnect"));
    assert!(!report.message.contains("old-refresh-token") && !report.message.contains("client-secret-xyz"));
}

//! Supabase/PostgREST: key rules, upserts, the 1,000-row cap, filters, errors.

use serde_json::{Value, json};
use synkro_sandbox::{Sandbox, Service};

use crate::common::{client, json, unlimited};

fn rest(sb: &Sandbox, method: reqwest::Method, table: &str) -> reqwest::RequestBuilder {
    let key = &sb.credentials().supabase_secret_key;
    client().request(method, format!("{}/rest/v1/{table}", sb.url(Service::Supabase))).header("apikey", key)
}

fn upsert(sb: &Sandbox, rows: &Value) -> reqwest::RequestBuilder {
    rest(sb, reqwest::Method::POST, "deals")
        .query(&[("on_conflict", "tenant_id,deal_id")])
        .header("Prefer", "resolution=merge-duplicates,return=minimal")
        .json(rows)
}

#[tokio::test]
async fn upsert_by_tenant_and_deal_keeps_one_merged_row() {
    let sb = unlimited().await;
    let first = json!([{"tenant_id": "acme", "deal_id": 10_001, "status": "new", "messages_count": 3}]);
    let resp = upsert(&sb, &first).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    assert!(resp.text().await.unwrap().is_empty(), "return=minimal has no body");
    let second = json!([{"tenant_id": "acme", "deal_id": 10_001, "status": "won"}]);
    assert_eq!(upsert(&sb, &second).send().await.unwrap().status().as_u16(), 201);
    assert_eq!(
        sb.supabase_rows("deals"),
        vec![json!({"tenant_id": "acme", "deal_id": 10_001, "status": "won", "messages_count": 3})]
    );

    let insert = rest(&sb, reqwest::Method::POST, "deals").json(&second).send().await.unwrap();
    let (status, body) = json(insert).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("23505")));

    let mixed = json!([{"tenant_id": "a", "deal_id": 1}, {"tenant_id": "a", "deal_id": 2, "extra": 1}]);
    let (status, body) = json(upsert(&sb, &mixed).send().await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("PGRST102")));

    let repr = rest(&sb, reqwest::Method::POST, "reports").header("Prefer", "return=representation");
    let (status, body) = json(repr.json(&json!({"id": "r1", "text": "hi"})).send().await.unwrap()).await;
    assert_eq!((status, body[0]["text"].as_str()), (201, Some("hi")));
}

#[tokio::test]
async fn reads_are_capped_at_1000_rows_and_page_with_offset() {
    let sb = unlimited().await;
    let rows: Vec<Value> = (0..2500).map(|i| json!({"tenant_id": "acme", "deal_id": i, "n": i % 7})).collect();
    assert_eq!(upsert(&sb, &Value::Array(rows)).send().await.unwrap().status().as_u16(), 201);

    let (status, big) =
        json(rest(&sb, reqwest::Method::GET, "deals").query(&[("limit", "5000")]).send().await.unwrap()).await;
    assert_eq!((status, big.as_array().unwrap().len()), (200, 1000), "a larger limit is silently truncated");

    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let query =
            [("select", "deal_id".to_owned()), ("order", "deal_id.asc".to_owned()), ("offset", offset.to_string())];
        let page = rest(&sb, reqwest::Method::GET, "deals").query(&query).query(&[("limit", "1000")]);
        let (_, body) = json(page.send().await.unwrap()).await;
        let page = body.as_array().unwrap();
        assert!(page.len() <= 1000);
        seen.extend(page.iter().map(|r| r["deal_id"].as_i64().unwrap()));
        assert!(page.iter().all(|r| r.as_object().unwrap().len() == 1), "select limits the columns");
        if page.len() < 1000 {
            break;
        }
        offset += page.len();
    }
    assert_eq!(seen, (0..2500).collect::<Vec<i64>>());

    let counted = rest(&sb, reqwest::Method::GET, "deals").header("Prefer", "count=exact").query(&[("limit", "10")]);
    let resp = counted.send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 206);
    assert_eq!(resp.headers()["content-range"], "0-9/2500");

    let filtered = [("n", "eq.3"), ("deal_id", "gte.100"), ("order", "deal_id.desc"), ("limit", "2")];
    let (_, body) = json(rest(&sb, reqwest::Method::GET, "deals").query(&filtered).send().await.unwrap()).await;
    assert_eq!(
        body.as_array().unwrap().iter().map(|r| r["deal_id"].as_i64().unwrap()).collect::<Vec<_>>(),
        vec![2495, 2488]
    );
    let (_, body) =
        json(rest(&sb, reqwest::Method::GET, "deals").query(&[("deal_id", "in.(5,6,9999)")]).send().await.unwrap())
            .await;
    assert_eq!(body.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn legacy_and_new_keys_follow_their_header_rules() {
    let sb = unlimited().await;
    let c = sb.credentials().clone();
    assert!(c.supabase_service_key.starts_with("eyJ") && c.supabase_secret_key.starts_with("sb_secret_"));
    let url = format!("{}/rest/v1/deals?select=deal_id&limit=1", sb.url(Service::Supabase));
    let status = |req: reqwest::RequestBuilder| async move { req.send().await.unwrap().status().as_u16() };
    let legacy = &c.supabase_service_key;
    assert_eq!(status(client().get(&url).header("apikey", legacy).bearer_auth(legacy)).await, 200);
    let (code, body) = json(client().get(&url).header("apikey", legacy).send().await.unwrap()).await;
    assert_eq!((code, body["message"].as_str()), (401, Some("Invalid API key")));
    let secret = &c.supabase_secret_key;
    assert_eq!(status(client().get(&url).header("apikey", secret)).await, 200);
    assert_eq!(status(client().get(&url).header("apikey", secret).bearer_auth(secret)).await, 200);
    assert_eq!(status(client().get(&url).header("apikey", secret).bearer_auth(legacy)).await, 401);
    let (code, body) = json(client().get(&url).send().await.unwrap()).await;
    assert_eq!((code, body["message"].as_str()), (401, Some("No API key found in request")));

    let (code, body) = json(rest(&sb, reqwest::Method::GET, "missing_table").send().await.unwrap()).await;
    assert_eq!((code, body["code"].as_str()), (404, Some("PGRST205")));
    assert_eq!(status(rest(&sb, reqwest::Method::GET, "reports")).await, 200, "Synkro's tables exist up front");
}

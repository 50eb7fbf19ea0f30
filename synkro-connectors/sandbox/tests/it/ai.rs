//! OpenAI-compatible and Gemini fakes.

use serde_json::{Value, json};
use synkro_sandbox::{OPENAI_NO_QUOTA_KEY, Sandbox, Service};

use crate::common::{client, json, unlimited};

async fn chat(sb: &Sandbox, key: &str, body: Value) -> (u16, Value) {
    let url = format!("{}/chat/completions", sb.url(Service::OpenAi));
    json(client().post(url).bearer_auth(key).json(&body).send().await.unwrap()).await
}

#[tokio::test]
async fn openai_models_completions_and_errors() {
    let sb = unlimited().await;
    let key = sb.credentials().openai_api_key.clone();
    assert!(sb.url(Service::OpenAi).ends_with("/v1"));
    let (status, models) =
        json(client().get(format!("{}/models", sb.url(Service::OpenAi))).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!((status, models["object"].as_str()), (200, Some("list")));
    let ids: Vec<&str> = models["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"gpt-4o-mini") && ids.contains(&"o3-mini"));

    let request = json!({"model": "gpt-4o-mini", "max_completion_tokens": 800, "temperature": 0.2, "messages": [
        {"role": "system", "content": "You summarise."}, {"role": "user", "content": "line 1\nline 2\nline 3"}]});
    let (status, body) = chat(&sb, &key, request.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    let content = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(content.starts_with("Report: line 1") && content.contains("3 lines"), "{content}");
    assert!(body["usage"]["total_tokens"].as_u64().unwrap() > 0);

    let mut short = request.clone();
    short["max_completion_tokens"] = json!(5);
    let (_, body) = chat(&sb, &key, short).await;
    assert_eq!(body["choices"][0]["finish_reason"], "length");

    let (status, body) =
        chat(&sb, &key, json!({"model": "o3-mini", "max_tokens": 100, "messages": [{"role": "user", "content": "x"}]}))
            .await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("unsupported_parameter")));
    let (status, _) = chat(&sb, &key, json!({"model": "o3-mini", "temperature": 0.2, "max_completion_tokens": 100, "messages": [{"role": "user", "content": "x"}]})).await;
    assert_eq!(status, 400);
    let (status, _) = chat(
        &sb,
        &key,
        json!({"model": "o3-mini", "max_completion_tokens": 100, "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    assert_eq!(status, 200);

    let (status, body) =
        chat(&sb, &key, json!({"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("model_not_found")));
    let (status, body) = chat(&sb, OPENAI_NO_QUOTA_KEY, request.clone()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("insufficient_quota")));
    let (status, body) = chat(&sb, "sk-wrong", request).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_api_key")));
}

#[tokio::test]
async fn gemini_takes_the_key_from_the_header_and_records_query_keys() {
    let sb = unlimited().await;
    let key = sb.credentials().gemini_api_key.clone();
    let base = sb.url(Service::Gemini);
    assert!(base.ends_with("/v1beta"));
    let (status, models) =
        json(client().get(format!("{base}/models")).header("x-goog-api-key", &key).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(models["models"][0]["name"], "models/gemini-2.0-flash");

    let url = format!("{base}/models/gemini-2.0-flash:generateContent");
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "how did we do?"}]}],
        "systemInstruction": {"parts": [{"text": "be brief"}]}, "generationConfig": {"temperature": 0.2, "maxOutputTokens": 500}});
    let (status, reply) =
        json(client().post(&url).header("x-goog-api-key", &key).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(reply["candidates"][0]["finishReason"], "STOP");
    assert!(reply["candidates"][0]["content"]["parts"][0]["text"].as_str().unwrap().contains("how did we do?"));
    assert!(sb.requests(Service::Gemini).iter().all(|r| r.query_value("key").is_none()));

    let mut short = body.clone();
    short["generationConfig"]["maxOutputTokens"] = json!(3);
    let (_, reply) = json(client().post(&url).query(&[("key", &key)]).json(&short).send().await.unwrap()).await;
    assert_eq!(reply["candidates"][0]["finishReason"], "MAX_TOKENS");
    assert_eq!(sb.requests(Service::Gemini).last().unwrap().query_value("key"), Some(key.as_str()));

    let (status, err) =
        json(client().post(&url).header("x-goog-api-key", "AIzaWrong").json(&body).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["status"], "INVALID_ARGUMENT");
    let (status, err) = json(client().post(&url).json(&body).send().await.unwrap()).await;
    assert_eq!((status, err["error"]["status"].as_str()), (403, Some("PERMISSION_DENIED")));
}

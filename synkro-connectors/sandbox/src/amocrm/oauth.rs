//! Fake amoCRM OAuth server: `POST /oauth2/access_token` with single-use, rotating refresh tokens.

use serde_json::{Map, Value, json};

use crate::credentials::{new_access_token, refresh_token};
use crate::http::{Incoming, Reply, now_unix, parse_query};
use crate::server::{Shared, lock};

/// An OAuth error body as amoCRM sends it: `{hint, title, type, status, detail}`.
pub(crate) fn error(status: u16, title: &str, hint: &str) -> Reply {
    let body = json!({"hint": hint, "title": title,
        "type": "https://developers.amocrm.ru/v3/errors/OAuthProblemJson", "status": status, "detail": hint});
    Reply::json(status, &body)
}

/// The request parameters from a JSON or form body.
fn params(req: &Incoming) -> Map<String, Value> {
    if req.content_type() == "application/x-www-form-urlencoded" {
        let text = String::from_utf8_lossy(&req.body);
        return parse_query(&text).into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    }
    match req.json() {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// Handles a request to the OAuth server.
pub(crate) fn handle(shared: &Shared, req: &Incoming) -> Reply {
    if req.path.trim_end_matches('/') != "/oauth2/access_token" {
        return error(404, "Not Found", "Unknown path");
    }
    if req.method != "POST" {
        return error(405, "Method Not Allowed", "Use POST").with_header("allow", "POST");
    }
    let params = params(req);
    let field = |name: &str| params.get(name).and_then(Value::as_str).unwrap_or("");
    let creds = &shared.credentials;
    if field("client_id") != creds.amocrm_client_id || field("client_secret") != creds.amocrm_client_secret {
        return error(401, "Unauthorized", "Client authentication failed");
    }
    match field("grant_type") {
        "refresh_token" => {}
        "" => return error(400, "Invalid request", "Check the `grant_type` parameter"),
        _ => return error(400, "Unsupported grant type", "The sandbox supports only grant_type=refresh_token"),
    }
    if field("redirect_uri") != creds.amocrm_redirect_uri {
        return error(400, "Invalid request", "Check the `redirect_uri` parameter");
    }
    let presented = field("refresh_token");
    if presented.is_empty() {
        return error(400, "Invalid request", "Check the `refresh_token` parameter");
    }
    let mut state = lock(&shared.amocrm);
    if !state.live_refresh.remove(presented) {
        return error(400, "Invalid grant", "Token has been revoked");
    }
    let now = now_unix();
    let access = new_access_token(&mut state.rng, &creds.amocrm_client_id, now);
    let refresh = refresh_token(&mut state.rng);
    state.valid_access.insert(access.clone());
    state.live_refresh.insert(refresh.clone());
    Reply::json(
        200,
        &json!({"token_type": "Bearer", "expires_in": 86_400, "access_token": access, "refresh_token": refresh,
            "server_time": now}),
    )
}

//! Fake amoCRM API v4: GET-only, Bearer auth, 7 requests per sliding second per account, HAL JSON
//! and problem+json.

mod lists;
pub(crate) mod oauth;

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::credentials::Credentials;
use crate::http::{Incoming, Reply};
use crate::server::{Shared, lock};

/// Mutable amoCRM state: the rate-limit window of each account and the OAuth token store.
pub(crate) struct AmoState {
    /// Admission times in the last second, per account (subdomain).
    windows: HashMap<String, VecDeque<Instant>>,
    long_lived: String,
    valid_access: HashSet<String>,
    live_refresh: HashSet<String>,
    pub(crate) users_forbidden: bool,
    rng: fastrand::Rng,
}

impl AmoState {
    pub(crate) fn new(credentials: &Credentials, seed: u64) -> Self {
        AmoState {
            windows: HashMap::new(),
            long_lived: credentials.amocrm_long_lived_token.clone(),
            valid_access: HashSet::from([credentials.amocrm_access_token.clone()]),
            live_refresh: HashSet::from([credentials.amocrm_refresh_token.clone()]),
            users_forbidden: false,
            rng: fastrand::Rng::with_seed(seed.rotate_left(17) ^ 0xa11c_e5ed),
        }
    }

    pub(crate) fn expire_access_tokens(&mut self) {
        self.valid_access.clear();
    }

    /// The account `token` belongs to: the sandbox's own for its long-lived and OAuth access
    /// tokens, the named one for [`Credentials::amocrm_token_for`] tokens; `None` when refused.
    fn account_of(&self, token: &str, credentials: &Credentials) -> Option<String> {
        if token == self.long_lived || self.valid_access.contains(token) {
            return Some(credentials.amocrm_subdomain.clone());
        }
        credentials.amocrm_account_of(token)
    }

    /// Admits one request to `account` unless `limit` requests to it were admitted in the last
    /// second.
    fn admit(&mut self, account: &str, limit: u32, now: Instant) -> bool {
        if limit == 0 {
            return true;
        }
        let window = self.windows.entry(account.to_owned()).or_default();
        while window.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1)) {
            window.pop_front();
        }
        if window.len() >= limit as usize {
            return false;
        }
        window.push_back(now);
        true
    }
}

/// Handles a request to the amoCRM API server: 405 for anything but GET, then the token (which
/// names the account), then the account's rate limit (refused requests do not count), then the
/// route.
pub(crate) fn handle(shared: &Shared, req: &Incoming) -> Reply {
    if req.method != "GET" {
        return problem(405, "Method Not Allowed", "The sandbox amoCRM accepts only GET requests")
            .with_header("allow", "GET");
    }
    let account = {
        let mut state = lock(&shared.amocrm);
        let account = match req.bearer() {
            Some(token) => match state.account_of(token, &shared.credentials) {
                Some(account) => account,
                None => return problem(401, "Unauthorized", "Access token is invalid or expired"),
            },
            None => return problem(401, "Unauthorized", "Authorization header is missing"),
        };
        if !state.admit(&account, shared.config.amocrm_rate_limit, Instant::now()) {
            return rate_limited();
        }
        account
    };
    let path = req.path.trim_end_matches('/');
    let Some(rest) = path.strip_prefix("/api/v4/") else {
        return problem(404, "Not Found", "Unknown path");
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        ["account"] => lists::account(shared, req, &account),
        ["leads"] => lists::leads(shared, req),
        ["leads", "pipelines"] => lists::pipelines(shared, req),
        ["leads", "pipelines", id] => lists::pipeline(shared, req, id),
        ["leads", id] => lists::lead(shared, req, id),
        ["contacts"] => lists::contacts(shared, req),
        ["contacts", id] => lists::contact(shared, req, id),
        ["users"] => {
            if lock(&shared.amocrm).users_forbidden {
                return problem(403, "Forbidden", "Access denied: the user is not an account administrator");
            }
            lists::users(shared, req)
        }
        _ => problem(404, "Not Found", "Unknown path"),
    }
}

/// A problem+json error: `{title, type, status, detail}`.
pub(crate) fn problem(status: u16, title: &str, detail: &str) -> Reply {
    let body = json!({"title": title, "type": format!("https://httpstatus.es/{status}"), "status": status,
        "detail": detail});
    Reply::typed(status, "application/problem+json", body.to_string())
}

/// A 400 problem with `validation-errors` for one query parameter.
pub(crate) fn validation_error(path: &str, detail: &str) -> Reply {
    let body = json!({
        "validation-errors": [{"request_id": "0", "errors": [{"code": "InvalidValue", "path": path, "detail": detail}]}],
        "title": "Bad Request", "type": "https://httpstatus.es/400", "status": 400, "detail": "Request validation failed",
    });
    Reply::typed(400, "application/problem+json", body.to_string())
}

/// amoCRM's 429: an HTML page, not JSON.
pub(crate) fn rate_limited() -> Reply {
    Reply::typed(
        429,
        "text/html; charset=utf-8",
        "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many \
         Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_requests_do_not_fill_the_window() {
        let creds = Credentials::generate(1, 0);
        let mut state = AmoState::new(&creds, 1);
        let t0 = Instant::now();
        assert!((0..3).all(|_| state.admit("acme", 3, t0)));
        assert!(!state.admit("acme", 3, t0 + Duration::from_millis(500)));
        assert!(!state.admit("acme", 3, t0 + Duration::from_millis(999)));
        assert!(state.admit("other", 3, t0 + Duration::from_millis(999)), "accounts have their own budgets");
        assert!(state.admit("acme", 3, t0 + Duration::from_millis(1000)));
        assert!(state.admit("acme", 0, t0));
    }

    #[test]
    fn tokens_name_their_account() {
        let creds = Credentials::generate(1, 0);
        let state = AmoState::new(&creds, 1);
        assert_eq!(state.account_of(&creds.amocrm_long_lived_token, &creds).as_deref(), Some("acme"));
        assert_eq!(state.account_of(&creds.amocrm_access_token, &creds).as_deref(), Some("acme"));
        assert_eq!(state.account_of(&creds.amocrm_token_for("shop"), &creds).as_deref(), Some("shop"));
        assert_eq!(state.account_of("nope", &creds), None);
    }
}

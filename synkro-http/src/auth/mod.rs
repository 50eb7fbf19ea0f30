//! Authentication: session cookies (server-side, revocable), CSRF on state changes, the login
//! flow with throttling and auditing, and the TEMP_LOGIN fallback.

pub mod password;
pub mod throttle;

use std::{net::IpAddr, time::Instant};

use poem::{Request, RequestBody, http::Method};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaSecurityScheme, Registry},
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use synkro_core::{
    domain::{NewUser, User, UserRole},
    store::{NewSession, Session, StoreError},
    time::Timestamp,
};

use crate::{
    AppState,
    error::{ApiError, ApiResult},
    net,
};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "synkro_session";
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
const SCHEME: &str = "SessionCookie";

/// The signed-in user behind a request, with their active roles.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: User,
    /// Their active roles.
    pub roles: Vec<UserRole>,
    /// The session the request came with.
    pub session: Session,
}

/// Extractor for endpoints that need a signed-in user: reads the session cookie and, on
/// state-changing methods, checks `X-CSRF-Token`.
pub struct SessionAuth(pub Caller);

/// 32 random bytes as hex.
pub fn random_token() -> ApiResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    Ok(hex::encode(bytes))
}

/// The stored id of a cookie token.
pub fn token_id(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn equal(a: &str, b: &str) -> bool {
    // Digests have equal lengths, so not even the length leaks.
    Sha256::digest(a.as_bytes()).ct_eq(&Sha256::digest(b.as_bytes())).into()
}

/// The value of cookie `name` in the request.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// A `Set-Cookie` value for the session token (empty token and zero age to clear it).
pub fn set_cookie(token: &str, max_age_secs: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}")
}

async fn load_caller(state: &AppState, req: &Request) -> ApiResult<Caller> {
    let token = cookie(req, SESSION_COOKIE).filter(|t| !t.is_empty()).ok_or(ApiError::Unauthenticated)?;
    let session =
        state.store.get_live_session(&token_id(&token), Timestamp::now()).await?.ok_or(ApiError::Unauthenticated)?;
    let user = match state.store.get_user(session.user_id).await {
        Ok(user) if user.is_active => user,
        Ok(_) | Err(StoreError::NotFound { .. }) => return Err(ApiError::Unauthenticated),
        Err(e) => return Err(e.into()),
    };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !equal(sent, &session.csrf_token) {
            return Err(ApiError::Csrf);
        }
    }
    let roles = state.store.list_user_roles(user.id).await?.into_iter().filter(|r| r.is_active).collect();
    Ok(Caller { user, roles, session })
}

impl<'a> ApiExtractor<'a> for SessionAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            SCHEME,
            MetaSecurityScheme {
                ty: "apiKey",
                description: Some(
                    "The session cookie set by POST /api/v1/auth/login. Requests other than GET must also send \
                     the session's CSRF token in the X-CSRF-Token header.",
                ),
                name: Some(SESSION_COOKIE),
                key_in: Some("cookie"),
                scheme: None,
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![SCHEME]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let state = req.data::<AppState>().ok_or_else(|| ApiError::internal("AppState missing from the request"))?;
        Ok(Self(load_caller(state, req).await?))
    }
}

/// What a successful login produced.
pub struct LoggedIn {
    /// The new session's caller.
    pub caller: Caller,
    /// The token for the cookie (only its hash is stored).
    pub token: String,
}

async fn audit(
    state: &AppState,
    action: &str,
    actor: Option<&User>,
    ip: Option<IpAddr>,
    message: String,
    username: &str,
) {
    let metadata = serde_json::json!({ "username": username });
    let entry = crate::audit::Entry { action, message, tenant: None, actor: actor.map(|u| u.id), ip, metadata };
    crate::audit::record(state, entry).await;
}

/// Checks credentials (with throttling and the TEMP_LOGIN fallback), audits the outcome and
/// opens a session.
pub async fn login(state: &AppState, req: &Request, username: &str, password: &str) -> ApiResult<LoggedIn> {
    let ip = net::request_ip(&state.config, req);
    let ip_text = ip.map(|ip| ip.to_string());
    let now = Instant::now();
    if let Some(wait) = state.throttle().blocked(username, ip_text.as_deref(), now) {
        audit(state, "auth.login_throttled", None, ip, "login refused: too many failures".into(), username).await;
        return Err(ApiError::Throttled(wait.as_secs().max(1)));
    }
    let user = match state.store.get_user_by_username(username).await {
        Ok(user) => Some(user),
        Err(StoreError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let verified = password::verify_async(password.to_owned(), hash).await;
    let user = match user {
        Some(user) if verified && user.is_active => user,
        _ => match temp_login(state, username, password).await? {
            Some(user) => {
                tracing::warn!(username, "signed in with the TEMP_LOGIN fallback");
                audit(state, "auth.temp_login", Some(&user), ip, "signed in with TEMP_LOGIN".into(), username).await;
                user
            }
            None => {
                state.throttle().fail(username, ip_text.as_deref(), now);
                audit(state, "auth.login_failed", None, ip, "login failed".into(), username).await;
                return Err(ApiError::BadCredentials);
            }
        },
    };
    state.throttle().succeed(username);
    let token = random_token()?;
    let ttl = time::Duration::try_from(state.config.session_ttl).unwrap_or(time::Duration::HOUR);
    let expires_at = Timestamp::from_offset(Timestamp::now().as_offset() + ttl);
    let new =
        NewSession { id: token_id(&token), user_id: user.id, csrf_token: random_token()?, expires_at, ip: ip_text };
    let session = state.store.create_session(&new).await?;
    audit(state, "auth.login", Some(&user), ip, "signed in".into(), username).await;
    let roles = state.store.list_user_roles(user.id).await?.into_iter().filter(|r| r.is_active).collect();
    Ok(LoggedIn { caller: Caller { user, roles, session }, token })
}

/// The TEMP_LOGIN user when both variables are set and both values match (in constant time).
/// The account is created as a superuser without a password on first use.
async fn temp_login(state: &AppState, username: &str, password: &str) -> ApiResult<Option<User>> {
    let Some(temp) = &state.config.temp_login else { return Ok(None) };
    let name_ok = equal(username, &temp.username);
    let password_ok = equal(password, temp.password.expose());
    if !(name_ok & password_ok) {
        return Ok(None);
    }
    match state.store.get_user_by_username(username).await {
        Ok(user) => Ok(user.is_active.then_some(user)),
        Err(StoreError::NotFound { .. }) => {
            let mut new = NewUser::new(username)?;
            new.is_superuser = true;
            Ok(Some(state.store.create_user(&new).await?))
        }
        Err(e) => Err(e.into()),
    }
}

/// Revokes the caller's session and audits it.
pub async fn logout(state: &AppState, req: &Request, caller: &Caller) -> ApiResult<()> {
    state.store.revoke_session(&caller.session.id).await?;
    let ip = net::request_ip(&state.config, req);
    audit(state, "auth.logout", Some(&caller.user), ip, "signed out".into(), &caller.user.username).await;
    Ok(())
}

//! Authentication: session cookies (server-side, revocable) with CSRF on state changes,
//! personal API tokens (`Authorization: Bearer`), and the extractors handlers use.

pub mod cache;
mod login;
pub mod password;
pub mod throttle;

use poem::{Request, RequestBody, http::Method};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaSecurityScheme, Registry},
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use synkro_core::{
    domain::{User, UserRole},
    store::{ApiToken, Session, StoreError},
    time::Timestamp,
};

pub use self::login::{LoggedIn, audit_refusals, login, logout, settle_temp_login};
use crate::{
    AppState,
    error::{ApiError, ApiResult},
};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "synkro_session";
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Every API token starts with this.
pub const TOKEN_PREFIX: &str = "synkro_pat_";
const COOKIE_SCHEME: &str = "SessionCookie";
const TOKEN_SCHEME: &str = "ApiToken";

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A browser session (cookie).
    Session(Session),
    /// A personal API token.
    Token(ApiToken),
}

/// The signed-in user behind a request, with their active roles.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: User,
    /// Their active roles.
    pub roles: Vec<UserRole>,
    /// The session or token the request came with.
    pub credential: Credential,
}

impl Caller {
    /// The session's CSRF token (none for API tokens).
    pub fn csrf_token(&self) -> Option<&str> {
        match &self.credential {
            Credential::Session(s) => Some(&s.csrf_token),
            Credential::Token(_) => None,
        }
    }
}

/// Extractor for endpoints that need a signed-in user, by session cookie or API token. On
/// state-changing methods a session must also send its CSRF token in `X-CSRF-Token`.
pub struct Auth(pub Caller);

/// Extractor for endpoints only a browser session may use (sign out, change the password,
/// create API tokens), so a leaked token cannot mint more or lock its owner out.
pub struct SessionAuth(pub Caller);

impl SessionAuth {
    /// The session the request came with.
    pub fn session(&self) -> &Session {
        match &self.0.credential {
            Credential::Session(session) => session,
            Credential::Token(_) => unreachable!("SessionAuth is only built from a session"),
        }
    }
}

/// 32 random bytes as hex.
pub fn random_token() -> ApiResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    Ok(hex::encode(bytes))
}

/// The stored id of a cookie or API token: its hex SHA-256.
pub fn token_id(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub(crate) fn equal(a: &str, b: &str) -> bool {
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

/// The bearer token of the request, if it sent an `Authorization: Bearer` header.
fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn active_user(state: &AppState, id: synkro_core::ids::UserId) -> ApiResult<User> {
    match state.store().get_user(id).await {
        Ok(user) if user.is_active => Ok(user),
        Ok(_) | Err(StoreError::NotFound { .. }) => Err(ApiError::Unauthenticated),
        Err(e) => Err(e.into()),
    }
}

async fn caller(state: &AppState, user: User, credential: Credential) -> ApiResult<Caller> {
    let roles = state.store().list_user_roles(user.id).await?.into_iter().filter(|r| r.is_active).collect();
    Ok(Caller { user, roles, credential })
}

async fn from_session(state: &AppState, req: &Request) -> ApiResult<Caller> {
    let caller = session_caller(state, req).await?;
    let Credential::Session(session) = &caller.credential else { return Err(ApiError::Unauthenticated) };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !equal(sent, &session.csrf_token) {
            return Err(ApiError::Csrf);
        }
    }
    Ok(caller)
}

/// The caller of the request's session cookie, without a CSRF check: the caller must check the
/// session's token itself before changing anything (the dashboard's forms carry it as a field).
pub(crate) async fn session_caller(state: &AppState, req: &Request) -> ApiResult<Caller> {
    let token = cookie(req, SESSION_COOKIE).filter(|t| !t.is_empty()).ok_or(ApiError::Unauthenticated)?;
    let key = token_id(&token);
    let now = Timestamp::now();
    let cached = state.callers().get(&key).filter(|c| match &c.credential {
        Credential::Session(s) => s.expires_at > now,
        Credential::Token(_) => false,
    });
    let caller = match cached {
        Some(caller) => caller,
        None => {
            let session = state.store().get_live_session(&key, now).await?.ok_or(ApiError::Unauthenticated)?;
            let user = active_user(state, session.user_id).await?;
            let caller = caller(state, user, Credential::Session(session)).await?;
            state.callers().put(key, &caller);
            caller
        }
    };
    Ok(caller)
}

async fn from_token(state: &AppState, token: &str) -> ApiResult<Caller> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Err(ApiError::Unauthenticated);
    }
    let key = token_id(token);
    let now = Timestamp::now();
    let live = |t: &ApiToken| t.expires_at.is_none_or(|e| e > now);
    let cached = state.callers().get(&key).filter(|c| matches!(&c.credential, Credential::Token(t) if live(t)));
    if let Some(caller) = cached {
        return Ok(caller);
    }
    let found = state.store().get_live_api_token(&key, now).await?.ok_or(ApiError::Unauthenticated)?;
    let user = active_user(state, found.user_id).await?;
    let stale = found.last_used_at.is_none_or(|t| now.unix_seconds() - t.unix_seconds() >= 60);
    if stale {
        let store = state.store().clone();
        let id = found.id;
        tokio::spawn(async move {
            if let Err(e) = store.touch_api_token(id, now).await {
                tracing::debug!(error = %e, "token use not recorded");
            }
        });
    }
    let caller = caller(state, user, Credential::Token(found)).await?;
    state.callers().put(key, &caller);
    Ok(caller)
}

fn state(req: &Request) -> poem::Result<&AppState> {
    Ok(req.data::<AppState>().ok_or_else(|| ApiError::internal("AppState missing from the request"))?)
}

fn register_schemes(registry: &mut Registry) {
    let scheme = |ty, description, name, key_in, scheme, bearer_format| MetaSecurityScheme {
        ty,
        description: Some(description),
        name,
        key_in,
        scheme,
        bearer_format,
        flows: None,
        openid_connect_url: None,
    };
    registry.create_security_scheme(
        COOKIE_SCHEME,
        scheme(
            "apiKey",
            "The session cookie set by POST /api/v1/auth/login. Requests other than GET must also send the \
             session's CSRF token in the X-CSRF-Token header.",
            Some(SESSION_COOKIE),
            Some("cookie"),
            None,
            None,
        ),
    );
    registry.create_security_scheme(
        TOKEN_SCHEME,
        scheme(
            "http",
            "A personal API token (POST /api/v1/auth/tokens) as `Authorization: Bearer synkro_pat_...`. \
             No CSRF token is needed.",
            None,
            None,
            Some("bearer"),
            Some("synkro_pat"),
        ),
    );
}

impl<'a> ApiExtractor<'a> for Auth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_schemes(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![COOKIE_SCHEME, TOKEN_SCHEME]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let state = state(req)?;
        let caller = match bearer(req) {
            Some(token) => from_token(state, token).await?,
            None => from_session(state, req).await?,
        };
        Ok(Self(caller))
    }
}

impl<'a> ApiExtractor<'a> for SessionAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_schemes(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![COOKIE_SCHEME]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let state = state(req)?;
        if bearer(req).is_some() {
            return Err(ApiError::SessionRequired.into());
        }
        Ok(Self(from_session(state, req).await?))
    }
}

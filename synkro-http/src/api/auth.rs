//! `/auth`: login, logout, me.

use poem::{Request, web::Data};
use poem_openapi::{ApiResponse, OpenApi, payload::Json};

use super::{
    Tag,
    models::{LoginRequest, Me, RoleOut, UserOut},
};
use crate::{
    AppState,
    auth::{self, Caller, SessionAuth},
    body::JsonBody,
    error::{ApiError, ApiResult},
    net,
};

pub struct AuthApi;

fn me(caller: &Caller) -> Me {
    Me {
        user: UserOut::from(&caller.user),
        roles: caller.roles.iter().map(RoleOut::from).collect(),
        csrf_token: caller.session.csrf_token.clone(),
    }
}

#[derive(ApiResponse)]
enum LoginResponse {
    /// Signed in: the session cookie is set; send `csrf_token` in X-CSRF-Token from now on.
    #[oai(status = 200)]
    Ok(Json<Me>, #[oai(header = "Set-Cookie")] String),
}

#[derive(ApiResponse)]
enum LogoutResponse {
    /// Signed out: the session is revoked and the cookie cleared.
    #[oai(status = 204)]
    Done(#[oai(header = "Set-Cookie")] String),
}

#[OpenApi(prefix_path = "/auth", tag = "Tag::Auth")]
impl AuthApi {
    /// Sign in with a username and password.
    ///
    /// Five failures per username or twenty per address within 15 minutes answer 429 with
    /// Retry-After.
    #[oai(path = "/login", method = "post")]
    async fn login(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<LoginRequest>,
    ) -> ApiResult<LoginResponse> {
        let LoginRequest { username, password } = body.0;
        if username.is_empty() || username.len() > 150 || password.len() > 1024 {
            return Err(ApiError::BadCredentials);
        }
        let done = auth::login(&state, req, &username, &password).await?;
        let secure = net::request_is_secure(&state.config, req);
        let cookie = auth::set_cookie(&done.token, state.config.session_ttl.as_secs(), secure);
        Ok(LoginResponse::Ok(Json(me(&done.caller)), cookie))
    }

    /// Sign out: revokes the session.
    #[oai(path = "/logout", method = "post")]
    async fn logout(&self, state: Data<&AppState>, req: &Request, caller: SessionAuth) -> ApiResult<LogoutResponse> {
        auth::logout(&state, req, &caller.0).await?;
        let secure = net::request_is_secure(&state.config, req);
        Ok(LogoutResponse::Done(auth::set_cookie("", 0, secure)))
    }

    /// The signed-in user, their roles and the CSRF token.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, caller: SessionAuth) -> ApiResult<Json<Me>> {
        Ok(Json(me(&caller.0)))
    }
}

//! `/auth`: login, logout, me, the caller's password and profile.

use poem::{Request, web::Data};
use poem_openapi::{ApiResponse, OpenApi, payload::Json, types::MaybeUndefined};
use serde_json::json;
use synkro_core::{
    ValidationError,
    domain::{UserProfile, UserUpdate},
    time::TimeZoneName,
};

use super::{
    Tag,
    models::{ChangePassword, LoginRequest, Me, ProfileOut, RoleOut, UpdateProfile, UserOut},
};
use crate::{
    AppState, audit,
    auth::{self, Auth, Caller, SessionAuth, password},
    body::JsonBody,
    error::{ApiError, ApiResult},
    net,
};
use synkro_core::domain::AuditAction;

#[derive(Default)]
pub struct AuthApi;

fn me(caller: &Caller) -> Me {
    Me {
        user: UserOut::from(&caller.user),
        roles: caller.roles.iter().map(RoleOut::from).collect(),
        csrf_token: caller.csrf_token().map(str::to_owned),
    }
}

/// Checks a new password against the shared rule ([`synkro_core::domain::check_password`]).
pub(crate) fn check_password(field: &'static str, password: &str) -> ApiResult<()> {
    Ok(synkro_core::domain::check_password(field, password)?)
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

#[derive(ApiResponse)]
enum Changed {
    /// Done.
    #[oai(status = 204)]
    Done,
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
        auth::logout(&state, req, &caller.0, caller.session()).await?;
        let secure = net::request_is_secure(&state.config, req);
        Ok(LogoutResponse::Done(auth::set_cookie("", 0, secure)))
    }

    /// The caller, their roles and (for a browser session) the CSRF token.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, caller: Auth) -> ApiResult<Json<Me>> {
        Ok(Json(me(&caller.0)))
    }

    /// Change one's own password. Every other session of the user ends; this one stays.
    #[oai(path = "/password", method = "post")]
    async fn change_password(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: SessionAuth,
        body: JsonBody<ChangePassword>,
    ) -> ApiResult<Changed> {
        let ChangePassword { current_password, new_password } = body.0;
        let user = &caller.0.user;
        let hash = user.password_hash.clone();
        if !password::verify_async(current_password, hash).await? {
            return Err(ValidationError::new("current_password", "is not your current password").into());
        }
        check_password("new_password", &new_password)?;
        let hash = password::hash_async(new_password).await?;
        state.store().update_user(user.id, &UserUpdate { password_hash: Some(hash), ..Default::default() }).await?;
        let ended = state.store().revoke_other_sessions(user.id, &caller.session().id).await?;
        state.forget_user(user.id);
        let metadata = json!({ "user_id": user.id.as_uuid(), "other_sessions_ended": ended });
        audit::by(&state, req, &caller.0, AuditAction::UserPasswordChange, "changed their password", None, metadata)
            .await;
        Ok(Changed::Done)
    }

    /// The caller's profile.
    #[oai(path = "/profile", method = "get")]
    async fn profile(&self, state: Data<&AppState>, caller: Auth) -> ApiResult<Json<ProfileOut>> {
        Ok(Json(state.store().get_profile(caller.0.user.id).await?.into()))
    }

    /// Change the caller's profile (phone, time zone).
    #[oai(path = "/profile", method = "put")]
    async fn update_profile(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: Auth,
        body: JsonBody<UpdateProfile>,
    ) -> ApiResult<Json<ProfileOut>> {
        let user = caller.0.user.id;
        let current = state.store().get_profile(user).await?;
        let (mut phone, mut timezone) = match current {
            Some(p) => (p.phone, p.timezone),
            None => (None, None),
        };
        match body.0.phone {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => phone = None,
            MaybeUndefined::Value(p) => phone = Some(p.trim().to_owned()).filter(|p| !p.is_empty()),
        }
        match body.0.timezone {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => timezone = None,
            MaybeUndefined::Value(tz) => timezone = Some(TimeZoneName::new(tz.trim())?),
        }
        let profile = UserProfile::new(user, phone.as_deref(), timezone)?;
        let saved = state.store().put_profile(&profile).await?;
        audit::by(&state, req, &caller.0, AuditAction::ProfileUpdate, "changed their profile", None, json!({})).await;
        Ok(Json(Some(saved).into()))
    }
}

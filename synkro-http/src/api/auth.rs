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
    auth::{self, Auth, Caller, Credential, SessionAuth, password},
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
        change_password(&state, req, &caller.0, current_password, new_password).await?;
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
        let UpdateProfile { email, phone, timezone, language } = body.0;
        let change = ProfileChange { email, phone, timezone, language };
        let saved = update_profile(&state, req, &caller.0, change).await?;
        Ok(Json(Some(saved).into()))
    }
}

/// Changes `caller`'s password (a signed-in session: the API's and the dashboard's one path):
/// the current one must match, the new one must pass the rules; every other session of theirs
/// ends.
pub(crate) async fn change_password(
    state: &AppState,
    req: &Request,
    caller: &Caller,
    current_password: String,
    new_password: String,
) -> ApiResult<()> {
    let Credential::Session(session) = &caller.credential else { return Err(ApiError::SessionRequired) };
    let user = &caller.user;
    let hash = user.password_hash.clone();
    if !password::verify_async(current_password, hash).await? {
        return Err(ValidationError::new("current_password", "is not your current password").into());
    }
    check_password("new_password", &new_password)?;
    let hash = password::hash_async(new_password).await?;
    state.store().update_user(user.id, &UserUpdate { password_hash: Some(hash), ..Default::default() }).await?;
    let ended = state.store().revoke_other_sessions(user.id, &session.id).await?;
    state.forget_user(user.id);
    let metadata = json!({ "user_id": user.id.as_uuid(), "other_sessions_ended": ended });
    audit::by(state, req, caller, AuditAction::UserPasswordChange, "changed their password", None, metadata).await;
    Ok(())
}

/// A change to a profile: each field kept (undefined), cleared (null) or set.
pub(crate) struct ProfileChange {
    pub email: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    pub timezone: MaybeUndefined<String>,
    pub language: MaybeUndefined<String>,
}

/// Changes `caller`'s own profile.
pub(crate) async fn update_profile(
    state: &AppState,
    req: &Request,
    caller: &Caller,
    change: ProfileChange,
) -> ApiResult<UserProfile> {
    let user = caller.user.id;
    let mut profile = match state.store().get_profile(user).await? {
        Some(p) => p,
        None => UserProfile::new(user, None, None)?,
    };
    match change.phone {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => profile.phone = None,
        MaybeUndefined::Value(p) => profile.phone = Some(p.trim().to_owned()).filter(|p| !p.is_empty()),
    }
    match change.timezone {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => profile.timezone = None,
        MaybeUndefined::Value(tz) if tz.trim().is_empty() => profile.timezone = None,
        MaybeUndefined::Value(tz) => profile.timezone = Some(TimeZoneName::new(tz.trim())?),
    }
    match change.language {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => profile.language = None,
        MaybeUndefined::Value(l) if l.trim().is_empty() => profile.language = None,
        MaybeUndefined::Value(l) => {
            profile.language = Some(
                l.trim()
                    .parse()
                    .map_err(|_| ValidationError::new("language", "must be ru or en, or null for the browser's"))?,
            );
        }
    }
    let mut checked = UserProfile::new(user, profile.phone.as_deref(), profile.timezone.clone())?;
    checked.language = profile.language;
    let email = match change.email {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(e) => Some(Some(e.trim().to_owned()).filter(|e| !e.is_empty())),
    }
    .filter(|e| *e != caller.user.email);
    // Every value is checked before anything is written.
    let email_update = UserUpdate { email: email.clone(), ..Default::default() };
    email_update.validate()?;
    let saved = state.store().put_profile(&checked).await?;
    if email.is_some() {
        state.store().update_user(user, &email_update).await?;
    }
    state.forget_user(user);
    let metadata = match email {
        Some(after) => json!({ "changes": { "email": { "before": caller.user.email, "after": after } } }),
        None => json!({}),
    };
    audit::by(state, req, caller, AuditAction::ProfileUpdate, "changed their profile", None, metadata).await;
    Ok(saved)
}

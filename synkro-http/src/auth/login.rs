//! The login flow (throttling, the TEMP_LOGIN fallback, auditing) and logout.

use std::net::IpAddr;

use poem::Request;
use synkro_core::{
    Store,
    domain::{NewUser, User},
    store::{NewSession, Session, StoreError},
    time::Timestamp,
};

use super::{Caller, Credential, equal, password, random_token, throttle::RefusedKey, token_id};
use crate::{
    AppState,
    error::{ApiError, ApiResult},
    net,
};
use synkro_core::domain::AuditAction;

/// What a successful login produced.
pub struct LoggedIn {
    /// The new session's caller.
    pub caller: Caller,
    /// The token for the cookie (only its hash is stored).
    pub token: String,
}

async fn audit(
    state: &AppState,
    action: AuditAction,
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
/// opens a session. The attempt is counted before the password is hashed, and a held-back
/// attempt costs one database read and no hash.
pub async fn login(state: &AppState, req: &Request, username: &str, password: &str) -> ApiResult<LoggedIn> {
    let ip = net::request_ip(&state.config, req);
    let ip_text = ip.map(|ip| ip.to_string());
    let throttle = state.throttle();
    if let Some(held) = throttle.held(state.store(), username, ip_text.as_deref()).await? {
        throttle.refused(held.key);
        return Err(ApiError::Throttled(held.wait.as_secs().max(1)));
    }
    throttle.count(state.store(), username, ip_text.as_deref()).await?;
    let user = match state.store().get_user_by_username(username).await {
        Ok(user) => Some(user),
        Err(StoreError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let verified = password::verify_async(password.to_owned(), hash).await?;
    let user = match user {
        Some(user) if verified && user.is_active => user,
        _ => match temp_login(state, username, password).await? {
            Some(user) => {
                tracing::warn!(username, "signed in with the TEMP_LOGIN fallback");
                audit(state, AuditAction::AuthTempLogin, Some(&user), ip, "signed in with TEMP_LOGIN".into(), username)
                    .await;
                user
            }
            None => {
                audit(state, AuditAction::AuthLoginFailed, None, ip, "login failed".into(), username).await;
                return Err(ApiError::BadCredentials);
            }
        },
    };
    throttle.succeed(state.store(), username, ip_text.as_deref()).await?;
    let token = random_token()?;
    let ttl = time::Duration::try_from(state.config.session_ttl).unwrap_or(time::Duration::HOUR);
    let expires_at = Timestamp::from_offset(Timestamp::now().as_offset() + ttl);
    let new =
        NewSession { id: token_id(&token), user_id: user.id, csrf_token: random_token()?, expires_at, ip: ip_text };
    let session = state.store().create_session(&new).await?;
    audit(state, AuditAction::AuthLogin, Some(&user), ip, "signed in".into(), username).await;
    let roles = state.store().list_user_roles(user.id).await?.into_iter().filter(|r| r.is_active).collect();
    Ok(LoggedIn { caller: Caller { user, roles, credential: Credential::Session(session) }, token })
}

/// The TEMP_LOGIN user when both variables are set and both values match (in constant time).
/// The account is its own (created as a temporary superuser without a password on first use):
/// an ordinary account of the same name never gets a second password this way.
async fn temp_login(state: &AppState, username: &str, password: &str) -> ApiResult<Option<User>> {
    let Some(temp) = &state.config.temp_login else { return Ok(None) };
    let name_ok = equal(username, &temp.username);
    let password_ok = equal(password, temp.password.expose());
    if !(name_ok & password_ok) {
        return Ok(None);
    }
    match state.store().get_user_by_username(username).await {
        Ok(user) => Ok((user.is_active && user.is_temporary).then_some(user)),
        Err(StoreError::NotFound { .. }) => {
            let mut new = NewUser::new(username)?;
            new.is_superuser = true;
            new.is_temporary = true;
            Ok(Some(state.store().create_user(&new).await?))
        }
        Err(e) => Err(e.into()),
    }
}

/// Revokes the caller's session and audits it.
pub async fn logout(state: &AppState, req: &Request, caller: &Caller, session: &Session) -> ApiResult<()> {
    state.store().revoke_session(&session.id).await?;
    state.forget_user(caller.user.id);
    let ip = net::request_ip(&state.config, req);
    audit(state, AuditAction::AuthLogout, Some(&caller.user), ip, "signed out".into(), &caller.user.username).await;
    Ok(())
}

/// Before serving: with the TEMP_LOGIN variables set, refuses a name that belongs to an
/// ordinary account (the fallback would give it a second password); without them, deletes the
/// account an earlier fallback created, so it does not outlive the variables.
pub async fn settle_temp_login(store: &Store, temp: Option<&synkro_core::config::TempLogin>) -> Result<(), String> {
    match temp {
        Some(temp) => match store.get_user_by_username(&temp.username).await {
            Ok(user) if !user.is_temporary => Err(format!(
                "TEMP_LOGIN_USER names the existing account {:?}; the fallback login uses an account of its own: \
                 choose a name no account has, or unset TEMP_LOGIN_USER and TEMP_LOGIN_PASSWORD",
                temp.username
            )),
            Ok(_) | Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(format!("cannot check TEMP_LOGIN_USER: {e}")),
        },
        None => match store.delete_temporary_users().await {
            Ok(0) => Ok(()),
            Ok(n) => {
                tracing::warn!(accounts = n, "TEMP_LOGIN is off: deleted the fallback login's account");
                Ok(())
            }
            Err(e) => Err(format!("cannot delete the TEMP_LOGIN account: {e}")),
        },
    }
}

/// Writes one audit entry per throttle key for the attempts it refused since the last call,
/// with their count; returns how many entries. The server calls this every minute and when it
/// stops.
pub async fn audit_refusals(state: &AppState) -> usize {
    let refusals = state.throttle().take_refusals();
    let entries = refusals.len();
    for (key, count) in refusals {
        let (username, address, message) = match key {
            RefusedKey::UserAddress { username, address } => {
                let message =
                    format!("{count} login attempt(s) for {username} from {address} held back: too many failures");
                (Some(username), address, message)
            }
            RefusedKey::Address(address) => {
                (None, address.clone(), format!("{count} login attempt(s) from {address} held back: too many failures"))
            }
        };
        let metadata = serde_json::json!({ "username": username, "address": address, "count": count });
        let ip = address.parse().ok();
        let entry = crate::audit::Entry {
            action: AuditAction::AuthLoginThrottled,
            message,
            tenant: None,
            actor: None,
            ip,
            metadata,
        };
        crate::audit::record(state, entry).await;
    }
    entries
}

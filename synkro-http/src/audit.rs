//! Audit entries written by the API: who did what, on which tenant, from which address.
//! A failed write is logged, never turned into a failed request.

use std::net::IpAddr;

use serde_json::Value;
use synkro_core::{
    domain::{AuditAction, NewAuditLog},
    ids::{TenantId, UserId},
};

use crate::AppState;

/// One audit entry to append.
pub struct Entry {
    /// What happened.
    pub action: AuditAction,
    /// Human message.
    pub message: String,
    /// The tenant concerned.
    pub tenant: Option<TenantId>,
    /// Who acted.
    pub actor: Option<UserId>,
    /// The client's address.
    pub ip: Option<IpAddr>,
    /// Details (never secret values).
    pub metadata: Value,
}

/// Appends `entry`, logging (not returning) a failure.
pub async fn record(state: &AppState, entry: Entry) {
    let action = entry.action;
    let mut new = NewAuditLog::new(action, entry.message);
    new.tenant_id = entry.tenant;
    new.actor_id = entry.actor;
    new.ip_address = entry.ip;
    new.metadata = entry.metadata;
    if let Err(error) = state.store().append_audit(&new).await {
        tracing::error!(%error, %action, "cannot write an audit entry");
    }
}

/// Appends an entry for an action `caller` took through request `req` (address from the
/// request, trusting `X-Forwarded-For` only from configured proxies).
pub async fn by(
    state: &AppState,
    req: &poem::Request,
    caller: &crate::auth::Caller,
    action: AuditAction,
    message: impl Into<String>,
    tenant: Option<TenantId>,
    metadata: Value,
) {
    let entry = Entry {
        action,
        message: message.into(),
        tenant,
        actor: Some(caller.user.id),
        ip: crate::net::request_ip(&state.config, req),
        metadata,
    };
    record(state, entry).await;
}

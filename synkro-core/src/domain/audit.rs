//! The audit log: who did what, where from.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::string_enum;
use crate::{
    ValidationError,
    error::check_max,
    ids::{AuditId, TenantId, UserId},
    time::Timestamp,
};

string_enum! {
    /// What an audit entry records: one value per kind of event, written as a dotted
    /// lowercase name (`integration.update`).
    pub enum AuditAction("action") {
        /// A user signed in.
        AuthLogin = "auth.login",
        /// A sign-in failed.
        AuthLoginFailed = "auth.login_failed",
        /// Sign-ins were refused for a while after failures.
        AuthLoginThrottled = "auth.login_throttled",
        /// A user signed out.
        AuthLogout = "auth.logout",
        /// The TEMP_LOGIN fallback was used.
        AuthTempLogin = "auth.temp_login",
        /// An account was created.
        UserCreate = "user.create",
        /// An account was changed.
        UserUpdate = "user.update",
        /// An account was deleted.
        UserDelete = "user.delete",
        /// An account's password was set by an admin.
        UserSetPassword = "user.set_password",
        /// A user changed their password.
        UserPasswordChange = "user.password_change",
        /// A user changed their profile.
        ProfileUpdate = "profile.update",
        /// A role was granted.
        RoleGrant = "role.grant",
        /// A role was changed.
        RoleUpdate = "role.update",
        /// A role was revoked.
        RoleRevoke = "role.revoke",
        /// An API token was created.
        TokenCreate = "token.create",
        /// An API token was revoked.
        TokenRevoke = "token.revoke",
        /// A tenant was created.
        TenantCreate = "tenant.create",
        /// A tenant was changed.
        TenantUpdate = "tenant.update",
        /// A tenant was deleted.
        TenantDelete = "tenant.delete",
        /// An integration's settings were saved.
        IntegrationUpdate = "integration.update",
        /// An integration was deleted.
        IntegrationDelete = "integration.delete",
        /// An integration's credentials were checked.
        IntegrationCheck = "integration.check",
        /// A messenger chat moved and its new id was stored.
        IntegrationChatMigrated = "integration.chat_migrated",
        /// A tenant's runtime settings were changed.
        RuntimeConfigUpdate = "runtime_config.update",
        /// A report job was started by hand.
        JobStart = "job.start",
        /// A job was asked to stop.
        JobStop = "job.stop",
        /// A report was built.
        ReportBuild = "report.build",
        /// A follow-up question was asked.
        ReportQuestion = "report.question",
        /// A report was sent again on request.
        ReportResend = "report.resend",
        /// A report's delivery failed for good.
        ReportDeliveryFailed = "report.delivery_failed",
        /// A report's delivery was cut off: whether it arrived is unknown.
        ReportDeliveryUnknown = "report.delivery_unknown",
    }
}

/// One audit entry. Entries outlive their tenant (the tenant becomes `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct AuditLog {
    /// Id.
    pub id: AuditId,
    /// The tenant concerned, if any.
    pub tenant_id: Option<TenantId>,
    /// Who acted, if a user did.
    pub actor_id: Option<UserId>,
    /// A dotted lowercase action name such as `integration.update` (an [`AuditAction`]'s
    /// text; kept as text so entries written by another version still read).
    pub action: String,
    /// What happened, for people.
    pub message: String,
    /// Details; never secret values (a JSON object).
    #[cfg_attr(feature = "store", sqlx(json))]
    pub metadata: Value,
    /// The client's address.
    pub ip_address: Option<String>,
    /// When it happened.
    pub created_at: Timestamp,
}

/// An audit entry to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditLog {
    /// The tenant concerned.
    pub tenant_id: Option<TenantId>,
    /// Who acted.
    pub actor_id: Option<UserId>,
    /// What happened.
    pub action: AuditAction,
    /// Human message.
    pub message: String,
    /// Details (a JSON object).
    pub metadata: Value,
    /// The client's address.
    pub ip_address: Option<IpAddr>,
}

impl NewAuditLog {
    /// An entry with no tenant, actor, metadata or address.
    pub fn new(action: AuditAction, message: impl Into<String>) -> Self {
        Self {
            tenant_id: None,
            actor_id: None,
            action,
            message: message.into(),
            metadata: Value::Object(Default::default()),
            ip_address: None,
        }
    }

    /// Checks the message and metadata.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_max("message", &self.message, 4_000)?;
        if !self.metadata.is_object() {
            return Err(ValidationError::new("metadata", "must be a JSON object"));
        }
        Ok(())
    }
}

/// Which audit entries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this tenant's entries.
    pub tenant_id: Option<TenantId>,
    /// Only this action.
    pub action: Option<String>,
    /// Only what this user did.
    pub actor_id: Option<UserId>,
    /// Only entries at or after this time.
    pub from: Option<Timestamp>,
    /// Only entries before this time.
    pub to: Option<Timestamp>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_dotted_lowercase_and_read_back() {
        for action in AuditAction::ALL {
            let text = action.as_str();
            let parts: Vec<&str> = text.split('.').collect();
            assert_eq!(parts.len(), 2, "{text}");
            assert!(parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
            assert_eq!(text.parse::<AuditAction>().unwrap(), *action);
        }
    }
}

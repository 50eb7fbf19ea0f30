//! The audit log.

use poem_openapi::Object;
use serde_json::Value;
use synkro_core::domain::AuditLog;
use time::OffsetDateTime;
use uuid::Uuid;

use super::at;

/// One audit entry.
#[derive(Debug, Object)]
pub struct AuditOut {
    /// Id.
    pub id: Uuid,
    /// The tenant concerned.
    pub tenant_id: Option<Uuid>,
    /// Who acted.
    pub actor_id: Option<Uuid>,
    /// Dotted action name such as `integration.update`.
    pub action: String,
    /// What happened.
    pub message: String,
    /// Details (never secret values).
    pub metadata: Value,
    /// The client's address.
    pub ip_address: Option<String>,
    /// When.
    pub created_at: OffsetDateTime,
}

impl From<AuditLog> for AuditOut {
    fn from(a: AuditLog) -> Self {
        Self {
            id: a.id.as_uuid(),
            tenant_id: a.tenant_id.map(|t| t.as_uuid()),
            actor_id: a.actor_id.map(|u| u.as_uuid()),
            action: a.action,
            message: a.message,
            metadata: a.metadata,
            ip_address: a.ip_address,
            created_at: at(a.created_at),
        }
    }
}

/// A page of audit entries.
#[derive(Debug, Object)]
pub struct AuditPage {
    /// Entries, newest first.
    pub items: Vec<AuditOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

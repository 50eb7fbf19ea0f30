//! Typed ids: one newtype over a UUID (v7, so ids sort by creation time) per entity.

use std::{fmt, str::FromStr};

use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "store", derive(sqlx::Type), sqlx(transparent))]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// Wraps an existing UUID.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = crate::ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self).map_err(|_| {
                    crate::ValidationError::new("id", format!("{s:?} is not a valid id (expected a UUID)"))
                })
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    )*};
}

typed_id! {
    /// Id of a [`Tenant`](crate::domain::Tenant).
    TenantId,
    /// Id of a [`User`](crate::domain::User).
    UserId,
    /// Id of a [`UserRole`](crate::domain::UserRole).
    RoleId,
    /// Id of an [`IntegrationConfig`](crate::domain::IntegrationConfig).
    IntegrationId,
    /// Id of a [`JobRun`](crate::domain::JobRun).
    JobId,
    /// Id of a [`JobRunEvent`](crate::domain::JobRunEvent).
    JobEventId,
    /// Id of a [`Report`](crate::domain::Report).
    ReportId,
    /// Id of a [`ReportMessage`](crate::domain::ReportMessage).
    ReportMessageId,
    /// Id of an [`AuditLog`](crate::domain::AuditLog) entry.
    AuditId,
    /// Id of an [`ApiToken`](crate::store::ApiToken).
    ApiTokenId,
}

//! The domain model: every entity of DESIGN.md section 3, with typed ids, enums for every
//! status, kind, role, mode and level, the documented defaults, and validation.
//!
//! `New*` types are what callers construct (validated on construction); the plain types are
//! what the store returns.

mod analytics;
mod audit;
mod integration;
mod job;
mod report;
mod runtime;
mod tenant;
mod user;

pub use analytics::{Analytics, DayFigures, HourFigures, ManagerFigures, SlowResponse, StageFigures, WaitingClient};
pub use audit::{AuditAction, AuditFilter, AuditLog, NewAuditLog};
pub use integration::{ConnectorKind, IntegrationConfig, IntegrationStatus, NewIntegrationConfig};
#[cfg(feature = "store")]
pub(crate) use job::check_progress;
pub use job::{EventLevel, JobRun, JobRunEvent, JobStatus, JobType, NewJobEvent, NewJobRun, TriggerType, Window};
pub use report::{
    AiOutcome, MessageSource, NewReport, NewReportMessage, Report, ReportFilter, ReportListItem, ReportMessage,
    ReportStatus, ReportTotals, ReportType, Summary,
};
pub use runtime::{
    Language, MAX_PROMPT_CHARS, ReportMode, RuntimeConfigChange, TenantRuntimeConfig, WeekDays, WorkingHours,
    parse_clock,
};
pub use tenant::{NewTenant, Slug, Tenant, TenantStatus, TenantUpdate};
pub use user::{NewUser, NewUserRole, PasswordHash, Role, User, UserProfile, UserRole, UserUpdate, check_password};

/// Declares a string-valued enum: snake_case names in JSON, in the database and in `Display`,
/// with `FromStr` errors that list the accepted values. A value may have old names after `|`,
/// still accepted as input (JSON, `FromStr`) but never written.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($field:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal $(| $alias:literal)*, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text $(, alias = $alias)*)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable text form used in JSON and in the database.
            pub const fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text $(| $alias)* => Ok($name::$variant),)+
                    _ => Err($crate::ValidationError::new(
                        $field,
                        format!("{s:?} is not one of: {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }

        #[cfg(feature = "store")]
        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        #[cfg(feature = "store")]
        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            &'static str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&'static str as sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }

        #[cfg(feature = "store")]
        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(value: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(text.parse::<$name>()?)
            }
        }
    };
}
pub(crate) use string_enum;

/// Implements sqlx `Type`/`Encode`/`Decode` for a newtype over `String` whose constructor
/// validates, by delegating to `String` (values read back were validated when written).
macro_rules! text_newtype_sql {
    ($name:ty, $as_str:ident, $from:expr) => {
        #[cfg(feature = "store")]
        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        #[cfg(feature = "store")]
        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            String: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <String as sqlx::Encode<'q, DB>>::encode(self.$as_str().to_owned(), buf)
            }
        }

        #[cfg(feature = "store")]
        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            String: sqlx::Decode<'r, DB>,
        {
            fn decode(value: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <String as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(($from)(text))
            }
        }
    };
}
pub(crate) use text_newtype_sql;

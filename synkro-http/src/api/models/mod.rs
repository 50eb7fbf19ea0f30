//! The API's request and response bodies (wire types, kept apart from the domain types).
//!
//! Request bodies derive both `Object` (for the document) and `Deserialize` (parsed by
//! [`JsonBody`](crate::body::JsonBody), which names the offending field); unknown fields are
//! refused so a typo is an error, not a silently ignored setting.

mod audit;
mod jobs;
mod people;
mod reports;
mod settings;
mod tenants;

pub use audit::*;
pub use jobs::*;
pub use people::*;
pub use reports::*;
pub use settings::*;
use synkro_core::time::Timestamp;
pub use tenants::*;
use time::OffsetDateTime;

pub(crate) fn at(t: Timestamp) -> OffsetDateTime {
    t.as_offset()
}

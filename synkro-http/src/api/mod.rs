//! The JSON API under `/api/v1`, described by poem-openapi.

pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod jobs;
pub mod models;
pub(crate) mod reports;
pub(crate) mod settings;
pub(crate) mod tenants;
pub(crate) mod tokens;
pub(crate) mod users;

use poem_openapi::{OpenApiService, Tags};
use synkro_core::{
    PageRequest,
    store::{Cursor, Page},
};

use crate::error::ApiResult;

/// Default page size of list endpoints.
pub const DEFAULT_LIMIT: u32 = 50;

#[derive(Tags)]
enum Tag {
    /// Signing in and out; the caller's password and profile.
    Auth,
    /// Personal API tokens for scripts.
    Tokens,
    /// Tenants.
    Tenants,
    /// Users and their roles.
    Users,
    /// Connectors, a tenant's integrations and runtime settings.
    Settings,
    /// Reports and follow-up questions.
    Reports,
    /// Report jobs: start, follow, stop.
    Jobs,
    /// The audit log.
    Audit,
}

/// The page asked for by `limit` (default 50, 1-200) and `cursor`.
pub(crate) fn page_request(limit: Option<u32>, cursor: Option<String>) -> ApiResult<PageRequest> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    let request = match cursor.filter(|c| !c.is_empty()) {
        Some(cursor) => PageRequest::after(limit, Cursor::parse(&cursor)?)?,
        None => PageRequest::first(limit)?,
    };
    Ok(request)
}

/// Maps a store page to the API's (items, next cursor).
pub(crate) fn map_page<T, U>(page: Page<T>, f: impl FnMut(T) -> U) -> (Vec<U>, Option<String>) {
    (page.items.into_iter().map(f).collect(), page.next_cursor.map(|c| c.to_string()))
}

type Apis = (
    auth::AuthApi,
    tokens::TokensApi,
    tenants::TenantsApi,
    users::UsersApi,
    settings::SettingsApi,
    reports::ReportsApi,
    jobs::JobsApi,
    audit::AuditApi,
);

/// The API's endpoints as an OpenAPI service (its document, Swagger UI and routes).
pub type Service = OpenApiService<Apis, ()>;

/// Builds the service. Handlers read the [`AppState`](crate::AppState) from the request data.
pub fn service() -> Service {
    OpenApiService::new(Apis::default(), "Synkro API", env!("CARGO_PKG_VERSION"))
        .description(
            "Daily AI management reports. Sign in with POST /auth/login: the session cookie \
             authenticates later requests, and every request other than GET must carry the session's \
             CSRF token in X-CSRF-Token. Scripts use a personal API token instead \
             (`Authorization: Bearer synkro_pat_...`, created with POST /auth/tokens), which needs no \
             CSRF token. Errors are JSON: {code, message, fields}. Objects of another tenant answer \
             404 exactly like missing ones.",
        )
        .server("/api/v1")
}

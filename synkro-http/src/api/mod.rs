//! The JSON API under `/api/v1`, described by poem-openapi.

mod auth;
mod jobs;
pub mod models;
mod tenants;

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
    /// Signing in and out.
    Auth,
    /// Tenants the caller can see.
    Tenants,
    /// Reports and follow-up questions.
    Reports,
    /// Report jobs: start, follow, stop.
    Jobs,
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

/// The API's endpoints as an OpenAPI service (its document, Swagger UI and routes).
pub type Service = OpenApiService<(auth::AuthApi, tenants::TenantsApi, tenants::ReportsApi, jobs::JobsApi), ()>;

/// Builds the service. Handlers read the [`AppState`](crate::AppState) from the request data.
pub fn service() -> Service {
    let apis = (auth::AuthApi, tenants::TenantsApi, tenants::ReportsApi, jobs::JobsApi);
    OpenApiService::new(apis, "Synkro API", env!("CARGO_PKG_VERSION"))
        .description(
            "Daily AI management reports. Sign in with POST /auth/login; the session cookie \
             authenticates later requests, and every request other than GET must carry the session's \
             CSRF token in X-CSRF-Token. Errors are JSON: {code, message, fields}.",
        )
        .server("/api/v1")
}

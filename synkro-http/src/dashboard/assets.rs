//! The dashboard's files, embedded in the binary and served under content-hashed names (cached
//! for a year: a new build changes the name, never the content behind one).

use std::sync::OnceLock;

use poem::{Response, handler, http::header, web::Path};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// One embedded file.
pub(crate) struct Asset {
    stem: &'static str,
    extension: &'static str,
    content_type: &'static str,
    body: &'static str,
    path: OnceLock<String>,
}

impl Asset {
    const fn new(stem: &'static str, extension: &'static str, content_type: &'static str, body: &'static str) -> Self {
        Self { stem, extension, content_type, body, path: OnceLock::new() }
    }

    /// Where the page links it: `/assets/<stem>-<hash>.<extension>`.
    pub(crate) fn path(&self) -> &str {
        self.path.get_or_init(|| {
            let hash = hex::encode(Sha256::digest(self.body.as_bytes()));
            format!("/assets/{}-{}.{}", self.stem, &hash[..12], self.extension)
        })
    }
}

/// The stylesheet.
pub(crate) static CSS: Asset =
    Asset::new("app", "css", "text/css; charset=utf-8", include_str!("../../assets/app.css"));
/// The live log and small enhancements.
pub(crate) static APP_JS: Asset =
    Asset::new("app", "js", "text/javascript; charset=utf-8", include_str!("../../assets/app.js"));
/// htmx 4.0.1 (Zero-Clause BSD; see assets/README.md).
pub(crate) static HTMX: Asset =
    Asset::new("htmx", "js", "text/javascript; charset=utf-8", include_str!("../../assets/htmx.min.js"));

static ALL: [&Asset; 3] = [&CSS, &APP_JS, &HTMX];

#[handler]
pub(crate) fn asset(name: Path<String>) -> Response {
    let wanted = format!("/assets/{}", name.0);
    let Some(asset) = ALL.iter().find(|a| a.path() == wanted) else {
        return poem::Error::from(ApiError::NotFound("asset")).into_response();
    };
    Response::builder()
        .content_type(asset.content_type)
        .header(header::CACHE_CONTROL, "public, max-age=31536000, immutable")
        .body(asset.body)
}

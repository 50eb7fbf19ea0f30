//! [`ReadOnlyClient`]: the only way a connector reaches a read-only service (amoCRM).

use serde::de::DeserializeOwned;
use synkro_core::connector::ConnectorError;

use crate::client::{HttpClient, HttpResponse, Method, RequestSpec};

/// A client that can only send GET requests. It has no method for any other verb and never
/// hands out the [`HttpClient`] inside it, so a write to the service does not compile:
///
/// ```compile_fail
/// fn write(client: &synkro_connector_kit::ReadOnlyClient) {
///     let _ = client.post("/api/v4/leads");
/// }
/// ```
///
/// ```compile_fail
/// fn smuggle(client: synkro_connector_kit::ReadOnlyClient) -> synkro_connector_kit::HttpClient {
///     client.http
/// }
/// ```
#[derive(Clone, Debug)]
pub struct ReadOnlyClient {
    http: HttpClient,
    base_url: String,
}

/// A GET request under construction: query and headers only, no body.
#[derive(Clone, Debug)]
pub struct GetRequest {
    spec: RequestSpec,
}

impl GetRequest {
    /// Adds a query parameter.
    pub fn query(mut self, name: impl Into<String>, value: impl ToString) -> Self {
        self.spec = self.spec.query(name, value);
        self
    }

    /// Adds a header (e.g. `Authorization`).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.spec = self.spec.header(name, value);
        self
    }
}

impl ReadOnlyClient {
    /// Wraps `http`; every request goes to `base_url` + path.
    pub fn new(http: HttpClient, base_url: impl Into<String>) -> Self {
        Self { http, base_url: base_url.into().trim_end_matches('/').to_owned() }
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Starts a GET of `path` (relative to the base URL), or of an absolute URL that starts
    /// with the base URL (such as a `_links.next.href`). Any other absolute URL is refused, so
    /// a link in a response cannot send our credentials elsewhere.
    pub fn get(&self, path_or_url: &str) -> Result<GetRequest, ConnectorError> {
        let url = if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            if !path_or_url.starts_with(&self.base_url) {
                return Err(ConnectorError::new(
                    synkro_core::connector::FailureClass::Upstream,
                    format!("refusing to follow a link outside {}: {}", self.base_url, self.http.redact(path_or_url)),
                ));
            }
            path_or_url.to_owned()
        } else {
            format!("{}/{}", self.base_url, path_or_url.trim_start_matches('/'))
        };
        let (url, query) = split_query(&url);
        let mut spec = RequestSpec::new(Method::GET, url);
        spec.query = query;
        Ok(GetRequest { spec })
    }

    /// Sends a GET; returns 2xx responses (including 204 No Content).
    pub async fn send(&self, request: GetRequest) -> Result<HttpResponse, ConnectorError> {
        self.http.send(request.spec).await
    }

    /// Sends a GET and parses the body as JSON, or `None` for an empty 204 answer.
    pub async fn send_json<T: DeserializeOwned>(&self, request: GetRequest) -> Result<Option<T>, ConnectorError> {
        self.http
            .send_parsed(request.spec, |resp| match resp.status {
                204 => Ok(None),
                _ if resp.body.iter().all(u8::is_ascii_whitespace) => Ok(None),
                _ => resp.json().map(Some),
            })
            .await
    }

    /// Strips registered secrets from `text`.
    pub fn redact(&self, text: &str) -> String {
        self.http.redact(text)
    }
}

/// Splits `url?a=1&b=2` into the URL and its decoded query pairs.
fn split_query(url: &str) -> (String, Vec<(String, String)>) {
    match url.split_once('?') {
        None => (url.to_owned(), Vec::new()),
        Some((base, query)) => {
            let pairs =
                url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            (base.to_owned(), pairs)
        }
    }
}

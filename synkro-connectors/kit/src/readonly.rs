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

    /// Starts a GET of `path` (relative to the base URL), or of an absolute URL on the base
    /// URL's own origin (such as a `_links.next.href`): the parsed scheme, host and port must
    /// be the base URL's, the path must be under its path, and the link may carry no user
    /// name. Any other absolute URL is refused, so a link in a response cannot send our
    /// credentials elsewhere (`https://acme.amocrm.ru.evil.com/` and
    /// `https://acme.amocrm.ru@evil.com/` share the base URL's first characters, not its host).
    pub fn get(&self, path_or_url: &str) -> Result<GetRequest, ConnectorError> {
        let url = if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            if !self.same_origin(path_or_url) {
                return Err(ConnectorError::new(
                    synkro_core::connector::FailureClass::Upstream,
                    format!("refusing to follow a link outside {}", self.base_url),
                )
                .with_retryable(false));
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

    /// Whether absolute `link` is on the base URL's origin and under its path.
    fn same_origin(&self, link: &str) -> bool {
        let (Ok(base), Ok(link)) = (url::Url::parse(&self.base_url), url::Url::parse(link)) else { return false };
        link.scheme() == base.scheme()
            && link.host() == base.host()
            && link.port_or_known_default() == base.port_or_known_default()
            && link.username().is_empty()
            && link.password().is_none()
            && link.path().starts_with(base.path().trim_end_matches('/'))
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

#[cfg(test)]
mod tests {

    use synkro_core::connector::ConnectorContext;

    use super::*;

    fn client(base: &str) -> ReadOnlyClient {
        let ctx = ConnectorContext::default();
        ReadOnlyClient::new(HttpClient::new("amocrm", &ctx).expect("a client"), base)
    }

    #[test]
    fn links_are_followed_only_on_the_base_urls_own_origin() {
        let amo = client("https://acme.amocrm.ru");
        for evil in [
            "https://acme.amocrm.ru.evil.com/api/v4/leads?page=2",
            "https://acme.amocrm.ru@evil.com/api/v4/leads?page=2",
            "https://acme.amocrm.ru:444/api/v4/leads",
            "http://acme.amocrm.ru/api/v4/leads",
            "https://user@acme.amocrm.ru/api/v4/leads",
            "https://evil.com/https://acme.amocrm.ru/",
        ] {
            let refused = amo.get(evil).err().unwrap_or_else(|| panic!("{evil} was followed"));
            assert!(!refused.retryable, "{evil}");
        }
        let next = amo.get("https://acme.amocrm.ru:443/api/v4/leads?page=2&limit=250").expect("same origin");
        assert_eq!(next.spec.url, "https://acme.amocrm.ru:443/api/v4/leads");
        assert_eq!(next.spec.query, vec![("page".into(), "2".into()), ("limit".into(), "250".into())]);

        let sandbox = client("http://127.0.0.1:9000/amocrm");
        assert!(sandbox.get("http://127.0.0.1:9000/amocrm/api/v4/leads").is_ok());
        assert!(sandbox.get("http://127.0.0.1:9000/other/api/v4/leads").is_err(), "outside the base path");
    }
}

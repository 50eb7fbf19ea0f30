//! [`TokenEndpoint`]: the one non-GET request a read-only connector may make, an OAuth token
//! exchange, confined to a token URL.

use serde::de::DeserializeOwned;
use synkro_core::connector::{ConnectorError, FailureClass};

use crate::client::{HttpClient, Method, RequestSpec};

/// Posts OAuth token requests to one URL whose path ends in `/oauth2/access_token` (or
/// `/token`) and nothing else: it cannot reach a read-only service's data endpoints.
#[derive(Clone, Debug)]
pub struct TokenEndpoint {
    http: HttpClient,
    url: String,
}

impl TokenEndpoint {
    /// A token endpoint at `url`; refuses URLs that are not token endpoints.
    pub fn new(http: HttpClient, url: impl Into<String>) -> Result<Self, ConnectorError> {
        let url = url.into();
        let path = url.split('?').next().unwrap_or_default();
        if !(path.ends_with("/oauth2/access_token") || path.ends_with("/token")) {
            return Err(ConnectorError::new(FailureClass::Config, format!("{path} is not an OAuth token endpoint")));
        }
        Ok(Self { http, url })
    }

    /// Exchanges `request` (a JSON object such as a refresh-token grant) for a token response.
    pub async fn exchange<T: DeserializeOwned>(&self, request: serde_json::Value) -> Result<T, ConnectorError> {
        self.http.send_json(RequestSpec::new(Method::POST, self.url.clone()).json(request)).await
    }
}

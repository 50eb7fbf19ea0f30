//! The Radist client: GET requests with the `X-Api-Key` header under the account's rate budget,
//! the company the key reads, and Radist's own reading of error answers.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use synkro_connector_kit::{HttpClient, HttpResponse, Method, RequestSpec, default_classify};
use synkro_core::{
    Secret,
    connector::{ChatMessage, ConnectorContext, ConnectorError, FailureClass, Rate},
};
use tokio::sync::OnceCell;

use crate::{
    config::RadistConfig,
    model::{ChatSource, Company, ContactsPage, List, Message},
};

/// Radist publishes no limit; 5 requests per second per key is a conservative budget.
pub(crate) const RADIST_RATE: Rate = Rate::per_second(5.0);

/// Page size of every list request (the largest seen in use).
pub(crate) const PAGE_LIMIT: usize = 100;

/// Most company pages searched for a configured company.
const MAX_COMPANY_PAGES: usize = 20;

pub(crate) struct RadistClient {
    http: HttpClient,
    base_url: String,
    api_key: Secret,
    configured_company: Option<i64>,
    discovered_company: OnceCell<i64>,
}

impl RadistClient {
    pub(crate) fn new(config: &RadistConfig, ctx: &ConnectorContext) -> Result<Self, ConnectorError> {
        let http = HttpClient::new("radist", ctx)?
            .with_rate(config.rate_key(), RADIST_RATE)
            .with_secrets(config.secrets())
            .with_classifier(Arc::new(classify));
        Ok(Self {
            http,
            base_url: config.base_url.clone(),
            api_key: config.api_key.clone(),
            configured_company: config.company_id,
            discovered_company: OnceCell::new(),
        })
    }

    fn request(&self, path: &str, query: &[(&str, String)]) -> RequestSpec {
        let mut request = RequestSpec::new(Method::GET, format!("{}{path}", self.base_url))
            .header("X-Api-Key", self.api_key.expose());
        for (name, value) in query {
            request = request.query(*name, value);
        }
        request
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, ConnectorError> {
        self.http.send_json(self.request(path, query)).await
    }

    /// The configured company (searched page by page), or the first company the key sees.
    pub(crate) async fn find_company(&self) -> Result<Company, ConnectorError> {
        for page in 0..MAX_COMPANY_PAGES {
            let query = [("limit", PAGE_LIMIT.to_string()), ("offset", (page * PAGE_LIMIT).to_string())];
            let companies = self.get::<List<Company>>("/companies/", &query).await?.into_vec();
            let count = companies.len();
            let found = match self.configured_company {
                Some(id) => companies.into_iter().find(|c| c.id == id),
                None => companies.into_iter().next(),
            };
            if let Some(company) = found {
                return Ok(company);
            }
            if count < PAGE_LIMIT {
                break;
            }
        }
        Err(match self.configured_company {
            Some(id) => ConnectorError::config("company_id", format!("company {id} is not visible to this API key"))
                .with_hint("check company_id, or leave it empty to use the first company the API key can see"),
            None => ConnectorError::new(FailureClass::Config, "the API key sees no Radist company")
                .with_hint("create the API key inside the Radist company whose chats Synkro should read"),
        })
    }

    /// The company to read: configured, or discovered once per client.
    pub(crate) async fn company_id(&self) -> Result<i64, ConnectorError> {
        if let Some(id) = self.configured_company {
            return Ok(id);
        }
        self.discovered_company.get_or_try_init(|| async { Ok(self.find_company().await?.id) }).await.copied()
    }

    /// The company's chat sources (connections).
    pub(crate) async fn sources(&self, company: i64) -> Result<Vec<ChatSource>, ConnectorError> {
        let path = format!("/companies/{company}/messaging/chats/sources/");
        Ok(self.get::<List<ChatSource>>(&path, &[]).await?.into_vec())
    }

    /// One page of contacts with their chats, most recently active first.
    pub(crate) async fn contacts(&self, company: i64, cursor: Option<&str>) -> Result<ContactsPage, ConnectorError> {
        let path = format!("/companies/{company}/messaging/chats/with_contacts/");
        let mut query = vec![("limit", PAGE_LIMIT.to_string())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        self.get(&path, &query).await
    }

    /// One page of a chat's messages, newest first, optionally only those up to `until`
    /// (Radist's time format). A message with an unreadable time makes the page malformed.
    pub(crate) async fn messages(
        &self,
        company: i64,
        chat_id: &str,
        until: Option<&str>,
    ) -> Result<Vec<ChatMessage>, ConnectorError> {
        let path = format!("/companies/{company}/messaging/messages/");
        let mut query = vec![("chat_id", chat_id.to_owned()), ("limit", PAGE_LIMIT.to_string())];
        if let Some(until) = until {
            query.push(("until", until.to_owned()));
        }
        let parse = |resp: &HttpResponse| {
            resp.json::<List<Message>>()?.into_vec().into_iter().map(Message::into_chat_message).collect()
        };
        self.http.send_parsed(self.request(&path, &query), parse).await
    }
}

/// Radist's own reading of error answers; everything but 401 and 403 is read the shared way.
fn classify(resp: &HttpResponse) -> Option<ConnectorError> {
    let hint = match resp.status {
        401 => "Radist refused the API key: check api_key in the Radist settings (it may be mistyped or revoked)",
        403 => "the Radist API key lacks access: it needs the messaging scope (create a key with the messaging scope)",
        _ => return None,
    };
    Some(ConnectorError { retryable: false, ..default_classify(resp) }.with_hint(hint))
}

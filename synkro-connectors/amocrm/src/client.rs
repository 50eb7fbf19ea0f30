//! The amoCRM client: GET-only requests with the current bearer token, and OAuth rotation (one
//! refresh at a time, new pair persisted before use).

use std::sync::Arc;

use serde::de::DeserializeOwned;
use synkro_connector_kit::{HttpClient, ReadOnlyClient, TokenEndpoint};
use synkro_core::{
    Secret,
    connector::{ConnectorContext, ConnectorError, FailureClass, KeyedLocks, Rate, TokenSink},
    secrets::SecretMap,
};
use tokio::sync::RwLock;

use crate::{
    config::{AmoConfig, Auth},
    model::TokenResponse,
};

/// amoCRM allows at most 7 requests per second per account.
pub(crate) const AMOCRM_RATE: Rate = Rate::per_second(7.0);

/// Refresh when less than this is left on the access token.
const REFRESH_MARGIN_SECS: i64 = 300;

pub(crate) struct AmoClient {
    api: ReadOnlyClient,
    tokens: TokenManager,
}

struct TokenManager {
    auth: RwLock<Auth>,
    locks: Arc<KeyedLocks>,
    lock_key: String,
    endpoint: TokenEndpoint,
    sink: Arc<dyn TokenSink>,
}

fn now_secs() -> i64 {
    jiff::Timestamp::now().as_second()
}

impl AmoClient {
    pub(crate) fn new(config: &AmoConfig, ctx: &ConnectorContext) -> Result<Self, ConnectorError> {
        let http = HttpClient::new("amocrm", ctx)?
            .with_rate(format!("amocrm:{}", config.host), AMOCRM_RATE)
            .with_secrets(config.secrets())
            .with_classifier(Arc::new(classify));
        let token_http = HttpClient::new("amocrm", ctx)?.with_secrets(config.secrets());
        let endpoint = TokenEndpoint::new(token_http, format!("{}/oauth2/access_token", config.oauth_url))?;
        Ok(Self {
            api: ReadOnlyClient::new(http, config.base_url.clone()),
            tokens: TokenManager {
                auth: RwLock::new(config.auth.clone()),
                locks: ctx.locks.clone(),
                lock_key: format!("amocrm-refresh:{}", config.host),
                endpoint,
                sink: ctx.tokens.clone(),
            },
        })
    }

    /// GETs `path` (with `query`) as JSON; `None` for amoCRM's empty answer (204). An OAuth
    /// token refused with 401 is refreshed once and the request repeated.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Option<T>, ConnectorError> {
        let mut refreshed = false;
        loop {
            let token = self.tokens.bearer().await?;
            let mut request = self.api.get(path)?.header("Authorization", format!("Bearer {}", token.expose()));
            for (name, value) in query {
                request = request.query(*name, value);
            }
            match self.api.send_json(request).await {
                Err(e) if e.class == FailureClass::Auth && !refreshed && self.tokens.is_oauth().await => {
                    self.tokens.refresh(&token).await?;
                    refreshed = true;
                }
                other => return other,
            }
        }
    }
}

impl TokenManager {
    async fn is_oauth(&self) -> bool {
        matches!(*self.auth.read().await, Auth::OAuth { .. })
    }

    /// The token to send now, refreshing first when it is about to expire.
    async fn bearer(&self) -> Result<Secret, ConnectorError> {
        let (token, expiring) = match &*self.auth.read().await {
            Auth::LongLived(token) => return Ok(token.clone()),
            Auth::OAuth { access_token, expires_at, .. } => {
                (access_token.clone(), expires_at.is_some_and(|at| at - now_secs() < REFRESH_MARGIN_SECS))
            }
        };
        if expiring {
            self.refresh(&token).await?;
            return match &*self.auth.read().await {
                Auth::OAuth { access_token, .. } | Auth::LongLived(access_token) => Ok(access_token.clone()),
            };
        }
        Ok(token)
    }

    /// Replaces the pair unless another task or instance already did since `seen` was read
    /// (refresh tokens are single-use). The new pair reaches the sink before anything uses it.
    async fn refresh(&self, seen: &Secret) -> Result<(), ConnectorError> {
        let _one_at_a_time = self.locks.lock(&self.lock_key).await;
        if let Some(latest) = self.sink.latest().await? {
            self.adopt(&latest).await;
        }
        let (client_id, client_secret, refresh_token, redirect_uri) = match &*self.auth.read().await {
            Auth::LongLived(_) => return Ok(()),
            Auth::OAuth { access_token, .. } if access_token != seen => return Ok(()),
            Auth::OAuth { client_id, client_secret, refresh_token, redirect_uri, .. } => {
                (client_id.clone(), client_secret.clone(), refresh_token.clone(), redirect_uri.clone())
            }
        };
        let request = serde_json::json!({
            "client_id": client_id,
            "client_secret": client_secret.expose(),
            "grant_type": "refresh_token",
            "refresh_token": refresh_token.expose(),
            "redirect_uri": redirect_uri,
        });
        let fresh: TokenResponse = self.endpoint.exchange(request).await.map_err(|e| {
            let e = if matches!(e.status, Some(400 | 401)) {
                ConnectorError { class: FailureClass::Auth, retryable: false, ..e }
            } else {
                e
            };
            e.with_hint("amoCRM refused the refresh token: reconnect the integration to get a new token pair")
        })?;
        let expires_at = fresh.expires_in.map(|s| now_secs() + s);
        let mut secrets = SecretMap::new();
        secrets.insert("access_token", Secret::new(fresh.access_token.clone()));
        secrets.insert("refresh_token", Secret::new(fresh.refresh_token.clone()));
        secrets.insert("client_secret", client_secret.clone());
        if let Some(at) = expires_at {
            secrets.insert("expires_at", Secret::new(at.to_string()));
        }
        self.sink.store(&secrets).await?;
        tracing::info!("amoCRM OAuth tokens refreshed and stored");
        *self.auth.write().await = Auth::OAuth {
            access_token: Secret::new(fresh.access_token),
            refresh_token: Secret::new(fresh.refresh_token),
            expires_at,
            client_id,
            client_secret,
            redirect_uri,
        };
        Ok(())
    }
}

impl TokenManager {
    /// Takes over a newer pair stored by another instance.
    async fn adopt(&self, latest: &SecretMap) {
        let mut auth = self.auth.write().await;
        if let Auth::OAuth { access_token, refresh_token, expires_at, .. } = &mut *auth
            && let (Some(access), Some(refresh)) = (latest.get("access_token"), latest.get("refresh_token"))
        {
            *access_token = access.clone();
            *refresh_token = refresh.clone();
            *expires_at = latest.get("expires_at").and_then(|v| v.expose().parse().ok());
        }
    }
}

/// amoCRM's own reading of error answers, before the shared one.
fn classify(resp: &synkro_connector_kit::HttpResponse) -> Option<ConnectorError> {
    let base = synkro_connector_kit::default_classify(resp);
    let hint = match resp.status {
        401 => "amoCRM refused the token: check that it belongs to this account and has not expired or been revoked",
        402 => "the amoCRM account is unpaid or blocked",
        403 => "amoCRM refused access: the account may restrict API access by IP, or the token's user lacks rights",
        404 => "amoCRM has no such account: check the domain",
        _ => return None,
    };
    let class = if resp.status == 402 { FailureClass::Permission } else { base.class };
    Some(ConnectorError { class, retryable: false, ..base }.with_hint(hint))
}

//! [`HttpClient`]: timeouts, retries with backoff and jitter, server delay hints, pacing per
//! account, counters per connector kind and redaction, for every connector.

use std::{sync::Arc, time::Instant};

pub use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use synkro_core::{
    Secret,
    connector::{
        ConnectorContext, ConnectorError, ConnectorMetrics, FailureClass, HttpSettings, OutboundPolicy,
        OutboundRefusal, Rate, RateLimiter,
    },
};

use crate::{
    guard::GuardedResolver,
    redact::Redactor,
    retry::{backoff_delay, parse_retry_after},
};

/// One request to send (and, on retryable failures, send again).
#[derive(Clone, Debug)]
pub struct RequestSpec {
    /// HTTP method.
    pub method: Method,
    /// Absolute URL without the query string.
    pub url: String,
    /// Query parameters, in order (repeated names allowed).
    pub query: Vec<(String, String)>,
    /// Extra headers. Values may be secret: they are never logged.
    pub headers: Vec<(String, String)>,
    /// A JSON body.
    pub json: Option<serde_json::Value>,
    /// Non-2xx statuses to hand back as responses instead of errors (e.g. 204 handled by
    /// the caller is 2xx anyway; a connector that reads a 400's body lists 400 here).
    pub accept: Vec<u16>,
}

impl RequestSpec {
    /// A request with `method` to `url`.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self { method, url: url.into(), query: Vec::new(), headers: Vec::new(), json: None, accept: Vec::new() }
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: impl Into<String>, value: impl ToString) -> Self {
        self.query.push((name.into(), value.to_string()));
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets a JSON body.
    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.json = Some(body);
        self
    }

    /// Hands responses with `status` back instead of turning them into errors.
    pub fn accept(mut self, status: u16) -> Self {
        self.accept.push(status);
        self
    }
}

/// A response read to the end.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body parsed as JSON; a malformed body is a retryable upstream error. The error
    /// names where the body went wrong, never what it holds (serde's own message may quote it).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Io => "unreadable",
                serde_json::error::Category::Syntax => "not valid JSON",
                serde_json::error::Category::Data => "JSON of an unexpected shape",
                serde_json::error::Category::Eof => "cut short",
            };
            ConnectorError::new(
                FailureClass::Upstream,
                format!(
                    "malformed response body (HTTP {}): {what} at line {} column {}",
                    self.status,
                    e.line(),
                    e.column()
                ),
            )
        })
    }

    /// The body as text, lossily decoded.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A connector's own reading of an error response (e.g. OpenAI's `insufficient_quota`, which
/// is a 429 that must not be retried). Returning `None` falls back to [`default_classify`].
pub type Classifier = Arc<dyn Fn(&HttpResponse) -> Option<ConnectorError> + Send + Sync>;

/// The shared reading of an error status: 401 auth, 403 permission, 404 and other 4xx config
/// (not retryable), 408 network, 429 rate limited, 5xx upstream (both retryable), 3xx config
/// (redirects are never followed), with the server's delay hint when it gave one.
///
/// The message is the status and Synkro's own words, never the response body: a tenant who
/// pointed a URL somewhere else must not read that server's answers through Synkro. The body
/// goes to the server log at debug level, redacted ([`HttpClient`] does that).
pub fn default_classify(resp: &HttpResponse) -> ConnectorError {
    let (class, hint) = match resp.status {
        300..=399 => {
            (FailureClass::Config, "the service answered with a redirect, which Synkro does not follow: check the URL")
        }
        401 => (FailureClass::Auth, "check the credentials: they were refused"),
        403 => (FailureClass::Permission, "the credentials are valid but lack access (scope, role or IP allow-list)"),
        404 => (FailureClass::Config, "check the account, URL or id settings: the service has no such resource"),
        408 => (FailureClass::Network, "the service timed out; it will be retried"),
        429 => (FailureClass::RateLimited, "the service asked to slow down; it will be retried"),
        500..=599 => (FailureClass::Upstream, "the service failed; it will be retried"),
        400..=499 => (FailureClass::Config, "the service rejected the request; check the integration settings"),
        _ => (FailureClass::Upstream, "unexpected answer from the service"),
    };
    ConnectorError::new(class, format!("HTTP {}", resp.status))
        .with_hint(hint)
        .with_status(resp.status)
        .with_retry_after(parse_retry_after(&resp.headers))
}

/// The HTTP client every connector uses. Cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    kind: &'static str,
    settings: HttpSettings,
    limiter: Arc<dyn RateLimiter>,
    metrics: Arc<ConnectorMetrics>,
    rate: Option<(String, Rate)>,
    redactor: Redactor,
    classifier: Option<Classifier>,
    outbound: Arc<OutboundPolicy>,
}

impl HttpClient {
    /// A client for connector `kind` with the context's timeouts, limiter, counters and
    /// outbound policy: redirects are not followed, no `Referer` is sent, and only the
    /// addresses the policy allows are connected to (checked on the resolved addresses, so a
    /// name that resolves differently later gains nothing).
    ///
    /// Every client built from one context (and its clones: every job of an engine) shares one
    /// connection pool: building a TLS client costs milliseconds of CPU, which a report job
    /// would otherwise pay for each of its connectors, and jobs reuse each other's connections.
    pub fn new(kind: &'static str, ctx: &ConnectorContext) -> Result<Self, ConnectorError> {
        let inner = shared_client(ctx)?;
        Ok(Self {
            inner,
            kind,
            settings: ctx.http.clone(),
            limiter: ctx.rate_limiter.clone(),
            metrics: ctx.metrics.clone(),
            rate: None,
            redactor: Redactor::new(),
            classifier: None,
            outbound: ctx.outbound.clone(),
        })
    }

    /// Paces every request under `key` (name the upstream account, e.g. `amocrm:acme`) at
    /// `rate`.
    pub fn with_rate(mut self, key: impl Into<String>, rate: Rate) -> Self {
        self.rate = Some((key.into(), rate));
        self
    }

    /// Strips these secrets from every error and log line.
    pub fn with_secrets<'a>(mut self, secrets: impl IntoIterator<Item = &'a Secret>) -> Self {
        for secret in secrets {
            self.redactor.add(secret);
        }
        self
    }

    /// Reads error responses with `classifier` first.
    pub fn with_classifier(mut self, classifier: Classifier) -> Self {
        self.classifier = Some(classifier);
        self
    }

    /// The connector kind this client counts under.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Strips registered secrets from `text`.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// Sends `spec`, retrying retryable failures, and returns the response (2xx or accepted).
    pub async fn send(&self, spec: RequestSpec) -> Result<HttpResponse, ConnectorError> {
        self.send_parsed(spec, |resp| Ok(resp.clone())).await
    }

    /// Sends `spec` and parses a 2xx body as JSON; a malformed body is retried like a 5xx.
    pub async fn send_json<T: DeserializeOwned>(&self, spec: RequestSpec) -> Result<T, ConnectorError> {
        self.send_parsed(spec, HttpResponse::json).await
    }

    /// Sends `spec` and reads the response with `parse`, retrying when either the request or
    /// `parse` fails in a retryable way.
    pub async fn send_parsed<T>(
        &self,
        spec: RequestSpec,
        parse: impl Fn(&HttpResponse) -> Result<T, ConnectorError>,
    ) -> Result<T, ConnectorError> {
        let path = self.redactor.redact(spec.url.split('?').next().unwrap_or_default());
        let what = format!("{} {}", spec.method, path);
        let max = self.settings.max_attempts.max(1);
        for attempt in 1..=max {
            if let Some((key, rate)) = &self.rate {
                self.limiter.acquire(key, *rate).await;
            }
            self.metrics.record(self.kind, |c| c.requests += 1);
            let started = Instant::now();
            let outcome = match self.once(&spec).await {
                Ok(resp) if resp.is_success() || spec.accept.contains(&resp.status) => parse(&resp),
                Ok(resp) => Err(self.classify(&resp, &what)),
                Err(e) => Err(e),
            };
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let mut err = match outcome {
                Ok(value) => {
                    tracing::debug!(kind = self.kind, request = %what, attempt, elapsed_ms, "request done");
                    return Ok(value);
                }
                Err(err) => err,
            };
            err.message = self.redactor.redact(&format!("{what}: {}", err.message));
            let rate_limited = err.class == FailureClass::RateLimited;
            if rate_limited {
                self.metrics.record(self.kind, |c| c.rate_limited += 1);
            }
            let delay = err
                .retry_after
                .unwrap_or_else(|| backoff_delay(attempt, self.settings.backoff_base, self.settings.backoff_cap));
            if !err.retryable || attempt == max || delay > self.settings.backoff_cap {
                self.metrics.record(self.kind, |c| c.failures += 1);
                tracing::warn!(kind = self.kind, class = %err.class, attempt, error = %err.message, "request failed");
                return Err(err);
            }
            self.metrics.record(self.kind, |c| c.retries += 1);
            tracing::debug!(kind = self.kind, class = %err.class, attempt, delay_ms = delay.as_millis() as u64, error = %err.message, "retrying");
            match (&self.rate, rate_limited) {
                // Hold every request to this account, not only this one.
                (Some((key, _)), true) => self.limiter.penalize(key, delay).await,
                _ => tokio::time::sleep(delay).await,
            }
        }
        unreachable!("the loop returns on its last attempt")
    }

    async fn once(&self, spec: &RequestSpec) -> Result<HttpResponse, ConnectorError> {
        let url = reqwest::Url::parse(&spec.url).map_err(|e| {
            ConnectorError::new(FailureClass::Config, format!("the URL is not valid: {e}"))
                .with_hint("check the integration's URL settings")
        })?;
        self.outbound.check_url(&url).map_err(refused)?;
        let mut request = self.inner.request(spec.method.clone(), url).query(&spec.query);
        for (name, value) in &spec.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &spec.json {
            request = request.json(body);
        }
        let resp = request.send().await.map_err(network_error)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(network_error)?.to_vec();
        Ok(HttpResponse { status, headers, body })
    }

    /// Reads an error response; its body goes to the debug log only, redacted first and cut
    /// after.
    fn classify(&self, resp: &HttpResponse, what: &str) -> ConnectorError {
        if tracing::enabled!(tracing::Level::DEBUG) {
            let body = self.redactor.redact(&resp.text());
            let body: String = body.chars().take(2_000).collect();
            tracing::debug!(kind = self.kind, request = %what, status = resp.status, body = %body, "error response");
        }
        self.classifier.as_ref().and_then(|c| c(resp)).unwrap_or_else(|| default_classify(resp))
    }
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").field("kind", &self.kind).field("rate", &self.rate).finish_non_exhaustive()
    }
}

/// The context's reqwest client for its timeouts, built on first use and kept in the context's
/// shared cache.
fn shared_client(ctx: &ConnectorContext) -> Result<reqwest::Client, ConnectorError> {
    let key =
        format!("kit:reqwest-client:{:?}:{:?}:{}", ctx.http.connect_timeout, ctx.http.request_timeout, ctx.outbound);
    if let Some(client) = ctx.cache.get::<reqwest::Client>(&key, std::time::Duration::MAX) {
        return Ok((*client).clone());
    }
    let client = reqwest::Client::builder()
        .connect_timeout(ctx.http.connect_timeout)
        .timeout(ctx.http.request_timeout)
        .user_agent(concat!("synkro/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .dns_resolver(Arc::new(GuardedResolver::new(ctx.outbound.clone())))
        .build()
        .map_err(|e| ConnectorError::new(FailureClass::Config, format!("cannot build the HTTP client: {e}")))?;
    ctx.cache.put(&key, Arc::new(client.clone()));
    Ok(client)
}

/// A request the outbound policy refused: a setting to fix, not a failure to retry.
fn refused(refusal: OutboundRefusal) -> ConnectorError {
    ConnectorError::new(FailureClass::Config, format!("refused to connect: {refusal}"))
        .with_hint("point the integration at the service's public https address")
        .with_retryable(false)
}

/// A transport failure: never includes the URL (which may carry a token).
fn network_error(e: reqwest::Error) -> ConnectorError {
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        if let Some(refusal) = s.downcast_ref::<OutboundRefusal>() {
            return refused(refusal.clone());
        }
        source = s.source();
    }
    let what = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else if e.is_body() || e.is_decode() {
        "the connection broke while reading the response".to_owned()
    } else {
        let e = e.without_url();
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    };
    ConnectorError::new(FailureClass::Network, what).with_hint("the service could not be reached; it will be retried")
}

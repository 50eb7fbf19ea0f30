//! Synkro's HTTP layer: the JSON API under `/api/v1`, the web dashboard (`dashboard`),
//! authentication, the OpenAPI document and the operations endpoints.
//!
//! It holds no business rules: handlers call the pipeline and the store. See ARCHITECTURE.md.
//!
//! [`serve`] runs the server on an already-bound listener until a shutdown future resolves, so
//! tests can bind port 0; [`app`] is the endpoint itself, for poem's test client.

pub mod access;
pub mod api;
pub mod audit;
pub mod auth;
pub mod body;
pub mod charts;
pub mod config;
pub mod dashboard;
mod deadline;
pub mod encoded;
pub mod error;
pub mod limits;
pub mod net;
pub mod ops;
pub mod pages;
pub mod stream;

use std::{future::Future, sync::Arc, time::Duration};

use poem::{Endpoint, EndpointExt, Route, get, listener::TcpAcceptor};
use synkro_core::Store;
use synkro_pipeline::Service;

use crate::{auth::throttle::Throttle, ops::HttpMetrics};
pub use crate::{
    config::HttpConfig,
    error::{ApiError, ErrorBody},
};

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The service: the store, keyring and connectors, and every verb handlers call.
    pub service: Service,
    /// The HTTP settings.
    pub config: Arc<HttpConfig>,
    shared: Arc<Shared>,
}

struct Shared {
    throttle: Throttle,
    limits: limits::UserLimits,
    callers: auth::cache::CallerCache,
    profiles: auth::cache::Recent<synkro_core::ids::UserId, Option<synkro_core::domain::UserProfile>>,
    tenants: auth::cache::Recent<synkro_core::ids::TenantId, synkro_core::domain::Tenant>,
    pages: pages::PageCache,
    metrics: Arc<HttpMetrics>,
    closing: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    /// A state over `service`. Warns loudly when the TEMP_LOGIN fallback is on.
    pub fn new(service: Service, config: HttpConfig) -> Self {
        if let Some(temp) = &config.temp_login {
            tracing::warn!(
                username = %temp.username,
                "TEMP_LOGIN_USER and TEMP_LOGIN_PASSWORD are set: the fallback login is ON; every use is audited; \
                 unset both variables once a real superuser exists"
            );
        }
        let shared = Arc::new(Shared {
            throttle: Throttle::new(config.throttle),
            limits: limits::UserLimits::new(config.user_limits),
            callers: auth::cache::CallerCache::new(config.auth_cache_ttl),
            profiles: auth::cache::Recent::new(config.auth_cache_ttl),
            tenants: auth::cache::Recent::new(config.auth_cache_ttl),
            pages: pages::PageCache::new(config.report_list_cache_ttl),
            metrics: Arc::new(HttpMetrics::default()),
            closing: tokio::sync::watch::channel(false).0,
        });
        Self { service, config: Arc::new(config), shared }
    }

    /// The database.
    pub fn store(&self) -> &Store {
        self.service.store()
    }

    pub(crate) fn throttle(&self) -> &Throttle {
        &self.shared.throttle
    }

    pub(crate) fn limits(&self) -> &limits::UserLimits {
        &self.shared.limits
    }

    pub(crate) fn http_metrics(&self) -> &HttpMetrics {
        &self.shared.metrics
    }

    pub(crate) fn callers(&self) -> &auth::cache::CallerCache {
        &self.shared.callers
    }

    pub(crate) fn pages(&self) -> &pages::PageCache {
        &self.shared.pages
    }

    /// `user`'s profile, remembered like callers are (the dashboard reads it on every page).
    pub(crate) async fn profile(
        &self,
        user: synkro_core::ids::UserId,
    ) -> Result<Option<synkro_core::domain::UserProfile>, synkro_core::StoreError> {
        if let Some(profile) = self.shared.profiles.get(&user) {
            return Ok(profile);
        }
        let profile = self.store().get_profile(user).await?;
        self.shared.profiles.put(user, &profile);
        Ok(profile)
    }

    /// Tenant `id`, remembered like callers are (its name, status and time zone on pages).
    pub(crate) async fn tenant(
        &self,
        id: synkro_core::ids::TenantId,
    ) -> Result<synkro_core::domain::Tenant, synkro_core::StoreError> {
        if let Some(tenant) = self.shared.tenants.get(&id) {
            return Ok(tenant);
        }
        let tenant = self.store().get_tenant(id).await?;
        self.shared.tenants.put(id, &tenant);
        Ok(tenant)
    }

    /// Forgets tenant `id` here at once: call after changing it.
    pub(crate) fn forget_tenant(&self, id: synkro_core::ids::TenantId) {
        self.shared.tenants.forget(&id);
    }

    /// Makes every process-local memory of `user`'s sign-ins and profile stale at once: call
    /// after changing their sessions, tokens, roles, password, active flag or profile.
    pub fn forget_user(&self, user: synkro_core::ids::UserId) {
        self.shared.callers.forget_user(user);
        self.shared.profiles.forget(&user);
    }

    /// Like [`forget_user`](Self::forget_user) for everyone, and every remembered tenant.
    pub fn forget_all(&self) {
        self.shared.callers.clear();
        self.shared.profiles.clear();
        self.shared.tenants.clear();
    }

    /// Turns true when the server starts shutting down (live streams end then).
    pub(crate) fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shared.closing.subscribe()
    }
}

/// The OpenAPI document (JSON), as served at `/api/v1/openapi.json`.
pub fn openapi_json() -> String {
    api::service().spec()
}

/// Every route of [`app`] as a template, for request metrics: the ops routes, the document,
/// and each path of the API's OpenAPI document under `/api/v1`.
fn route_templates(spec: &str) -> ops::RouteTemplates {
    let document: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
    let api: Vec<String> = document["paths"]
        .as_object()
        .map(|paths| paths.keys().map(|path| format!("/api/v1{path}")).collect())
        .unwrap_or_default();
    let fixed = ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"];
    let fixed = fixed.into_iter().chain(dashboard::PATHS);
    ops::RouteTemplates::new(fixed.chain(api.iter().map(String::as_str)), ["/api/docs"])
}

/// The whole server as one endpoint: the API, its document and viewer, the dashboard and the ops
/// routes.
pub fn app(state: AppState) -> impl Endpoint + 'static {
    let service = api::service();
    let service_spec = service.spec();
    let spec = service.spec_endpoint();
    #[cfg(feature = "swagger")]
    let docs = service.swagger_ui();
    let route = Route::new()
        .at("/healthz", get(ops::healthz))
        .at("/readyz", get(ops::readyz))
        .at("/metrics", get(ops::prometheus))
        .at("/api/v1/openapi.json", spec)
        .nest("/api/v1", service);
    let route = dashboard::routes(route);
    #[cfg(feature = "swagger")]
    let route = route.nest("/api/docs", docs);
    let metrics = state.shared.metrics.clone();
    let routes = Arc::new(route_templates(&service_spec));
    let limit = state.config.body_limit;
    route.data(state).around(move |ep, req| ops::observe(ep, req, metrics.clone(), routes.clone(), limit))
}

/// Serves [`app`] on `listener` until `shutdown` resolves, then lets running requests finish
/// (for at most 30 seconds). Expired sessions are deleted hourly meanwhile.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = deadline::HeaderDeadlineAcceptor {
        inner: TcpAcceptor::from_tokio(listener)?,
        limit: state.config.header_read_timeout,
    };
    let sweeper = tokio::spawn(sweep_sessions(state.store().clone()));
    let pages = tokio::spawn(forget_changed_pages(state.clone()));
    let refusals = tokio::spawn(summarize_login_refusals(state.clone()));
    let last_refusals = state.clone();
    let shared = state.shared.clone();
    let shutdown = async move {
        shutdown.await;
        shared.closing.send_replace(true);
    };
    let served = poem::Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app(state), shutdown, Some(Duration::from_secs(30)))
        .await;
    sweeper.abort();
    pages.abort();
    refusals.abort();
    auth::audit_refusals(&last_refusals).await;
    served
}

/// Every minute: one audit entry per throttle key for the login attempts it held back, and
/// counters whose window has passed deleted.
async fn summarize_login_refusals(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.tick().await;
    loop {
        tick.tick().await;
        auth::audit_refusals(&state).await;
        if let Err(e) = state.throttle().forget_stale(state.store()).await {
            tracing::warn!(error = %e, "cannot delete old login counters");
        }
    }
}

/// Forgets a tenant's cached report pages whenever one of its jobs finishes (here or, with
/// Redis, on any node).
async fn forget_changed_pages(state: AppState) {
    let mut updates = state.service.subscribe();
    loop {
        match updates.recv().await {
            Ok(update) if update.status.is_finished() => state.pages().forget_tenant(update.tenant_id),
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => state.pages().clear(),
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Deletes sessions that expired more than a day ago, every hour.
async fn sweep_sessions(store: Store) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let cutoff = synkro_core::time::Timestamp::from_unix_seconds(
            synkro_core::time::Timestamp::now().unix_seconds() - 86_400,
        );
        if let Some(cutoff) = cutoff
            && let Err(e) = store.delete_expired_sessions(cutoff).await
        {
            tracing::warn!(error = %e, "cannot delete expired sessions");
        }
    }
}

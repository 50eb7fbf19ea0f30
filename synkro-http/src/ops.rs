//! Operations: `/healthz`, `/readyz`, `/metrics`, and the middleware every request passes
//! (body size limit, JSON errors, request counters).

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{Arc, Mutex},
};

use poem::{
    Body, Endpoint, IntoResponse, Request, Response, handler,
    http::StatusCode,
    web::{Data, Json},
};
use synkro_core::{
    store::{AlertKind, AlertState, DeliveryState},
    time::Timestamp,
};

use crate::{
    AppState,
    error::{ApiError, to_json_error},
};

/// Most distinct (method, route, status) series kept, a safety net only: routes are templates,
/// so the real number is bounded by routes × methods × statuses; later ones count under `other`.
const MAX_SERIES: usize = 2_000;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// A series: (method, route, status).
type SeriesKey = (String, String, u16);

/// Requests answered, seconds spent and how many took at most each bucket's bound.
#[derive(Debug, Clone, Copy, Default)]
struct SeriesValue {
    count: u64,
    seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

/// HTTP request counters and a latency histogram by method, route and status.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    counts: Mutex<BTreeMap<SeriesKey, SeriesValue>>,
}

impl HttpMetrics {
    fn record(&self, method: &str, route: String, status: u16, seconds: f64) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let full = counts.len() >= MAX_SERIES;
        let key = (method.to_owned(), route, status);
        let key = if full && !counts.contains_key(&key) { (key.0, "other".to_owned(), status) } else { key };
        let entry = counts.entry(key).or_default();
        entry.count += 1;
        entry.seconds += seconds;
        for (bucket, bound) in entry.buckets.iter_mut().zip(BUCKETS) {
            *bucket += u64::from(seconds <= bound);
        }
    }

    fn snapshot(&self) -> Vec<(SeriesKey, SeriesValue)> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

/// The label of every request whose path matches no route.
pub const UNMATCHED: &str = "unmatched";

/// The server's route templates (`/api/v1/jobs/{id}/events`), which label request metrics: a
/// path is counted under the template it matches, or under [`UNMATCHED`], so no request can
/// add a series of its own.
#[derive(Debug, Clone, Default)]
pub struct RouteTemplates {
    /// Each template, split into segments; `None` stands for a `{parameter}`.
    templates: Vec<(String, Vec<Option<String>>)>,
    /// Prefixes served whole (the API viewer's files).
    prefixes: Vec<String>,
}

impl RouteTemplates {
    /// Templates from `paths` (as the OpenAPI document writes them, `{name}` for a parameter)
    /// and `prefixes` under which every path counts as the prefix.
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>, prefixes: impl IntoIterator<Item = &'a str>) -> Self {
        let templates = paths
            .into_iter()
            .map(|path| {
                let segments =
                    segments(path).map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned())).collect();
                (path.to_owned(), segments)
            })
            .collect();
        Self { templates, prefixes: prefixes.into_iter().map(str::to_owned).collect() }
    }

    /// The template `path` matches, or [`UNMATCHED`].
    pub fn label(&self, path: &str) -> &str {
        let parts: Vec<&str> = segments(path).collect();
        let matches = |template: &[Option<String>]| {
            template.len() == parts.len()
                && template.iter().zip(&parts).all(|(t, p)| t.as_deref().is_none_or(|t| t == *p))
        };
        // A literal segment beats a parameter: the template with the most literals wins.
        let best = self
            .templates
            .iter()
            .filter(|(_, template)| matches(template))
            .max_by_key(|(_, template)| template.iter().filter(|t| t.is_some()).count());
        if let Some((name, _)) = best {
            return name;
        }
        self.prefixes
            .iter()
            .find(|prefix| {
                path == prefix.as_str() || path.strip_prefix(prefix.as_str()).is_some_and(|r| r.starts_with('/'))
            })
            .map_or(UNMATCHED, String::as_str)
    }
}

/// The query parameter (or `path`) of `uri` that holds an encoded NUL character.
fn nul_in_uri(uri: &poem::http::Uri) -> Option<String> {
    let has_nul = |text: &str| text.to_ascii_lowercase().contains("%00");
    if has_nul(uri.path()) {
        return Some("path".to_owned());
    }
    let query = uri.query().filter(|q| has_nul(q))?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| name.replace('\0', "\\u0000"))
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// Runs every request: enforces the body limit, turns errors into JSON and counts the answer
/// under its route template.
pub async fn observe<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    counters: Arc<HttpMetrics>,
    routes: Arc<RouteTemplates>,
    limit: usize,
) -> poem::Result<Response> {
    let started = std::time::Instant::now();
    let method = req.method().to_string();
    let route = routes.label(req.uri().path()).to_owned();
    let declared = req.header("content-length").and_then(|v| v.parse::<usize>().ok());
    let response = if declared.is_some_and(|len| len > limit) {
        ApiError::PayloadTooLarge(limit).as_response()
    } else if let Some(field) = nul_in_uri(req.uri()) {
        ApiError::bad_request("invalid_field", field, crate::body::NUL_MESSAGE).as_response()
    } else {
        // Chunked or lying bodies are cut at the limit too.
        match req.take_body().into_bytes_limit(limit).await {
            Err(_) => ApiError::PayloadTooLarge(limit).as_response(),
            Ok(bytes) => {
                req.set_body(Body::from(bytes));
                match ep.call(req).await {
                    Ok(response) => response.into_response(),
                    Err(e) => to_json_error(e),
                }
            }
        }
    };
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    tracing::debug!(%method, %route, status, elapsed_ms = elapsed.as_secs_f64() * 1000.0, "request");
    counters.record(&method, route, status, elapsed.as_secs_f64());
    Ok(response)
}

use poem::error::ResponseError as _;

/// `GET /healthz`: the process answers.
#[handler]
pub fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers, its migrations are current, and the workers this
/// process started are alive (an API-only node runs none and says so).
#[handler]
pub async fn readyz(state: Data<&AppState>) -> Response {
    let database = state.store().ping().await;
    let migrations = match &database {
        Ok(()) => state.store().migrations_current().await.ok(),
        Err(_) => None,
    };
    if let Err(e) = &database {
        tracing::warn!(error = %e, "readiness: database unreachable");
    }
    let stats = state.service.stats();
    let workers_ok = stats.workers_alive == stats.workers_started;
    let workers = match (stats.workers_started, workers_ok) {
        (0, _) => "none_here",
        (_, true) => "alive",
        (_, false) => "stopped",
    };
    let ready = database.is_ok() && migrations == Some(true) && workers_ok;
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not_ready" },
        "database": if database.is_ok() { "ok" } else { "unreachable" },
        "migrations": match migrations { Some(true) => "current", Some(false) => "pending", None => "unknown" },
        "workers": workers,
        "workers_alive": stats.workers_alive,
        "workers_started": stats.workers_started,
    });
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    Json(body).with_status(status).into_response()
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// `GET /metrics`: Prometheus text format.
#[handler]
pub async fn prometheus(state: Data<&AppState>) -> Response {
    let mut out = String::new();
    out.push_str("# HELP synkro_http_requests_total HTTP requests answered, by method, route and status.\n");
    out.push_str("# TYPE synkro_http_requests_total counter\n");
    let series = state.http_metrics().snapshot();
    let labels = |method: &str, route: &str, status: u16| {
        format!("method=\"{}\",route=\"{}\",status=\"{status}\"", escape(method), escape(route))
    };
    for ((method, route, status), v) in &series {
        let _ = writeln!(out, "synkro_http_requests_total{{{}}} {}", labels(method, route, *status), v.count);
    }
    out.push_str("# HELP synkro_http_request_seconds Time spent answering HTTP requests.\n");
    out.push_str("# TYPE synkro_http_request_seconds histogram\n");
    for ((method, route, status), v) in &series {
        let l = labels(method, route, *status);
        for (bound, n) in BUCKETS.iter().zip(v.buckets) {
            let _ = writeln!(out, "synkro_http_request_seconds_bucket{{{l},le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "synkro_http_request_seconds_bucket{{{l},le=\"+Inf\"}} {}", v.count);
        let _ = writeln!(out, "synkro_http_request_seconds_sum{{{l}}} {:.6}", v.seconds);
        let _ = writeln!(out, "synkro_http_request_seconds_count{{{l}}} {}", v.count);
    }
    match state.store().queue_depth(Timestamp::now()).await {
        Ok(depth) => {
            out.push_str("# HELP synkro_jobs Report jobs in the queue, by status.\n# TYPE synkro_jobs gauge\n");
            for (status, n) in
                [("pending_due", depth.pending_due), ("pending_later", depth.pending_later), ("running", depth.running)]
            {
                let _ = writeln!(out, "synkro_jobs{{status=\"{status}\"}} {n}");
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the queue depth"),
    }
    match state.store().delivery_counts().await {
        Ok(counts) => {
            out.push_str(
                "# HELP synkro_report_deliveries Report deliveries by state; alert on unknown and failed, which \
                 only an explicit re-send sends again.\n# TYPE synkro_report_deliveries gauge\n",
            );
            for state in [
                DeliveryState::Sending,
                DeliveryState::Sent,
                DeliveryState::Retrying,
                DeliveryState::Failed,
                DeliveryState::Unknown,
            ] {
                let n = counts.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n);
                let _ = writeln!(out, "synkro_report_deliveries{{state=\"{state}\"}} {n}");
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count deliveries"),
    }
    match state.store().last_reports().await {
        Ok(tenants) => {
            out.push_str(
                "# HELP synkro_report_last_success_timestamp_seconds When each active tenant's latest report \
                 was saved (Unix seconds; 0 when it has none); alert when it falls a day behind.\n\
                 # TYPE synkro_report_last_success_timestamp_seconds gauge\n",
            );
            for (slug, at) in tenants {
                let seconds = at.map_or(0, |at| at.unix_seconds());
                let _ = writeln!(
                    out,
                    "synkro_report_last_success_timestamp_seconds{{tenant=\"{}\"}} {seconds}",
                    escape(slug.as_str())
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the latest reports"),
    }
    match state.store().alert_counts().await {
        Ok(counts) => {
            out.push_str(
                "# HELP synkro_report_alerts Alerts to tenants' admins about scheduled reports in the database, by \
                 what went wrong (failed, fallback, delivery, missed) and how sending the alert went.\n\
                 # TYPE synkro_report_alerts gauge\n",
            );
            for kind in AlertKind::ALL {
                for &alert in AlertState::ALL {
                    let n = counts.iter().find(|(k, s, _)| k == kind && *s == alert).map_or(0, |(_, _, n)| *n);
                    let _ = writeln!(out, "synkro_report_alerts{{kind=\"{kind}\",state=\"{alert}\"}} {n}");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count alerts"),
    }
    let stats = state.service.stats();
    out.push_str("# HELP synkro_jobs_finished_total Report jobs this process finished, by outcome.\n");
    out.push_str("# TYPE synkro_jobs_finished_total counter\n");
    for (status, n) in [("success", stats.succeeded), ("failed", stats.failed), ("cancelled", stats.cancelled)] {
        let _ = writeln!(out, "synkro_jobs_finished_total{{status=\"{status}\"}} {n}");
    }
    out.push_str("# HELP synkro_job_retries_total Job attempts this process sent back for a later retry.\n");
    out.push_str("# TYPE synkro_job_retries_total counter\n");
    let _ = writeln!(out, "synkro_job_retries_total {}", stats.retried);
    out.push_str("# HELP synkro_workers Report workers of this process, by state.\n# TYPE synkro_workers gauge\n");
    let _ = writeln!(out, "synkro_workers{{state=\"alive\"}} {}", stats.workers_alive);
    let _ = writeln!(out, "synkro_workers{{state=\"started\"}} {}", stats.workers_started);
    let connectors = state.service.connector_context().metrics.snapshot();
    out.push_str("# HELP synkro_connector_requests_total Requests sent to services, by connector kind.\n");
    out.push_str("# TYPE synkro_connector_requests_total counter\n");
    for (kind, c) in &connectors {
        let _ = writeln!(out, "synkro_connector_requests_total{{kind=\"{}\"}} {}", escape(kind), c.requests);
    }
    out.push_str("# HELP synkro_connector_rate_limited_total 429 answers from services, by connector kind.\n");
    out.push_str("# TYPE synkro_connector_rate_limited_total counter\n");
    for (kind, c) in &connectors {
        let _ = writeln!(out, "synkro_connector_rate_limited_total{{kind=\"{}\"}} {}", escape(kind), c.rate_limited);
    }
    Response::builder().content_type("text/plain; version=0.0.4; charset=utf-8").body(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_labelled_by_their_route_template_and_everything_else_alike() {
        let routes = RouteTemplates::new(
            ["/healthz", "/api/v1/jobs/{id}/events", "/api/v1/tenants/{tenant}/settings/{kind}", "/api/v1/jobs/stats"],
            ["/api/docs"],
        );
        assert_eq!(
            routes.label("/api/v1/jobs/0190b3e4-7c3a-7d2e-8f00-000000000001/events"),
            "/api/v1/jobs/{id}/events"
        );
        assert_eq!(routes.label("/api/v1/jobs/anything/events"), "/api/v1/jobs/{id}/events");
        assert_eq!(routes.label("/api/v1/tenants/acme/settings/ai/"), "/api/v1/tenants/{tenant}/settings/{kind}");
        assert_eq!(routes.label("/healthz"), "/healthz");
        assert_eq!(routes.label("/api/docs/index.css"), "/api/docs");
        assert_eq!(routes.label("/api/docsx"), UNMATCHED);
        assert_eq!(routes.label("/"), UNMATCHED);
        assert_eq!(routes.label("/wp-admin/x1"), UNMATCHED);
        assert_eq!(routes.label("/api/v1/jobs/a/b/events"), UNMATCHED);
    }
}

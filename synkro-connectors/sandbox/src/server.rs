//! Runs one poem server per service and funnels every request through faults, handler, latency and log.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Body, Request, Response, Server, http::StatusCode};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::credentials::Credentials;
use crate::data::SandboxData;
use crate::fault::{Fault, FaultTable};
use crate::http::{Incoming, Reply, ReplyBody, decode_component, parse_query};
use crate::record::{RecordedRequest, RequestLog};
use crate::{SandboxConfig, Service, ai, amocrm, radist, supabase, telegram};

/// State shared by every server of one sandbox.
pub(crate) struct Shared {
    pub(crate) config: SandboxConfig,
    pub(crate) data: SandboxData,
    pub(crate) credentials: Credentials,
    pub(crate) faults: Mutex<FaultTable>,
    pub(crate) log: Mutex<RequestLog>,
    pub(crate) amocrm: Mutex<amocrm::AmoState>,
    pub(crate) supabase: Mutex<supabase::Store>,
    pub(crate) telegram: Mutex<telegram::TgState>,
}

/// Locks `mutex`, recovering the data of a poisoned lock.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Binds a port on 127.0.0.1 and serves `service` until `stop` turns true (or its sender is dropped).
/// Returns the origin (`http://127.0.0.1:<port>`) and the server task.
pub(crate) async fn spawn(
    service: Service,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> io::Result<(String, JoinHandle<()>)> {
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await?;
    let port = acceptor
        .local_addr()
        .iter()
        .find_map(|a| a.as_socket_addr().map(|s| s.port()))
        .ok_or_else(|| io::Error::other("listener has no socket address"))?;
    let endpoint = poem::endpoint::make(move |req: Request| {
        let shared = Arc::clone(&shared);
        async move { serve(&shared, service, req).await }
    });
    let task = tokio::spawn(async move {
        let signal = async move {
            // An error means the sandbox was dropped: stop as well.
            let _ = stop.wait_for(|stopped| *stopped).await;
        };
        let server = Server::new_with_acceptor(acceptor).name(service.name());
        if let Err(error) = server.run_with_graceful_shutdown(endpoint, signal, Some(Duration::from_secs(1))).await {
            tracing::warn!(service = service.name(), %error, "sandbox server failed");
        }
    });
    Ok((format!("http://127.0.0.1:{port}"), task))
}

async fn serve(shared: &Shared, service: Service, mut req: Request) -> Response {
    let body = req.take_body().into_vec().await.unwrap_or_default();
    let incoming = Incoming {
        method: req.method().as_str().to_ascii_uppercase(),
        path: decode_component(req.uri().path(), false),
        raw_query: req.uri().query().unwrap_or("").to_owned(),
        query: parse_query(req.uri().query().unwrap_or("")),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body,
    };
    let record = RecordedRequest {
        method: incoming.method.clone(),
        path: incoming.path.clone(),
        query: incoming.query.clone(),
        headers: incoming.headers.clone(),
        status: 0,
        body: (!incoming.body.is_empty()).then(|| String::from_utf8_lossy(&incoming.body).into_owned()),
    };
    let id = lock(&shared.log).arrive(service, record);
    let target = if incoming.raw_query.is_empty() {
        incoming.path.clone()
    } else {
        format!("{}?{}", incoming.path, decode_component(&incoming.raw_query, true))
    };
    let fault = lock(&shared.faults).take(service, &target);
    let reply = match fault {
        None => handle(shared, service, &incoming).await,
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            handle(shared, service, &incoming).await
        }
        Some(Fault::Status(status)) => error_reply(service, status),
        Some(Fault::RateLimited) => rate_limited(service),
        Some(Fault::Malformed) => Reply::typed(200, content_type(service), "{\"ok\": tru<html>Bad gateway"),
        Some(Fault::Reset) => Reply { status: 200, headers: Vec::new(), body: ReplyBody::Reset }
            .with_header("content-type", content_type(service)),
    };
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    lock(&shared.log).finish(service, id, reply.status);
    tracing::debug!(service = service.name(), method = %incoming.method, status = reply.status, "sandbox request");
    into_response(reply)
}

async fn handle(shared: &Shared, service: Service, req: &Incoming) -> Reply {
    match service {
        Service::Amocrm => amocrm::handle(shared, req),
        Service::AmocrmOauth => amocrm::oauth::handle(shared, req),
        Service::Radist => radist::handle(shared, req),
        Service::Supabase => supabase::handle(shared, req),
        Service::OpenAi => ai::openai::handle(shared, req),
        Service::Gemini => ai::gemini::handle(shared, req),
        Service::Telegram => telegram::handle(shared, req).await,
    }
}

/// The service's ordinary error body for `status`.
fn error_reply(service: Service, status: u16) -> Reply {
    let reason = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
    match service {
        Service::Amocrm => amocrm::problem(status, reason, "Injected failure"),
        Service::AmocrmOauth => amocrm::oauth::error(status, reason, "Injected failure"),
        Service::Radist => radist::detail(status, reason),
        Service::Supabase => supabase::injected(status, reason),
        Service::OpenAi => ai::openai::error(status, reason, "server_error", None),
        Service::Gemini => ai::gemini::error(status, reason),
        Service::Telegram => telegram::error(status, reason),
    }
}

/// A 429 as the service sends it.
fn rate_limited(service: Service) -> Reply {
    match service {
        Service::Amocrm | Service::AmocrmOauth => amocrm::rate_limited(),
        Service::Telegram => telegram::too_many_requests(1),
        Service::Radist => radist::detail(429, "Too many requests").with_header("retry-after", "1"),
        Service::Supabase => supabase::error(429, "PGRST000", "Too many requests").with_header("retry-after", "1"),
        Service::OpenAi => {
            ai::openai::error(429, "Rate limit reached for requests", "requests", Some("rate_limit_exceeded"))
                .with_header("retry-after", "1")
        }
        Service::Gemini => {
            ai::gemini::error(429, "Resource has been exhausted (e.g. check quota).").with_header("retry-after", "1")
        }
    }
}

fn content_type(service: Service) -> &'static str {
    match service {
        Service::Amocrm => "application/hal+json",
        _ => "application/json",
    }
}

fn into_response(reply: Reply) -> Response {
    let mut builder = Response::builder().status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK));
    for (name, value) in &reply.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    match reply.body {
        ReplyBody::Bytes(bytes) => builder.body(bytes),
        // A declared length the body never reaches: the connection closes mid-body.
        ReplyBody::Reset => builder.header("content-length", "64").body(reset_body()),
    }
}

/// A body that sends a fragment, pauses so the status line and fragment reach the client, then fails
/// (with the declared `content-length` unmet, the client sees a truncated body).
fn reset_body() -> Body {
    let stream = futures::stream::unfold(0u8, |step| async move {
        match step {
            0 => Some((Ok(Vec::from(&b"{\"partial\": [1, 2, "[..])), 1)),
            1 => {
                tokio::time::sleep(Duration::from_millis(30)).await;
                Some((Err(io::Error::new(io::ErrorKind::ConnectionReset, "sandbox reset")), 2))
            }
            _ => None,
        }
    });
    Body::from_bytes_stream(stream)
}

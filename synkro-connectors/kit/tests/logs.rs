//! Log lines never carry secrets. A test binary of its own: tracing caches which log calls
//! are enabled, so tests running beside it without a subscriber would hide its lines.

#![allow(clippy::unwrap_used)]

use synkro_connector_kit::{HttpClient, Method, RequestSpec};
use synkro_core::{Secret, connector::ConnectorContext};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

fn ctx() -> ConnectorContext {
    let mut ctx = ConnectorContext::default().with_outbound(synkro_core::connector::OutboundPolicy::loopback());
    ctx.http.backoff_base = std::time::Duration::from_millis(5);
    ctx.http.max_attempts = 3;
    ctx
}

fn client(ctx: &ConnectorContext) -> HttpClient {
    HttpClient::new("test", ctx).unwrap()
}

/// Collects everything the tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_never_reach_log_lines() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    let token = Secret::new("777:AAH-log-canary-token");
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream saw 777:AAH-log-canary-token"))
        .mount(&server)
        .await;
    let ctx = ctx();
    let http = client(&ctx).with_secrets([&token]);
    let _ = http.send(RequestSpec::new(Method::GET, format!("{}/bot{}/getMe", server.uri(), token.expose()))).await;
    let _ = http.send(RequestSpec::new(Method::GET, format!("http://127.0.0.1:9/bot{}/x", token.expose()))).await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying") && logs.contains("request failed"), "the failures were logged: {logs}");
    assert!(!logs.contains(token.expose()), "{logs}");
}

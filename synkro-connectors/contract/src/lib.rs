//! The contract every Synkro connector keeps, as test suites a connector crate runs against a
//! fake of its own service (`[dev-dependencies] synkro-connector-contract`). One suite per
//! capability — [`Contract::crm_source`], [`Contract::chat_source`], [`Contract::warehouse`],
//! [`Contract::language_model`], [`Contract::messenger`] — and each checks what the engine
//! relies on:
//!
//! - **check without side effects**: `check` passes on the fake and makes no request that
//!   writes ([`FakeUpstream::is_write`]);
//! - **paging to the end**: a source yields every item the fake holds for the window, none
//!   twice;
//! - **cancellation**: a source dropped after its first page makes no more requests (checked
//!   when the fake serves more than one page);
//! - **failure classes**: 401 → auth, 403 → permission, 404 → config, 429 → rate limited,
//!   5xx → upstream, a timeout → network, a malformed body → upstream
//!   ([`STANDARD_FAULTS`]; a fake may declare other answers for its service with
//!   [`FakeUpstream::faults`]);
//! - **secrets absent from errors**: no secret value of the config, plain or URL-encoded,
//!   appears in an error's message or hint;
//! - **the spec tells the truth**: `build` returns exactly the capabilities the spec advertises.
//!
//! A suite panics with the rule that broke, so it reads like any failed test:
//!
//! ```ignore
//! #[tokio::test]
//! async fn keeps_the_contract() {
//!     let fake = MyFake::start().await;                 // implements FakeUpstream
//!     let contract = Contract::new(Arc::new(MyCrm), &fake);
//!     contract.crm_source(window, fake.deals_in(window)).await;
//! }
//! ```

use std::{collections::HashSet, sync::Arc, time::Duration};

use futures::StreamExt;
use serde_json::{Value, json};
use synkro_core::{
    connector::{
        ArchivedReport, BatchStream, Capabilities, CompletionRequest, Connector, ConnectorConfig, ConnectorContext,
        ConnectorError, Deal, DealRow, Dialog, FailureClass, RowTime, run_check,
    },
    domain::Window,
    time::Timestamp,
};

/// A way the fake service fails on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status and the service's usual error body.
    Status(u16),
    /// Answer no sooner than 2 s (the suites' request timeout is 500 ms).
    Timeout,
    /// Answer 200 with a body that is not what the service sends (not valid JSON).
    Malformed,
}

/// The failure class each standard fault must end in.
pub const STANDARD_FAULTS: &[(Fault, FailureClass)] = &[
    (Fault::Status(401), FailureClass::Auth),
    (Fault::Status(403), FailureClass::Permission),
    (Fault::Status(404), FailureClass::Config),
    (Fault::Status(429), FailureClass::RateLimited),
    (Fault::Status(500), FailureClass::Upstream),
    (Fault::Status(503), FailureClass::Upstream),
    (Fault::Timeout, FailureClass::Network),
    (Fault::Malformed, FailureClass::Upstream),
];

/// Whether an operation reads or writes at the service (see [`Contract::failures`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Reads: every fault applies.
    Read,
    /// Writes: a malformed 2xx answer may count as done.
    Write,
}

/// A request the fake service received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path (with the query, when the fake records it).
    pub path: String,
}

/// A fake of the connector's service that the suites can steer and observe.
pub trait FakeUpstream: Send + Sync {
    /// The connector's settings pointing at the fake, with credentials it accepts.
    fn config(&self) -> ConnectorConfig;
    /// The context to build the connector with: its requests routed to the fake, loopback
    /// allowed. The suites shorten its timeouts and retries themselves.
    fn context(&self) -> ConnectorContext;
    /// From now on every request gets `fault`, until [`heal`](Self::heal).
    fn fail_with(&self, fault: Fault);
    /// Answer normally again.
    fn heal(&self);
    /// Every request received so far, oldest first.
    fn requests(&self) -> Vec<Seen>;
    /// Whether `request` changes something at the service (default: anything but GET, HEAD
    /// and OPTIONS). A fake whose service reads through POST says which paths are reads.
    fn is_write(&self, request: &Seen) -> bool {
        !matches!(request.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }
    /// The faults the fake can produce and the class each must end in (default:
    /// [`STANDARD_FAULTS`]).
    fn faults(&self) -> Vec<(Fault, FailureClass)> {
        STANDARD_FAULTS.to_vec()
    }
}

/// Runs the suites for one connector against one fake.
pub struct Contract<'a, U: FakeUpstream> {
    connector: Arc<dyn Connector>,
    upstream: &'a U,
}

impl<'a, U: FakeUpstream> Contract<'a, U> {
    /// The suites for `connector` against `upstream`.
    pub fn new(connector: Arc<dyn Connector>, upstream: &'a U) -> Self {
        Self { connector, upstream }
    }

    /// The fake's context with short timeouts and retries, so faults end quickly.
    fn context(&self) -> ConnectorContext {
        let mut ctx = self.upstream.context();
        ctx.http.request_timeout = Duration::from_millis(500);
        ctx.http.connect_timeout = Duration::from_millis(500);
        ctx.http.max_attempts = 2;
        ctx.http.backoff_base = Duration::from_millis(10);
        ctx.http.backoff_cap = Duration::from_millis(50);
        ctx.http.check_timeout = Duration::from_secs(5);
        ctx
    }

    fn kind(&self) -> &'static str {
        self.connector.spec().kind
    }

    /// Builds the connector on the fake (a fresh context each time, so no cached state hides
    /// a request), and checks it built exactly what its spec advertises.
    pub fn build(&self) -> Capabilities {
        let kind = self.kind();
        let caps = self
            .connector
            .build(&self.upstream.config(), &self.context())
            .unwrap_or_else(|e| panic!("{kind}: builds from the fake's settings: {e}"));
        let mut advertised = self.connector.spec().capabilities.to_vec();
        advertised.sort();
        assert_eq!(caps.provided(), advertised, "{kind}: the spec advertises what build returns");
        caps
    }

    /// `check` passes on the healthy fake and none of its requests writes.
    pub async fn check_has_no_side_effects(&self) {
        let kind = self.kind();
        let before = self.upstream.requests().len();
        let report = run_check(self.connector.as_ref(), &self.upstream.config(), &self.context()).await;
        assert!(report.ok, "{kind}: check passes on the healthy fake: {report:?}");
        let writes: Vec<Seen> =
            self.upstream.requests().into_iter().skip(before).filter(|r| self.upstream.is_write(r)).collect();
        assert!(writes.is_empty(), "{kind}: check has no side effects, but it sent {writes:?}");
    }

    /// Each fault of [`FakeUpstream::faults`] makes `operation` fail with the expected class,
    /// and no error says a secret; the fake is healed after each. A [`Path::Write`] skips the
    /// malformed answer: a connector may count a write the service accepted (2xx) as done even
    /// when the answer does not parse, since doing it again could do it twice.
    pub async fn failures<F>(&self, what: &str, path: Path, operation: F)
    where
        F: AsyncFn(&Capabilities) -> Result<(), ConnectorError>,
    {
        let kind = self.kind();
        let faults = self.upstream.faults().into_iter().filter(|(f, _)| path == Path::Read || *f != Fault::Malformed);
        for (fault, class) in faults {
            let caps = self.build();
            self.upstream.fail_with(fault);
            let outcome = tokio::time::timeout(Duration::from_secs(30), operation(&caps)).await;
            self.upstream.heal();
            let Ok(result) = outcome else {
                panic!("{kind}: {what} with {fault:?} ends within 30 s (timeouts and retries are bounded)")
            };
            let Err(error) = result else { panic!("{kind}: {what} with {fault:?} fails") };
            assert_eq!(error.class, class, "{kind}: {what} with {fault:?} fails as {class:?}: {error:?}");
            self.assert_no_secret(&error, &format!("{what} with {fault:?}"));
        }
    }

    /// Panics when `error` says one of the config's secret values.
    pub fn assert_no_secret(&self, error: &ConnectorError, when: &str) {
        let kind = self.kind();
        let config = self.upstream.config();
        let text = format!("{} {} {:?}", error, error.hint.as_deref().unwrap_or_default(), error.message);
        for field in config.secrets.field_names() {
            let Some(value) = config.secrets.get(field) else { continue };
            let value = value.expose();
            if value.len() < 4 {
                continue;
            }
            let encoded: String = url_encode(value);
            assert!(
                !text.contains(value) && !text.contains(&encoded),
                "{kind}: the error of {when} must not contain the secret {field}: {text}"
            );
        }
    }

    /// Reads a whole stream: every batch's items, the batch count, and the first error.
    async fn drain<T>(stream: BatchStream<'_, T>) -> Result<(Vec<T>, usize), ConnectorError> {
        let mut stream = stream;
        let (mut items, mut batches) = (Vec::new(), 0);
        while let Some(batch) = stream.next().await {
            items.extend(batch?.items);
            batches += 1;
        }
        Ok((items, batches))
    }

    /// Paging to the end (`expected` items), no item twice, and (with more than one page)
    /// cancellation, for the source `source` reads.
    async fn source<S: Source>(&self, source: S, expected: usize) {
        let (kind, what) = (self.kind(), S::WHAT);
        let caps = self.build();
        let before = self.upstream.requests().len();
        let (items, batches) = Self::drain(source.open(&caps))
            .await
            .unwrap_or_else(|e| panic!("{kind}: {what} reads the healthy fake: {e}"));
        let full_run = self.upstream.requests().len() - before;
        let ids: HashSet<String> = items.iter().map(S::id).collect();
        assert_eq!(ids.len(), items.len(), "{kind}: {what} yields no item twice");
        assert_eq!(items.len(), expected, "{kind}: {what} pages to the end: every item the fake holds");
        if batches < 2 {
            return;
        }
        // Cancellation: stop after the first page; the requests must stop too.
        let caps = self.build();
        let before = self.upstream.requests().len();
        let mut stream = source.open(&caps);
        let first = stream.next().await;
        assert!(matches!(first, Some(Ok(_))), "{kind}: {what} yields a first page");
        drop(stream);
        let settled = async {
            let mut last = self.upstream.requests().len();
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let now = self.upstream.requests().len();
                if now == last {
                    return now;
                }
                last = now;
            }
        };
        let after = tokio::time::timeout(Duration::from_secs(10), settled)
            .await
            .unwrap_or_else(|_| panic!("{kind}: {what} stops requesting once its stream is dropped"));
        assert!(
            after - before < full_run,
            "{kind}: {what} dropped after one page made {} requests; reading everything takes {full_run}",
            after - before
        );
    }

    /// The CRM source suite: check, paging to the end of `window` (`deals` deals the fake
    /// holds updated inside it), cancellation, failure classes, no secrets in errors.
    pub async fn crm_source(&self, window: Window, deals: usize) {
        self.check_has_no_side_effects().await;
        self.source(Deals(window), deals).await;
        self.failures("reading deals", Path::Read, async |caps| {
            Self::drain(Deals(window).open(caps)).await.map(|_| ())
        })
        .await;
    }

    /// The chat source suite: check, paging to the end of `window` (`dialogs` dialogs with
    /// messages inside it), cancellation, failure classes, no secrets in errors.
    pub async fn chat_source(&self, window: Window, dialogs: usize) {
        self.check_has_no_side_effects().await;
        self.source(Dialogs(window), dialogs).await;
        self.failures("reading dialogs", Path::Read, async |caps| {
            Self::drain(Dialogs(window).open(caps)).await.map(|_| ())
        })
        .await;
    }

    /// The warehouse suite: check; `rows` rows written (twice: the second write updates them)
    /// are read back to the end of their window, once each; a report archives; failure classes
    /// of reading; no secrets in errors.
    pub async fn warehouse(&self, tenant: &str, rows: usize) {
        let kind = self.kind();
        self.check_has_no_side_effects().await;
        let caps = self.build();
        let warehouse = caps.warehouse.clone().expect("the connector provides a warehouse");
        let start: Timestamp = "2026-03-01T00:00:00Z".parse().expect("a time");
        let window = Window::new(start, start + time_hours(24)).expect("a window");
        let written: Vec<DealRow> =
            (0..rows as i64).map(|i| deal_row(tenant, i + 1, start + time_minutes(i))).collect();
        warehouse.upsert_deals(&written).await.unwrap_or_else(|e| panic!("{kind}: writes rows: {e}"));
        warehouse.upsert_deals(&written).await.unwrap_or_else(|e| panic!("{kind}: writes the same rows again: {e}"));
        let (read, _) = Self::drain(warehouse.rows_in_window(tenant, window, RowTime::UpdatedAt))
            .await
            .unwrap_or_else(|e| panic!("{kind}: reads the rows back: {e}"));
        let ids: HashSet<i64> = read.iter().map(|r| r.deal_id).collect();
        assert_eq!((ids.len(), read.len()), (rows, rows), "{kind}: every row written is read back once");
        let report = ArchivedReport {
            tenant_id: tenant.to_owned(),
            source_report_id: "contract-report".to_owned(),
            period_start: "2026-03-01".to_owned(),
            period_end: "2026-03-01".to_owned(),
            summary_text: "contract".to_owned(),
            metadata: json!({}),
            created_at: start,
        };
        warehouse.archive_report(&report).await.unwrap_or_else(|e| panic!("{kind}: archives a report: {e}"));
        // Failures on the read path: a write whose answer has no body to read cannot see a
        // malformed one.
        self.failures("reading rows", Path::Read, async |caps| {
            let warehouse = caps.warehouse.as_ref().expect("a warehouse");
            Self::drain(warehouse.rows_in_window(tenant, window, RowTime::UpdatedAt)).await.map(|_| ())
        })
        .await;
    }

    /// The language model suite: check; a completion has text; the model list is not empty;
    /// failure classes of completing; no secrets in errors.
    pub async fn language_model(&self) {
        let kind = self.kind();
        self.check_has_no_side_effects().await;
        let caps = self.build();
        let llm = caps.llm.clone().expect("the connector provides a language model");
        let request = CompletionRequest {
            system: "Answer briefly.".to_owned(),
            context: "How many deals were won?".to_owned(),
            temperature: Some(0.2),
            max_output_tokens: 100,
        };
        let answer = llm.complete(&request).await.unwrap_or_else(|e| panic!("{kind}: completes: {e}"));
        assert!(!answer.text.trim().is_empty(), "{kind}: a completion has text");
        let models = llm.list_models().await.unwrap_or_else(|e| panic!("{kind}: lists models: {e}"));
        assert!(!models.is_empty(), "{kind}: the model list is not empty");
        self.failures("completing", Path::Read, async |caps| {
            caps.llm.clone().expect("a language model").complete(&request).await.map(|_| ())
        })
        .await;
    }

    /// The messenger suite: check (which sends nothing); a text is delivered in at least one
    /// message; failure classes of sending and of reading questions; no secrets in errors.
    pub async fn messenger(&self) {
        let kind = self.kind();
        self.check_has_no_side_effects().await;
        let caps = self.build();
        let messenger = caps.messenger.clone().expect("the connector provides a messenger");
        let delivery =
            messenger.send_text("Contract check").await.unwrap_or_else(|e| panic!("{kind}: sends a text: {e}"));
        assert!(delivery.messages >= 1, "{kind}: a sent text is at least one message: {delivery:?}");
        self.failures("sending", Path::Write, async |caps| {
            caps.messenger.clone().expect("a messenger").send_text("Contract check").await.map(|_| ())
        })
        .await;
        self.failures("reading questions", Path::Read, async |caps| {
            caps.messenger.clone().expect("a messenger").questions(None).await.map(|_| ())
        })
        .await;
    }
}

/// A paged read the source suites run.
trait Source {
    type Item;
    const WHAT: &'static str;
    fn open<'c>(&self, caps: &'c Capabilities) -> BatchStream<'c, Self::Item>;
    fn id(item: &Self::Item) -> String;
}

/// The deals updated inside a window.
struct Deals(Window);

impl Source for Deals {
    type Item = Deal;
    const WHAT: &'static str = "deals";
    fn open<'c>(&self, caps: &'c Capabilities) -> BatchStream<'c, Deal> {
        caps.crm.as_ref().expect("the connector provides a CRM source").deals(self.0)
    }
    fn id(item: &Deal) -> String {
        item.id.to_string()
    }
}

/// The dialogs with messages inside a window.
struct Dialogs(Window);

impl Source for Dialogs {
    type Item = Dialog;
    const WHAT: &'static str = "dialogs";
    fn open<'c>(&self, caps: &'c Capabilities) -> BatchStream<'c, Dialog> {
        caps.chat.as_ref().expect("the connector provides a chat source").dialogs(self.0, None)
    }
    fn id(item: &Dialog) -> String {
        item.chat_id.clone()
    }
}

fn time_hours(n: i64) -> time::Duration {
    time::Duration::hours(n)
}

fn time_minutes(n: i64) -> time::Duration {
    time::Duration::minutes(n)
}

/// A warehouse row for deal `id` of `tenant`, updated at `at`.
fn deal_row(tenant: &str, id: i64, at: Timestamp) -> DealRow {
    DealRow {
        tenant_id: tenant.to_owned(),
        deal_id: id,
        deal_name: Some(format!("Contract deal {id}")),
        status_id: None,
        status: Some("won".to_owned()),
        responsible: Some("Olga".to_owned()),
        phone: None,
        chat_id: None,
        first_message_at: None,
        last_message_at: None,
        messages_count: 0,
        deal_attrs_json: json!({}),
        contact_attrs_json: json!({}),
        dialog_raw: Value::Null,
        dialog_norm: String::new(),
        updated_at: Some(at),
    }
}

/// `text` as a URL query or form would carry it.
fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

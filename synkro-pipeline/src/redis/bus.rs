//! Redis pub/sub channels: job progress events to every node, wake-ups for idle workers.

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use redis::aio::{ConnectionManager, PubSub};
use tokio::{
    sync::{Notify, broadcast},
    task::JoinHandle,
};

use super::{CONNECT_TIMEOUT, RedisError, connect, open, redact_url, scrub};

/// Longest wait for a PUBLISH.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);
/// How often an idle subscription checks that its connection is alive.
const PING_EVERY: Duration = Duration::from_secs(15);
/// First and longest pause between reconnection attempts.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(200), Duration::from_secs(10));
/// Messages a slow subscriber may fall behind by before it misses some.
const BUS_CAPACITY: usize = 1024;

/// Fan-out of small text messages (job progress events as JSON) to every node: PUBLISH on
/// `"{prefix}:events"`; subscribers get a tokio broadcast receiver; the subscription task
/// reconnects after errors.
///
/// Delivery is at most once: messages published while a node is reconnecting are not seen
/// there, and a receiver that falls more than 1024 messages behind gets `Lagged`. Clones share
/// one connection and one subscription, which ends when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct RedisBus {
    channel: Channel,
    events: broadcast::Sender<String>,
}

impl RedisBus {
    /// Connects to `url` and subscribes to `"{prefix}:events"`; every message published after
    /// this returns reaches the receivers from [`subscribe`](Self::subscribe).
    pub async fn start(url: &str, prefix: &str) -> Result<Self, RedisError> {
        let (events, _) = broadcast::channel(BUS_CAPACITY);
        let sender = events.clone();
        let channel = Channel::start(url, format!("{prefix}:events"), move |payload| {
            // No receiver at the moment is fine: nobody is watching.
            let _ = sender.send(payload);
        })
        .await?;
        Ok(Self { channel, events })
    }

    /// Sends `payload` to every node's subscribers (this node's included).
    pub async fn publish(&self, payload: &str) -> Result<(), RedisError> {
        self.channel.publish(payload).await
    }

    /// A receiver of every message published from now on, by any node.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.events.subscribe()
    }
}

/// Wakes idle workers when a job is enqueued: `wake()` publishes on `"{prefix}:wake"`;
/// `notified()` resolves on the next wake (from any process) — workers still poll the database
/// on a timer, so a lost wake (Redis restarted or flushed) only delays, never loses, a job.
///
/// A wake that arrives while no task of this process waits is kept for the next `notified()`
/// call, so a wake landing between a worker's empty poll and its wait is not lost (the cost
/// is, at most, one spare poll).
#[derive(Debug, Clone)]
pub struct RedisWaker {
    channel: Channel,
    notify: Arc<Notify>,
}

impl RedisWaker {
    /// Connects to `url` and subscribes to `"{prefix}:wake"`.
    pub async fn start(url: &str, prefix: &str) -> Result<Self, RedisError> {
        let notify = Arc::new(Notify::new());
        let waiters = notify.clone();
        let channel = Channel::start(url, format!("{prefix}:wake"), move |_| {
            waiters.notify_waiters();
            waiters.notify_one();
        })
        .await?;
        Ok(Self { channel, notify })
    }

    /// Wakes the idle workers of every process.
    pub async fn wake(&self) -> Result<(), RedisError> {
        self.channel.publish("wake").await
    }

    /// Resolves on the next wake from any process.
    pub async fn notified(&self) {
        self.notify.notified().await;
    }
}

/// One pub/sub channel: a connection to publish on and a task that feeds the channel's
/// messages to a handler, reconnecting as needed.
#[derive(Debug, Clone)]
struct Channel {
    conn: ConnectionManager,
    name: Arc<str>,
    _listener: Arc<AbortOnDrop>,
}

impl Channel {
    async fn start(
        url: &str,
        name: String,
        handler: impl Fn(String) + Send + Sync + 'static,
    ) -> Result<Self, RedisError> {
        let conn = connect(url).await?;
        let client = open(url)?;
        let connect_error = |reason: String| RedisError::Connect { url: redact_url(url), reason: scrub(&reason, url) };
        let first = subscribe(&client, &name).await.map_err(connect_error)?;
        let listener = tokio::spawn(listen_forever(client, name.clone(), first, handler));
        Ok(Self { conn, name: name.into(), _listener: Arc::new(AbortOnDrop(listener)) })
    }

    async fn publish(&self, payload: &str) -> Result<(), RedisError> {
        let mut conn = self.conn.clone();
        let mut command = redis::cmd("PUBLISH");
        command.arg(&*self.name).arg(payload);
        match tokio::time::timeout(PUBLISH_TIMEOUT, command.query_async::<i64>(&mut conn)).await {
            Ok(Ok(_receivers)) => Ok(()),
            Ok(Err(e)) => Err(RedisError::Command { command: "PUBLISH", reason: e.to_string() }),
            Err(_) => Err(RedisError::Command { command: "PUBLISH", reason: "no reply within 2 s".into() }),
        }
    }
}

/// Aborts the listener task when the last handle to its channel goes.
#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A fresh pub/sub connection subscribed to `channel`.
async fn subscribe(client: &redis::Client, channel: &str) -> Result<PubSub, String> {
    let attempt = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("no reply within 2 s".to_owned()),
    }
}

/// Feeds `channel`'s messages to `handler`, resubscribing on a fresh connection whenever the
/// current one fails, with a growing pause between failed attempts.
async fn listen_forever(client: redis::Client, channel: String, first: PubSub, handler: impl Fn(String) + Sync) {
    let mut current = Some(first);
    let mut backoff = BACKOFF.0;
    loop {
        let pubsub = match current.take() {
            Some(pubsub) => pubsub,
            None => match subscribe(&client, &channel).await {
                Ok(pubsub) => {
                    tracing::info!(channel = %channel, "redis subscription restored");
                    backoff = BACKOFF.0;
                    pubsub
                }
                Err(error) => {
                    tracing::warn!(channel = %channel, error = %error, retry_in = ?backoff, "redis subscription failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF.1);
                    continue;
                }
            },
        };
        listen(pubsub, &handler).await;
        tracing::warn!(channel = %channel, "redis subscription lost, reconnecting");
    }
}

/// Feeds messages to `handler` until the connection fails (closed, or a ping unanswered).
async fn listen(pubsub: PubSub, handler: &(impl Fn(String) + Sync)) {
    let (mut sink, mut stream) = pubsub.split();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(message) => match message.get_payload::<String>() {
                    Ok(payload) => handler(payload),
                    Err(error) => tracing::debug!(error = %error, "ignoring a non-text pub/sub message"),
                },
                None => return,
            },
            _ = ping.tick() => {
                let alive = tokio::time::timeout(CONNECT_TIMEOUT, sink.ping::<redis::Value>()).await;
                if !matches!(alive, Ok(Ok(_))) {
                    return;
                }
            }
        }
    }
}

//! Progress updates of running jobs, for subscribers in this process and, with Redis, on every
//! node.

use serde::{Deserialize, Serialize};
use synkro_core::{
    domain::{JobRun, JobRunEvent, JobStatus},
    ids::{JobId, TenantId},
};
use tokio::sync::broadcast;

#[cfg(feature = "redis")]
use crate::redis::RedisBus;

/// One change of a job: its status, step and progress, and the event written with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobUpdate {
    /// The job.
    pub job_id: JobId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Status after the change.
    pub status: JobStatus,
    /// Current step.
    pub step: Option<String>,
    /// 0-100.
    pub progress: u8,
    /// The step-log line written with this change.
    pub event: Option<JobRunEvent>,
    /// The node that published it (so a node skips its own messages coming back from Redis).
    pub origin: String,
}

impl JobUpdate {
    /// An update of `job` (the hub sets `origin` when it publishes it).
    pub fn of(job: &JobRun, status: JobStatus, step: Option<String>, progress: u8, event: Option<JobRunEvent>) -> Self {
        Self { job_id: job.id, tenant_id: job.tenant_id, status, step, progress, event, origin: String::new() }
    }
}

/// Fans job updates out to local subscribers and, when configured, to every node via Redis.
#[derive(Clone)]
pub struct EventHub {
    local: broadcast::Sender<JobUpdate>,
    #[cfg(feature = "redis")]
    redis: Option<RedisBus>,
    node: String,
}

impl EventHub {
    /// A hub for this process only.
    pub fn local(node: impl Into<String>) -> Self {
        let (local, _) = broadcast::channel(4096);
        Self {
            local,
            #[cfg(feature = "redis")]
            redis: None,
            node: node.into(),
        }
    }

    /// A hub that also publishes to, and relays from, Redis.
    #[cfg(feature = "redis")]
    pub fn with_redis(node: impl Into<String>, bus: RedisBus) -> Self {
        let mut hub = Self::local(node);
        let mut remote = bus.subscribe();
        let local = hub.local.clone();
        let me = hub.node.clone();
        tokio::spawn(async move {
            loop {
                match remote.recv().await {
                    Ok(text) => {
                        if let Ok(update) = serde_json::from_str::<JobUpdate>(&text)
                            && update.origin != me
                        {
                            let _ = local.send(update);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        hub.redis = Some(bus);
        hub
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Publishes an update (best effort: progress is also in the database).
    pub async fn publish(&self, mut update: JobUpdate) {
        update.origin = self.node.clone();
        #[cfg(feature = "redis")]
        if let Some(bus) = &self.redis
            && let Ok(text) = serde_json::to_string(&update)
            && let Err(e) = bus.publish(&text).await
        {
            tracing::debug!(error = %e, "progress event not relayed through Redis");
        }
        let _ = self.local.send(update);
    }

    /// Every update from now on (local and, with Redis, remote).
    pub fn subscribe(&self) -> broadcast::Receiver<JobUpdate> {
        self.local.subscribe()
    }
}

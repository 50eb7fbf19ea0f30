//! Live job progress as Server-Sent Events. The database is the source of truth: each open
//! stream re-reads the job and its new step-log lines whenever the service announces a change
//! (in this process, or on any node through Redis) and at least every two seconds, so it also
//! follows jobs run by workers elsewhere without Redis.

use std::{collections::HashSet, time::Duration};

use futures::{StreamExt, stream::BoxStream};
use poem::web::sse::Event;
use poem_openapi::{payload::EventStream, types::ToJSON};
use synkro_core::{
    Store,
    domain::{JobRun, JobStatus},
    ids::{JobEventId, JobId},
};
use synkro_pipeline::JobUpdate;
use tokio::sync::{broadcast, mpsc, watch};

use crate::{
    AppState,
    api::models::{EventOut, JobOut, StreamEvent, StreamKind},
    limits::StreamPlace,
};

/// The response of `GET /jobs/{id}/stream`.
pub type JobStream = EventStream<BoxStream<'static, StreamEvent>>;

/// How often an open stream re-reads the job when no change was announced.
const POLL: Duration = Duration::from_secs(2);

/// Streams `job`'s progress, starting after step-log line `after` (all lines when `None`),
/// holding the caller's stream `place` until the stream ends.
pub fn job_stream(state: &AppState, job: JobRun, after: Option<JobEventId>, place: StreamPlace) -> JobStream {
    let (tx, rx) = mpsc::channel::<StreamEvent>(64);
    // Subscribe before the first read, so no change falls between the two.
    let updates = state.service.subscribe();
    let closing = state.closing();
    tokio::spawn(follow(state.store().clone(), updates, closing, job.id, after, tx));
    let events =
        futures::stream::unfold(
            (rx, place),
            |(mut rx, place)| async move { rx.recv().await.map(|e| (e, (rx, place))) },
        )
        .boxed();
    EventStream::new(events).keep_alive(Duration::from_secs(15)).to_event(|item| {
        let kind = match item.kind {
            StreamKind::Job => "job",
            StreamKind::Log => "log",
            StreamKind::Done => "done",
        };
        let id = item.event.as_ref().map(|e| e.id.to_string());
        let event = Event::message(item.to_json_string()).event_type(kind);
        match id {
            Some(id) => event.id(id),
            None => event,
        }
    })
}

fn job_event(kind: StreamKind, job: &JobRun) -> StreamEvent {
    StreamEvent { kind, job: Some(JobOut::from(job.clone())), event: None }
}

/// What a client has been told so far.
struct Seen {
    after: Option<JobEventId>,
    lines: HashSet<JobEventId>,
    state: Option<(JobStatus, Option<String>, u8, bool)>,
}

/// Sends what changed since `seen`; `Ok(true)` once the job has finished (and `done` was sent).
async fn sync(store: &Store, job: JobId, seen: &mut Seen, tx: &mpsc::Sender<StreamEvent>) -> Result<bool, ()> {
    // The job first, then its lines: a finished job's lines are all written by then.
    let current = store.get_job(job).await.map_err(|_| ())?;
    let state = (current.status, current.current_step.clone(), current.progress, current.cancel_requested);
    if seen.state.is_none() {
        tx.send(job_event(StreamKind::Job, &current)).await.map_err(|_| ())?;
    }
    loop {
        let lines = store.list_job_events(job, seen.after, 500).await.map_err(|_| ())?;
        let full = lines.len() == 500;
        for line in lines {
            seen.after = Some(line.id);
            if seen.lines.insert(line.id) {
                let event = StreamEvent { kind: StreamKind::Log, job: None, event: Some(EventOut::from(line)) };
                tx.send(event).await.map_err(|_| ())?;
            }
        }
        if !full {
            break;
        }
    }
    if current.status.is_finished() {
        tx.send(job_event(StreamKind::Done, &current)).await.map_err(|_| ())?;
        return Ok(true);
    }
    if seen.state.as_ref().is_some_and(|s| *s != state) {
        tx.send(job_event(StreamKind::Job, &current)).await.map_err(|_| ())?;
    }
    seen.state = Some(state);
    Ok(false)
}

/// Resolves when the service announces a change of `job` (or missed some announcements).
async fn announced(updates: &mut broadcast::Receiver<JobUpdate>, job: JobId) {
    loop {
        match updates.recv().await {
            Ok(update) if update.job_id == job => return,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}

async fn follow(
    store: Store,
    mut updates: broadcast::Receiver<JobUpdate>,
    mut closing: watch::Receiver<bool>,
    job: JobId,
    after: Option<JobEventId>,
    tx: mpsc::Sender<StreamEvent>,
) {
    let mut seen = Seen { after, lines: HashSet::new(), state: None };
    loop {
        match sync(&store, job, &mut seen, &tx).await {
            Ok(false) => {}
            Ok(true) | Err(()) => return,
        }
        tokio::select! {
            () = announced(&mut updates, job) => {}
            () = tokio::time::sleep(POLL) => {}
            () = tx.closed() => return,
            // The server is shutting down: end the stream so the client reconnects elsewhere.
            _ = closing.wait_for(|c| *c) => return,
        }
    }
}

//! Argon2id password hashes (PHC strings), computed off the async threads, a bounded number
//! at a time.

use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicUsize, Ordering},
};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use synkro_core::domain::PasswordHash;
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// How many callers may wait for a hash per hash running; more are refused at once.
const WAITING_PER_RUNNING: usize = 8;

/// The process's hashing slots: each argon2 hash holds about 19 MiB while it runs, so at most
/// twice the processor count run at once, a bounded queue waits, and the rest are refused with
/// 503 — memory stays bounded however many logins arrive together.
struct Gate {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

fn gate() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(|| {
        let slots = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get) * 2;
        Gate {
            running: Arc::new(Semaphore::new(slots)),
            waiting: AtomicUsize::new(0),
            max_waiting: slots * WAITING_PER_RUNNING,
        }
    })
}

/// Takes a place in the queue; gives it back when dropped (also when the caller goes away).
struct InQueue(&'static Gate);

impl Drop for InQueue {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs `work` on a blocking thread once a hashing slot is free; `Busy` when the queue is full.
/// The slot is held by the blocking work itself, so a caller that goes away cannot free it early.
async fn gated<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    let gate = gate();
    if gate.waiting.fetch_add(1, Ordering::SeqCst) >= gate.max_waiting {
        gate.waiting.fetch_sub(1, Ordering::SeqCst);
        return Err(ApiError::Busy);
    }
    let queued = InQueue(gate);
    let slot = gate.running.clone().acquire_owned().await.map_err(ApiError::internal)?;
    drop(queued);
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        work()
    })
    .await
    .map_err(ApiError::internal)
}

/// A hash verified against when the user does not exist, so that unknown usernames take as
/// long as wrong passwords.
fn dummy() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("no user has this password").map(|h| h.as_phc().to_owned()).unwrap_or_default())
}

/// Hashes a password with argon2id and a fresh random salt.
pub fn hash(password: &str) -> Result<PasswordHash, ApiError> {
    let hash = Argon2::default().hash_password(password.as_bytes()).map_err(ApiError::internal)?;
    Ok(PasswordHash::from_phc(hash.to_string()))
}

/// [`hash`] on a blocking thread, in a hashing slot (`Busy` when too many wait).
pub async fn hash_async(password: String) -> Result<PasswordHash, ApiError> {
    gated(move || hash(&password)).await?
}

/// Whether `password` matches `hash`; with no hash, spends the same time and says no.
pub fn verify(password: &str, hash: Option<&PasswordHash>) -> bool {
    let phc = match hash {
        Some(h) => h.as_phc(),
        None => dummy(),
    };
    let ok = Argon2::default().verify_password(password.as_bytes(), phc).is_ok();
    ok && hash.is_some()
}

/// [`verify`] on a blocking thread, in a hashing slot (`Busy` when too many wait).
pub async fn verify_async(password: String, hash: Option<PasswordHash>) -> Result<bool, ApiError> {
    gated(move || verify(&password, hash.as_ref())).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash("correct horse").unwrap();
        let b = hash("correct horse").unwrap();
        assert!(a.as_phc().starts_with("$argon2id$"), "{}", a.as_phc());
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify("correct horse", Some(&a)));
        assert!(!verify("wrong", Some(&a)));
        assert!(!verify("anything", None));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_the_running_slots_and_the_queue_callers_are_turned_away_at_once() {
        let gate = gate();
        let slots = gate.running.available_permits();
        let capacity = slots + gate.max_waiting;
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Arc::new(std::sync::Mutex::new(released));
        // Fill every slot with work that waits, then the queue.
        let mut held = Vec::new();
        for _ in 0..capacity {
            let released = released.clone();
            held.push(tokio::spawn(gated(move || {
                let _ = released.lock().map(|r| r.recv());
            })));
        }
        while gate.waiting.load(Ordering::SeqCst) < gate.max_waiting {
            tokio::task::yield_now().await;
        }
        assert!(matches!(gated(|| ()).await, Err(ApiError::Busy)), "one more caller is refused at once");
        for _ in 0..capacity {
            let _ = release.send(());
        }
        for task in held {
            assert!(task.await.unwrap().is_ok(), "the queued callers all ran");
        }
        assert!(gated(|| ()).await.is_ok(), "and the gate is open again");
    }
}

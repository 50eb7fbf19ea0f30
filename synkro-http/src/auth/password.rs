//! Argon2id password hashes (PHC strings), computed off the async threads, a bounded number
//! at a time.

use std::sync::{Mutex, OnceLock, mpsc};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use synkro_core::domain::PasswordHash;

use crate::error::ApiError;

/// How many hashes may wait per hashing thread; more are refused at once.
const WAITING_PER_THREAD: usize = 8;

/// A piece of hashing work for one of the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

/// The process's hashing threads: each argon2 hash holds about 19 MiB while it runs, so twice
/// the processor count of dedicated threads run them (the allocator keeps a freed hash's memory
/// for the thread that used it, so a fixed set of threads also bounds what stays resident), a
/// bounded queue waits, and the rest are refused with 503 at once — memory stays bounded
/// however many logins arrive together.
fn hashers() -> &'static mpsc::SyncSender<Job> {
    static QUEUE: OnceLock<mpsc::SyncSender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let threads = hashing_threads();
        let (queue, jobs) = mpsc::sync_channel::<Job>(threads * WAITING_PER_THREAD);
        let jobs = std::sync::Arc::new(Mutex::new(jobs));
        for i in 0..threads {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new().name(format!("synkro-hash-{i}")).spawn(move || {
                loop {
                    let job = match jobs.lock() {
                        Ok(jobs) => jobs.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        queue
    })
}

/// Twice the processor count.
fn hashing_threads() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get) * 2
}

/// Runs `work` on a hashing thread; `Busy` at once when the queue is full.
async fn gated<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(work());
    });
    match hashers().try_send(job) {
        Ok(()) => result.await.map_err(ApiError::internal),
        Err(mpsc::TrySendError::Full(_)) => Err(ApiError::Busy),
        Err(mpsc::TrySendError::Disconnected(_)) => Err(ApiError::Internal),
    }
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

/// [`hash`] on a hashing thread (`Busy` when too many wait).
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

/// [`verify`] on a hashing thread (`Busy` when too many wait).
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
    async fn past_the_hashing_threads_and_their_queue_callers_are_turned_away_at_once() {
        let threads = hashing_threads();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = std::sync::Arc::new(Mutex::new(released));
        let (started, mut running) = tokio::sync::mpsc::unbounded_channel::<()>();
        // Keep every hashing thread busy.
        let mut held = Vec::new();
        for _ in 0..threads {
            let (released, started) = (released.clone(), started.clone());
            held.push(tokio::spawn(gated(move || {
                let _ = started.send(());
                let _ = released.lock().map(|r| r.recv());
            })));
        }
        for _ in 0..threads {
            running.recv().await.unwrap();
        }
        // Every thread holds its job: fill whatever room the queue still has.
        while hashers().try_send(Box::new(|| ())).is_ok() {}
        assert!(matches!(gated(|| ()).await, Err(ApiError::Busy)), "a caller past the queue is refused at once");
        for _ in 0..threads * 2 {
            let _ = release.send(());
        }
        for task in held {
            let _ = task.await.unwrap();
        }
        assert!(gated(|| ()).await.is_ok(), "and the hashing threads take work again");
    }
}

//! argon2id password hashing with OWASP's parameters (m = 19 MiB, t = 2, p = 1).
//!
//! Each hash holds 19 MiB for tens of milliseconds of CPU, so hashes run on threads of their
//! own, one per core, each keeping its 19 MiB between hashes: a burst of sign-ins queues
//! instead of exhausting memory or starving the async runtime, and memory under any load stays
//! at threads × 19 MiB. The queue is bounded too. The threads run at a lower priority than the
//! rest of the server, so a sign-in storm slows sign-ins, not the console.

use argon2::password_hash::{Output, PasswordHash, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use model::policy::normalize;
use rand::rngs::OsRng;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, oneshot};

use crate::error::{DomainError, DomainResult};

/// A password as typed. Not `Serialize`, and its `Debug` hides it, so it cannot end up in a
/// response or a log line by accident.
pub struct Password(String);

impl Password {
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// A PHC-format argon2id hash, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordDigest(pub String);

impl fmt::Debug for PasswordDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordDigest(…)")
    }
}

/// One hash or verification, handed to a hashing thread with that thread's work memory.
type Work = Box<dyn FnOnce(&mut [Block]) + Send>;

#[derive(Clone)]
pub struct Hasher {
    /// Room for the hashes running and those queued behind them; past it a request is turned
    /// away at once ([`DomainError::Busy`]) instead of joining a queue that only grows.
    admission: Arc<Semaphore>,
    /// The queue the hashing threads take work from; they end when the last `Hasher` clone
    /// is dropped.
    queue: mpsc::Sender<Work>,
    threads: usize,
    /// Verified against when the account does not exist or has no password, so that the
    /// answer takes as long as for a real account and timing does not reveal who exists.
    dummy: Arc<PasswordDigest>,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher")
            .field("threads", &self.threads)
            .field("room", &self.admission.available_permits())
            .finish()
    }
}

/// OWASP's argon2id parameters: every hash Latchkey writes uses them.
const M_COST: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const OUTPUT_LEN: usize = 32;
/// Hashes that may wait per thread: at 7 to 15 ms a hash, the last in a full queue waits one
/// to two seconds, which a person signing in would rather do than be told to try again (a
/// browser without scripts shows that as a page, and the password must be typed again), and
/// which is far within any client's timeout. A queue of half a second (32) turned away 1,219
/// of a storm of 2,000 sign-ins from 200 clients (`make bench`); this one, none.
pub const QUEUE_PER_THREAD: usize = 128;
/// What a turned-away request is told: try again in this many seconds.
pub const BUSY_RETRY_SECS: u64 = 1;

/// The argon2id parameters every hash uses (OWASP's): public so the bench's raw-argon2
/// reference measures the same work.
pub fn params() -> Params {
    Params::new(M_COST, T_COST, P_COST, Some(OUTPUT_LEN))
        .expect("OWASP argon2 parameters are valid")
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
}

fn busy() -> DomainError {
    DomainError::Busy {
        retry_after_secs: BUSY_RETRY_SECS,
    }
}

fn failed(e: impl fmt::Display) -> DomainError {
    DomainError::Internal(format!("hashing failed: {e}"))
}

/// The PHC string of a new hash, computed in `memory`.
fn hash_blocking(password: &str, memory: &mut [Block]) -> DomainResult<PasswordDigest> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes).map_err(failed)?;
    let mut out = [0u8; OUTPUT_LEN];
    argon2()
        .hash_password_into_with_memory(normalize(password).as_bytes(), raw_salt, &mut out, memory)
        .map_err(failed)?;
    let output = Output::new(&out).map_err(failed)?;
    Ok(PasswordDigest(format!(
        "$argon2id$v=19$m={M_COST},t={T_COST},p={P_COST}${}${output}",
        salt.as_str()
    )))
}

/// Whether `password` matches `digest`. A hash with Latchkey's parameters is computed in
/// `memory`; one with others (written by another system, or before a change) the library's
/// own way.
fn verify_blocking(password: &str, digest: &str, memory: &mut [Block]) -> bool {
    let Ok(parsed) = PasswordHash::new(digest) else {
        return false;
    };
    let password = normalize(password);
    let ours = parsed.algorithm == argon2::ARGON2ID_IDENT
        && parsed.version == Some(0x13)
        && Params::try_from(&parsed)
            .is_ok_and(|p| (p.m_cost(), p.t_cost(), p.p_cost()) == (M_COST, T_COST, P_COST))
        && parsed.hash.is_some_and(|h| h.len() == OUTPUT_LEN);
    if !ours {
        return Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
    }
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(raw_salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = [0u8; OUTPUT_LEN];
    argon2()
        .hash_password_into_with_memory(password.as_bytes(), raw_salt, &mut out, memory)
        .is_ok()
        // `Output`'s equality takes the same time wherever the bytes differ.
        && Output::new(&out).is_ok_and(|actual| actual == expected)
}

/// A hashing thread, below the request threads' priority: takes work from the queue until the
/// `Hasher` is gone, in a 19 MiB buffer allocated at its first hash and kept: memory stays at
/// threads × 19 MiB however many sign-ins arrive, and no sign-in waits for an allocation.
fn hashing_thread(queue: Arc<Mutex<mpsc::Receiver<Work>>>) {
    crate::priority::run_below_requests("hashing thread");
    let mut memory: Option<Vec<Block>> = None;
    loop {
        // The lock is held only while waiting: the next thread waits for the next work.
        let next = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(work) = next else { return };
        let buffer = memory.get_or_insert_with(|| vec![Block::default(); params().block_count()]);
        // A panic loses that one answer (its caller gets an error), not the thread.
        if catch_unwind(AssertUnwindSafe(|| work(buffer))).is_err() {
            memory = None;
        }
    }
}

impl Hasher {
    /// `threads` hashes run at once; the rest wait their turn.
    pub fn new(threads: usize) -> DomainResult<Self> {
        let threads = threads.max(1);
        let mut memory = vec![Block::default(); params().block_count()];
        let dummy = hash_blocking("latchkey dummy password for timing", &mut memory)?;
        drop(memory);
        let (queue, receiver) = mpsc::channel::<Work>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..threads {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || hashing_thread(receiver))
                .map_err(|e| DomainError::Internal(format!("no hashing thread: {e}")))?;
        }
        Ok(Self {
            admission: Arc::new(Semaphore::new(threads * (1 + QUEUE_PER_THREAD))),
            queue,
            threads,
            dummy: Arc::new(dummy),
        })
    }

    /// One hash per core (at least two): memory stays bounded at about 19 MiB each.
    pub fn for_this_machine() -> DomainResult<Self> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cores.max(2))
    }

    pub async fn hash(&self, password: &Password) -> DomainResult<PasswordDigest> {
        let password = password.as_str().to_owned();
        self.run(move |memory| hash_blocking(&password, memory))
            .await?
    }

    /// Checks a password against a stored hash; with no hash, burns the same work and fails.
    /// [`DomainError::Busy`] when too many are already waiting: never read that as a wrong
    /// password (it would count towards a lock) or as a mismatch (it would let a reused
    /// password through).
    pub async fn verify(
        &self,
        password: &Password,
        digest: Option<&PasswordDigest>,
    ) -> DomainResult<bool> {
        let (digest, real) = match digest {
            Some(d) => (d.0.clone(), true),
            None => (self.dummy.0.clone(), false),
        };
        let password = password.as_str().to_owned();
        let matched = self
            .run(move |memory| verify_blocking(&password, &digest, memory))
            .await?;
        Ok(matched && real)
    }

    /// Turns a check away ([`DomainError::Busy`]) if the queue has no room for it at this
    /// moment: for a check with work to do before it, so that in a storm a sign-in is turned
    /// away before it writes its rate-limit counts and reads the account. It takes no place in
    /// the queue (a request that a rate limit then refuses must not hold one), so the check
    /// may still be turned away when it comes.
    pub fn ensure_room(&self) -> DomainResult<()> {
        if self.admission.available_permits() == 0 {
            return Err(busy());
        }
        Ok(())
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> DomainResult<T> {
        let admitted = self
            .admission
            .clone()
            .try_acquire_owned()
            .map_err(|_| busy())?;
        let (answer, answered) = oneshot::channel();
        let work: Work = Box::new(move |memory| {
            // The place in the queue is held until the work is done or dropped.
            let _admitted = admitted;
            // A caller that has gone (its client hung up) no longer needs the answer.
            if !answer.is_closed() {
                let _ = answer.send(work(memory));
            }
        });
        self.queue
            .send(work)
            .map_err(|_| DomainError::Internal("the hashing threads have stopped".into()))?;
        answered
            .await
            .map_err(|_| DomainError::Internal("hashing failed on its thread".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_owasp_parameters() {
        let hasher = Hasher::new(2).unwrap();
        let digest = hasher
            .hash(&Password::new("correct horse battery staple"))
            .await
            .unwrap();
        assert!(digest.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            hasher
                .verify(
                    &Password::new("correct horse battery staple"),
                    Some(&digest)
                )
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(&Password::new("correct horse battery stapl"), Some(&digest))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn equivalent_unicode_forms_verify() {
        let hasher = Hasher::new(1).unwrap();
        let digest = hasher
            .hash(&Password::new("café café café café"))
            .await
            .unwrap();
        let decomposed = "cafe\u{301} cafe\u{301} cafe\u{301} cafe\u{301}";
        assert!(
            hasher
                .verify(&Password::new(decomposed), Some(&digest))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_missing_hash_never_verifies() {
        let hasher = Hasher::new(1).unwrap();
        assert!(
            !hasher
                .verify(&Password::new("latchkey dummy password for timing"), None)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn hashes_run_below_the_requests_priority() {
        let hasher = Hasher::new(2).unwrap();
        let ours = rustix::process::getpriority_process(None).unwrap();
        let theirs = hasher
            .run(|_| rustix::process::getpriority_process(None).unwrap())
            .await
            .unwrap();
        assert_eq!(
            theirs,
            (ours + crate::priority::NICER_BY).min(crate::priority::NICEST)
        );
    }

    #[tokio::test]
    async fn past_the_queue_a_check_is_turned_away_not_queued() {
        let hasher = Hasher::new(1).unwrap();
        let room = 1 + QUEUE_PER_THREAD;
        let checks: Vec<_> = (0..room + 5)
            .map(|_| {
                let hasher = hasher.clone();
                tokio::spawn(async move {
                    hasher
                        .verify(&Password::new("correct horse battery staple"), None)
                        .await
                })
            })
            .collect();
        let mut busy = 0;
        for check in checks {
            match check.await.unwrap() {
                Ok(matched) => assert!(!matched),
                Err(DomainError::Busy { retry_after_secs }) => {
                    assert_eq!(retry_after_secs, BUSY_RETRY_SECS);
                    busy += 1;
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(busy, 5, "only those past the queue's room are turned away");
        // The queue drained: the next check is served.
        let digest = hasher
            .hash(&Password::new("another one here"))
            .await
            .unwrap();
        assert!(
            hasher
                .verify(&Password::new("another one here"), Some(&digest))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn hashes_with_other_parameters_still_verify() {
        // Written by another system (an import) or under earlier parameters.
        let params = Params::new(8_192, 1, 1, None).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        let other = argon2::password_hash::PasswordHasher::hash_password(
            &Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            b"correct horse battery staple",
            &salt,
        )
        .unwrap()
        .to_string();
        let hasher = Hasher::new(1).unwrap();
        let digest = PasswordDigest(other);
        let right = Password::new("correct horse battery staple");
        assert!(hasher.verify(&right, Some(&digest)).await.unwrap());
        let wrong = Password::new("correct horse battery stapler");
        assert!(!hasher.verify(&wrong, Some(&digest)).await.unwrap());
    }
}

//! argon2id password hashing with OWASP's parameters (m = 19 MiB, t = 2, p = 1).
//!
//! Each hash holds 19 MiB for tens of milliseconds of CPU, so it runs on the blocking pool and
//! a semaphore bounds how many run at once: a burst of sign-ins queues instead of exhausting
//! memory or starving the async runtime.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use model::policy::normalize;
use rand::rngs::OsRng;
use std::fmt;
use std::sync::Arc;
use tokio::sync::Semaphore;

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

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// Verified against when the account does not exist or has no password, so that the
    /// answer takes as long as for a real account and timing does not reveal who exists.
    dummy: Arc<PasswordDigest>,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher")
            .field("available_permits", &self.permits.available_permits())
            .finish()
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> DomainResult<PasswordDigest> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(normalize(password).as_bytes(), &salt)
        .map(|h| PasswordDigest(h.to_string()))
        .map_err(|e| DomainError::Internal(format!("hashing failed: {e}")))
}

fn verify_blocking(password: &str, digest: &str) -> bool {
    PasswordHash::new(digest)
        .map(|parsed| {
            argon2()
                .verify_password(normalize(password).as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

impl Hasher {
    /// `concurrency` hashes run at once; the rest wait their turn.
    pub fn new(concurrency: usize) -> DomainResult<Self> {
        let dummy = hash_blocking("latchkey dummy password for timing")?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
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
        self.run(move || hash_blocking(&password)).await?
    }

    /// Checks a password against a stored hash; with no hash, burns the same work and fails.
    pub async fn verify(&self, password: &Password, digest: Option<&PasswordDigest>) -> bool {
        let (digest, real) = match digest {
            Some(d) => (d.0.clone(), true),
            None => (self.dummy.0.clone(), false),
        };
        let password = password.as_str().to_owned();
        let matched = self
            .run(move || verify_blocking(&password, &digest))
            .await
            .unwrap_or(false);
        matched && real
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> DomainResult<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| DomainError::Internal("hasher closed".into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| DomainError::Internal(format!("hashing task failed: {e}")))
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
        );
        assert!(
            !hasher
                .verify(&Password::new("correct horse battery stapl"), Some(&digest))
                .await
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
        );
    }

    #[tokio::test]
    async fn a_missing_hash_never_verifies() {
        let hasher = Hasher::new(1).unwrap();
        assert!(
            !hasher
                .verify(&Password::new("latchkey dummy password for timing"), None)
                .await
        );
    }
}

//! Rate limits on what anyone may ask without signing in: sign-in, "Forgot your password?"
//! and first-run setup, per client address and per account name. Counted in the database, so
//! several instances agree, and keyed by a SHA-256 of the address or typed name. A limited
//! account answers the same way whether or not it exists.

use model::time::Timestamp;
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::error::{DomainError, DomainResult};
use crate::store::limits;

/// One kind of counter: what it counts, how many per window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Sign-in attempts from one address: caps the argon2 work one client can ask for.
    SignInFromAddress,
    /// Failed sign-ins from one address: anyone who knows a username can lock it, so an
    /// address guessing is stopped first, before it locks the accounts it tries.
    FailuresFromAddress,
    /// Sign-in attempts at one typed name, from anywhere (and a signed-in person confirming
    /// their password, by username).
    SignInToAccount,
    /// "Forgot your password?" requests from one address.
    ForgotFromAddress,
    /// "Forgot your password?" requests for one typed name.
    ForgotForAccount,
    /// First-run setup, from one address.
    SetupFromAddress,
}

impl Gate {
    /// (hits allowed per window, window in seconds)
    pub fn limit(self) -> (i64, i64) {
        match self {
            Gate::SignInFromAddress => (120, 60),
            Gate::FailuresFromAddress => (50, 15 * 60),
            Gate::SignInToAccount => (30, 60),
            Gate::ForgotFromAddress => (20, 15 * 60),
            Gate::ForgotForAccount => (5, 15 * 60),
            Gate::SetupFromAddress => (20, 15 * 60),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Gate::SignInFromAddress => "sign_in_address",
            Gate::FailuresFromAddress => "failures_address",
            Gate::SignInToAccount => "sign_in_account",
            Gate::ForgotFromAddress => "forgot_address",
            Gate::ForgotForAccount => "forgot_account",
            Gate::SetupFromAddress => "setup_address",
        }
    }

    fn bucket(self, key: &str) -> String {
        let digest = Sha256::digest(format!("{}\0{}", self.name(), key.trim().to_lowercase()));
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("{}:{hex}", self.name())
    }

    fn window_ms(self) -> i64 {
        self.limit().1 * 1000
    }

    /// Refuses once `count` exceeds the allowance; `spent` refuses once it reaches it (a look
    /// before the request, which is not counted itself).
    fn refusal(self, count: limits::Count, now: Timestamp, spent: bool) -> DomainResult<()> {
        let allowed = self.limit().0;
        if count.hits < allowed || (count.hits == allowed && !spent) {
            return Ok(());
        }
        let ends = count.window_start.millis() + self.window_ms();
        let seconds = ((ends - now.millis()) + 999) / 1000;
        Err(DomainError::RateLimited {
            retry_after_secs: u64::try_from(seconds.max(1)).unwrap_or(1),
        })
    }
}

/// Counts one request through `gate` for `key`, refusing it when the window's allowance is
/// spent. A request without a key (no client address known) is not counted.
pub async fn admit(db: &Db, gate: Gate, key: Option<&str>) -> DomainResult<()> {
    admit_all(db, &[(gate, key)]).await
}

/// Counts one request through each of `gates` for its key, in one write to the database, and
/// refuses it when any of their allowances is spent (with the longest wait among them). Every
/// gate counts the request, also when another gate refuses it. Gates without a key are not
/// counted.
pub async fn admit_all(db: &Db, gates: &[(Gate, Option<&str>)]) -> DomainResult<()> {
    let (counted, buckets): (Vec<Gate>, Vec<(String, i64)>) = gates
        .iter()
        .filter_map(|&(gate, key)| key.map(|key| (gate, (gate.bucket(key), gate.window_ms()))))
        .unzip();
    if counted.is_empty() {
        return Ok(());
    }
    let now = Timestamp::now();
    let counts = limits::hit_all(db, &buckets, now).await?;
    let longest = counted
        .iter()
        .zip(counts)
        .filter_map(|(gate, count)| match gate.refusal(count, now, false) {
            Err(DomainError::RateLimited { retry_after_secs }) => Some(retry_after_secs),
            _ => None,
        })
        .max();
    match longest {
        Some(retry_after_secs) => Err(DomainError::RateLimited { retry_after_secs }),
        None => Ok(()),
    }
}

/// Refuses when `gate`'s allowance for `key` is already spent, without counting: for counters
/// only failures add to ([`record`]).
pub async fn check(db: &Db, gate: Gate, key: Option<&str>) -> DomainResult<()> {
    let Some(key) = key else { return Ok(()) };
    let now = Timestamp::now();
    match limits::peek(db, &gate.bucket(key), gate.window_ms(), now).await? {
        Some(count) => gate.refusal(count, now, true),
        None => Ok(()),
    }
}

/// Counts one failure for `key` through `gate`.
pub async fn record(db: &Db, gate: Gate, key: Option<&str>) -> DomainResult<()> {
    let Some(key) = key else { return Ok(()) };
    limits::hit(db, &gate.bucket(key), gate.window_ms(), Timestamp::now()).await?;
    Ok(())
}

/// Drops counters whose windows are long over; run now and then by the server.
pub async fn purge(db: &Db) -> DomainResult<u64> {
    let day_ago = Timestamp::now().plus_seconds(-24 * 3600);
    limits::purge(db, day_ago).await
}

use model::fields::FieldError;
use model::policy::PolicyViolation;

/// What can go wrong in the domain, in terms a caller can act on. The `app` crate maps each to
/// an HTTP status and a message; the database's own text never leaves the server.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("{0}")]
    Invalid(#[from] FieldError),
    #[error("the password does not meet the policy")]
    Policy(Vec<PolicyViolation>),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// A failed sign-in or a missing session. Deliberately says nothing about which part failed.
    #[error("invalid username or password")]
    Unauthenticated,
    /// A reset link that is unknown, used, voided or expired: which one is never told.
    #[error("the link is not valid")]
    LinkInvalid,
    #[error("forbidden")]
    Forbidden,
    /// Too many requests of this kind from this address or for this name: try again later.
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// More sign-ins are waiting for the password hasher than it can serve soon: try again.
    #[error("the server is busy; try again in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// A dangerous operation from a session whose password was typed too long ago.
    #[error("confirm your password to continue")]
    ConfirmationRequired,
    /// The database cannot be reached (down, restarting, or every connection busy): nothing
    /// was changed, and the same request may simply be tried again.
    #[error("the database is unavailable: {0}")]
    Unavailable(sqlx::Error),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type DomainResult<T> = Result<T, DomainError>;

/// How long a caller should wait before trying again when the database is unavailable.
pub const UNAVAILABLE_RETRY_SECS: u64 = 5;

impl From<sqlx::Error> for DomainError {
    fn from(e: sqlx::Error) -> Self {
        if is_unreachable(&e) {
            DomainError::Unavailable(e)
        } else {
            DomainError::Database(e)
        }
    }
}

/// Whether an error says the database could not be reached, rather than that a statement
/// failed: no connection, a connection lost, or PostgreSQL shutting down or starting up
/// (SQLSTATE class 08, and 57P01–57P03).
fn is_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
        _ => false,
    }
}

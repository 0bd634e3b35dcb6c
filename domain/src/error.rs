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
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type DomainResult<T> = Result<T, DomainError>;

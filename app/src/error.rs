//! The one error type every server function returns: variants a person can act on, each with an
//! HTTP status. The server logs causes; the browser only ever sees these messages.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No session, or it expired.
    #[error("Please sign in to continue.")]
    Unauthenticated,
    /// A failed sign-in: the same words whatever went wrong, so they reveal no account.
    #[error("Invalid username or password.")]
    InvalidCredentials,
    #[error("You do not have permission to do that.")]
    Forbidden,
    /// Sudo mode: a dangerous operation, and the password was typed too long ago.
    #[error("Confirm your password to continue: you last entered it more than 15 minutes ago.")]
    ConfirmationRequired,
    #[error("That was not found.")]
    NotFound,
    /// Bad input: which field, and what to change.
    #[error("{reason}")]
    Invalid { field: String, reason: String },
    #[error("{0}")]
    Conflict(String),
    /// An expired, used or unknown reset link: one message for all three.
    #[error("This link is not valid any more. It may have expired or been used already.")]
    LinkInvalid,
    /// The answer carries `Retry-After` with the same number of seconds.
    #[error("Too many attempts. Try again in {}.", model::time::in_words(*retry_after))]
    RateLimited { retry_after: u64 },
    #[error("The server could not be reached. Check your connection and try again.")]
    Unavailable,
    /// The database cannot be reached (restarting, say): nothing changed; the answer carries
    /// `Retry-After`.
    #[error("The database cannot be reached right now. Nothing was changed; try again in {}.", model::time::in_words(*retry_after))]
    StoreUnavailable { retry_after: u64 },
    /// Too many sign-ins at once for the password hasher: the answer carries `Retry-After`.
    #[error("The server is busy. Try again in {}.", model::time::in_words(*retry_after))]
    Busy { retry_after: u64 },
    #[error("Something went wrong on the server. It has been logged; please try again.")]
    Internal,
}

impl AppError {
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        AppError::Invalid {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => 401,
            AppError::Forbidden | AppError::ConfirmationRequired => 403,
            AppError::NotFound => 404,
            AppError::Invalid { .. } => 400,
            AppError::Conflict(_) => 409,
            AppError::LinkInvalid => 410,
            AppError::RateLimited { .. } => 429,
            AppError::Unavailable | AppError::Busy { .. } | AppError::StoreUnavailable { .. } => {
                503
            }
            AppError::Internal => 500,
        }
    }

    /// The field an error belongs to, so a form can show it beside that input.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<model::fields::FieldError> for AppError {
    fn from(e: model::fields::FieldError) -> Self {
        AppError::Invalid {
            field: e.field,
            reason: e.reason,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The request did not fit the function: a missing, extra or mistyped field.
            ServerFnErrorErr::Args(reason) | ServerFnErrorErr::MissingArg(reason) => {
                AppError::invalid("request", format!("Malformed request: {reason}"))
            }
            ServerFnErrorErr::Request(_) => AppError::Unavailable,
            _ => AppError::Internal,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<domain::DomainError> for AppError {
    fn from(e: domain::DomainError) -> Self {
        use domain::DomainError as D;
        match e {
            D::Invalid(field) => field.into(),
            D::Policy(violations) => AppError::invalid(
                "password",
                violations
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            D::NotFound => AppError::NotFound,
            D::Conflict(message) => AppError::Conflict(message),
            D::Forbidden => AppError::Forbidden,
            D::ConfirmationRequired => AppError::ConfirmationRequired,
            D::RateLimited { retry_after_secs } => AppError::RateLimited {
                retry_after: retry_after_secs,
            },
            D::Busy { retry_after_secs } => AppError::Busy {
                retry_after: retry_after_secs,
            },
            D::LinkInvalid => AppError::LinkInvalid,
            D::Unauthenticated => AppError::InvalidCredentials,
            D::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                AppError::StoreUnavailable {
                    retry_after: domain::error::UNAVAILABLE_RETRY_SECS,
                }
            }
            D::Database(cause) => {
                tracing::error!(error = %cause, "database error");
                AppError::Internal
            }
            D::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                AppError::Internal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant with the status it must answer; a new variant fails to compile here until
    /// it is listed.
    fn every_variant() -> Vec<(AppError, u16)> {
        let all = vec![
            (AppError::Unauthenticated, 401),
            (AppError::InvalidCredentials, 401),
            (AppError::Forbidden, 403),
            (AppError::ConfirmationRequired, 403),
            (AppError::NotFound, 404),
            (
                AppError::invalid("email", "Enter an address like name@example.com."),
                400,
            ),
            (AppError::Conflict("taken".into()), 409),
            (AppError::LinkInvalid, 410),
            (AppError::RateLimited { retry_after: 90 }, 429),
            (AppError::Unavailable, 503),
            (AppError::Busy { retry_after: 1 }, 503),
            (AppError::StoreUnavailable { retry_after: 5 }, 503),
            (AppError::Internal, 500),
        ];
        for (e, _) in &all {
            match e {
                AppError::Unauthenticated
                | AppError::InvalidCredentials
                | AppError::Forbidden
                | AppError::ConfirmationRequired
                | AppError::NotFound
                | AppError::Invalid { .. }
                | AppError::Conflict(_)
                | AppError::LinkInvalid
                | AppError::RateLimited { .. }
                | AppError::Unavailable
                | AppError::Busy { .. }
                | AppError::StoreUnavailable { .. }
                | AppError::Internal => {}
            }
        }
        all
    }

    #[test]
    fn every_error_has_its_status_and_round_trips_as_json() {
        for (e, status) in every_variant() {
            assert_eq!(e.status(), status, "{e:?}");
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<AppError>(&json).unwrap(), e);
            assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn malformed_arguments_become_a_request_error() {
        let e = AppError::from_server_fn_error(ServerFnErrorErr::Args("missing field".into()));
        assert_eq!(e.status(), 400);
        assert_eq!(e.field(), Some("request"));
    }
}

//! Resets an administrator starts (an emailed link, a temporary password, a generated password)
//! and the delivery state of the emails they cause, as the reset status card shows them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::UnknownValue;
use crate::time::Timestamp;

/// How long a Send Password Change Link link stays good, in minutes.
pub const LINK_MINUTES_DEFAULT: i64 = 60;
pub const LINK_MINUTES_MIN: i64 = 5;
pub const LINK_MINUTES_MAX: i64 = 24 * 60;

/// The choices the Send Password Change Link dialog offers for the link's lifetime.
pub const LINK_LIFETIME_CHOICES: [(i64, &str); 6] = [
    (5, "5 minutes"),
    (15, "15 minutes"),
    (60, "1 hour"),
    (4 * 60, "4 hours"),
    (12 * 60, "12 hours"),
    (24 * 60, "24 hours"),
];

/// Minutes before Resend Email is offered again, unless the last email failed.
pub const RESEND_COOLDOWN_MINUTES: i64 = 15;

/// Whether a link lifetime (minutes) is one the server accepts.
pub fn valid_link_minutes(minutes: i64) -> bool {
    (LINK_MINUTES_MIN..=LINK_MINUTES_MAX).contains(&minutes)
}

/// A link lifetime as a form field: every path that issues a link (one user, Bulk Change)
/// refuses the same values with the same words.
pub fn check_link_minutes(minutes: i64) -> Result<(), crate::fields::FieldError> {
    if valid_link_minutes(minutes) {
        Ok(())
    } else {
        Err(crate::fields::FieldError::new(
            "minutes",
            "A link must stay valid for at least 5 minutes and at most 24 hours.",
        ))
    }
}

/// How a password change link reaches its user, as the form posts it (`email` or `show`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkDelivery {
    /// Queued in the outbox to the address on the account.
    #[serde(rename = "email")]
    Email,
    /// Shown once to the administrator (Copy link), for a user who cannot get email.
    #[serde(rename = "show")]
    Shown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResetKind {
    Link,
    TemporaryPassword,
    EmailedPassword,
}

impl ResetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResetKind::Link => "link",
            ResetKind::TemporaryPassword => "temporary_password",
            ResetKind::EmailedPassword => "emailed_password",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ResetKind::Link => "Password change link",
            ResetKind::TemporaryPassword => "Temporary password",
            ResetKind::EmailedPassword => "Generated password (emailed)",
        }
    }
}

impl FromStr for ResetKind {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            ResetKind::Link,
            ResetKind::TemporaryPassword,
            ResetKind::EmailedPassword,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

/// Where an email is on its way out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryState {
    Queued,
    Sending,
    Sent,
    Failed,
    Cancelled,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    /// The state as the console shows it.
    pub fn label(self) -> &'static str {
        match self {
            DeliveryState::Queued => "Queued",
            DeliveryState::Sending => "Sending",
            DeliveryState::Sent => "Sent",
            DeliveryState::Failed => "Failed",
            DeliveryState::Cancelled => "Withdrawn (not sent)",
        }
    }
}

impl EmailStatus {
    /// "Sent to ada@example.com at …", "Failed to … — 550 No such user": one line for the
    /// console. The error is shown only while it matters (not once a retry went through).
    pub fn describe(&self) -> String {
        let mut text = format!("{} to {}", self.state.label(), self.to);
        if let Some(at) = self.sent_at {
            text.push_str(&format!(" at {at}"));
        }
        if let Some(error) = self
            .last_error
            .as_ref()
            .filter(|_| self.state != DeliveryState::Sent)
        {
            text.push_str(&format!(" — {error}"));
        }
        text
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryState {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            DeliveryState::Queued,
            DeliveryState::Sending,
            DeliveryState::Sent,
            DeliveryState::Failed,
            DeliveryState::Cancelled,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

/// One email's delivery, as an administrator may see it (never its body).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmailStatus {
    pub to: String,
    pub state: DeliveryState,
    pub attempts: i64,
    /// The SMTP server's answer (or the connection error) of the last failed attempt.
    pub last_error: Option<String>,
    pub sent_at: Option<Timestamp>,
}

/// One email Latchkey sent (or is sending) to a user, for the details panel: its subject and
/// where it is, never its body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmailRecord {
    pub subject: String,
    pub queued_at: Timestamp,
    pub status: EmailStatus,
}

/// The reset status card: the latest reset of a user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResetStatus {
    pub id: String,
    pub kind: ResetKind,
    pub created_at: Timestamp,
    pub created_by: Option<String>,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    pub voided_at: Option<Timestamp>,
    pub void_reason: Option<String>,
    pub invalidated_password: bool,
    pub email: Option<EmailStatus>,
}

impl ResetStatus {
    pub fn is_outstanding(&self, now: Timestamp) -> bool {
        self.used_at.is_none() && self.voided_at.is_none() && self.expires_at > now
    }

    /// When Resend Email becomes available: at once if the last email failed or the link
    /// expired, else after the cooldown. `None` when there is nothing to resend.
    pub fn resend_available_at(&self, now: Timestamp) -> Option<Timestamp> {
        // A Copy link went to no mailbox: there is no email to send again. A voided link was
        // revoked or overtaken by a later reset or password change; resending it would undo
        // that (and might kill a password an administrator has just set).
        if self.kind != ResetKind::Link
            || self.used_at.is_some()
            || self.voided_at.is_some()
            || self.email.is_none()
        {
            return None;
        }
        let failed = self
            .email
            .as_ref()
            .is_some_and(|e| e.state == DeliveryState::Failed);
        if failed || !self.is_outstanding(now) {
            Some(now)
        } else {
            Some(self.created_at.plus_seconds(RESEND_COOLDOWN_MINUTES * 60))
        }
    }

    pub fn may_resend(&self, now: Timestamp) -> bool {
        self.resend_available_at(now).is_some_and(|at| at <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(created: i64, state: DeliveryState) -> ResetStatus {
        ResetStatus {
            id: "r".into(),
            kind: ResetKind::Link,
            created_at: Timestamp(created),
            created_by: Some("admin".into()),
            expires_at: Timestamp(created + 3_600_000),
            used_at: None,
            voided_at: None,
            void_reason: None,
            invalidated_password: true,
            email: Some(EmailStatus {
                to: "a@example.com".into(),
                state,
                attempts: 1,
                last_error: None,
                sent_at: None,
            }),
        }
    }

    #[test]
    fn resend_waits_for_the_cooldown_unless_the_email_failed() {
        let sent = link(0, DeliveryState::Sent);
        assert!(!sent.may_resend(Timestamp(14 * 60_000)));
        assert!(sent.may_resend(Timestamp(15 * 60_000)));
        assert!(link(0, DeliveryState::Failed).may_resend(Timestamp(1)));
        let shown = ResetStatus {
            email: None,
            ..sent
        };
        assert_eq!(shown.resend_available_at(Timestamp(16 * 60_000)), None);
    }

    #[test]
    fn a_voided_link_is_never_resent() {
        for state in [DeliveryState::Sent, DeliveryState::Failed] {
            let revoked = ResetStatus {
                voided_at: Some(Timestamp(60_000)),
                void_reason: Some("revoked".into()),
                ..link(0, state)
            };
            assert_eq!(revoked.resend_available_at(Timestamp(16 * 60_000)), None);
        }
        let expired = link(0, DeliveryState::Sent);
        assert!(expired.may_resend(Timestamp(2 * 3_600_000)));
    }

    #[test]
    fn link_lifetimes_are_bounded() {
        assert!(!valid_link_minutes(4));
        assert!(valid_link_minutes(5));
        assert!(valid_link_minutes(1440));
        assert!(!valid_link_minutes(1441));
        assert!(
            LINK_LIFETIME_CHOICES
                .iter()
                .all(|(m, _)| valid_link_minutes(*m))
        );
    }
}

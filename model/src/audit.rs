//! Management > Audit and the Activity tab: what the browser asks of the audit trail, and the
//! names of the events in it.

use serde::{Deserialize, Serialize};

use crate::fields::FieldError;
use crate::query::query_string;
use crate::time::Timestamp;
use crate::user::AuditEntry;

/// Every action the trail records, by its stored name, with the words the filter shows.
pub const ACTIONS: [(&str, &str); 32] = [
    ("sign_in", "Sign-in"),
    ("sign_out", "Sign-out"),
    ("account.locked", "Account locked"),
    ("account.unlocked", "Account unlocked"),
    ("access.denied", "Access denied"),
    ("session.password_confirmed", "Password confirmed"),
    ("setup.first_administrator", "First administrator"),
    ("password.force_reset", "Force Password Reset on Next Login"),
    ("password.set", "Change Password"),
    ("password.change_own", "Own password changed"),
    ("password.reset_link", "Password change link sent"),
    ("password.reset_link_opened", "Password change link opened"),
    (
        "password.reset_link_refused",
        "Used or expired link presented",
    ),
    (
        "password.reset_revoked",
        "Link or temporary password revoked",
    ),
    ("password.reset_requested", "Forgot your password? request"),
    ("password.reset_completed", "Password set from a link"),
    ("password.temporary", "Temporary password"),
    ("password.generated", "Generate New Password"),
    ("bulk.previewed", "Bulk Change previewed"),
    ("bulk.started", "Bulk Change started"),
    ("bulk.stopped", "Bulk Change stopped"),
    ("user.created", "User created"),
    ("user.edited", "User edited"),
    ("user.deleted", "User deleted"),
    ("user.role_changed", "Role changed"),
    ("user.imported", "Users imported"),
    ("settings.changed", "Settings changed"),
    ("email.sent", "Email sent"),
    ("email.failed", "Email failed"),
    ("email.test", "Test email"),
    ("template.changed", "Template changed"),
    ("template.restored", "Template restored"),
];

pub const OUTCOMES: [&str; 3] = ["success", "failure", "denied"];

/// The filters of Management > Audit, as the form sends them. Empty means "any".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditFilter {
    /// A username (as it was when the event happened), exact, any case.
    pub actor: String,
    pub target: String,
    pub action: String,
    pub outcome: String,
    /// `YYYY-MM-DD`, UTC, inclusive.
    pub from: String,
    pub to: String,
}

/// A filter checked: names trimmed, dates turned into a half-open range of instants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckedFilter {
    pub actor: Option<String>,
    pub target: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

fn some(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

impl AuditFilter {
    pub fn check(&self) -> Result<CheckedFilter, FieldError> {
        let date = |field: &str, raw: &str| -> Result<Option<Timestamp>, FieldError> {
            match some(raw) {
                None => Ok(None),
                Some(text) => Timestamp::from_date(&text)
                    .map(Some)
                    .ok_or_else(|| FieldError::new(field, "Enter a date as YYYY-MM-DD.")),
            }
        };
        let action = some(&self.action);
        if let Some(action) = &action
            && !ACTIONS.iter().any(|(name, _)| name == action)
        {
            return Err(FieldError::new("action", "Choose an action from the list."));
        }
        let outcome = some(&self.outcome);
        if let Some(outcome) = &outcome
            && !OUTCOMES.contains(&outcome.as_str())
        {
            return Err(FieldError::new(
                "outcome",
                "Choose success, failure or denied.",
            ));
        }
        let from = date("from", &self.from)?;
        // Inclusive of the whole "to" day.
        let until = date("to", &self.to)?.map(|t| t.plus_seconds(86_400));
        if let (Some(from), Some(until)) = (from, until)
            && until <= from
        {
            return Err(FieldError::new(
                "to",
                "The end date is before the start date.",
            ));
        }
        Ok(CheckedFilter {
            actor: some(&self.actor),
            target: some(&self.target),
            action,
            outcome,
            from,
            until,
        })
    }

    /// The filter as a query string, for the CSV export's address.
    pub fn query(&self) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("actor", &self.actor),
            ("target", &self.target),
            ("action", &self.action),
            ("outcome", &self.outcome),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .iter()
        .map(|(k, v)| (*k, v.trim()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
        query_string(&pairs)
    }
}

/// One page of events, newest first, and the id to ask for older ones.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub older: Option<i64>,
}

/// Sign-ins and failed sign-ins on one UTC day, for the Activity chart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    /// Days since 1970-01-01.
    pub day: i64,
    pub sign_ins: u32,
    pub failures: u32,
}

/// The Activity tab: the newest events and the last 30 days of sign-ins, oldest day first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub entries: Vec<AuditEntry>,
    pub days: Vec<DayCount>,
}

/// The days the Activity chart covers.
pub const ACTIVITY_DAYS: i64 = 30;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_is_checked_field_by_field() {
        let filter = AuditFilter {
            actor: " root ".into(),
            action: "sign_in".into(),
            from: "2026-12-01".into(),
            to: "2026-12-01".into(),
            ..AuditFilter::default()
        };
        let checked = filter.check().unwrap();
        assert_eq!(checked.actor.as_deref(), Some("root"));
        assert_eq!(
            checked.until.unwrap().millis() - checked.from.unwrap().millis(),
            86_400_000,
            "a one-day range covers the whole day"
        );
        let bad = AuditFilter {
            action: "drop table".into(),
            ..AuditFilter::default()
        };
        assert_eq!(bad.check().unwrap_err().field, "action");
        let backwards = AuditFilter {
            from: "2026-12-02".into(),
            to: "2026-12-01".into(),
            ..AuditFilter::default()
        };
        assert_eq!(backwards.check().unwrap_err().field, "to");
        assert_eq!(
            filter.query(),
            "actor=root&action=sign_in&from=2026-12-01&to=2026-12-01"
        );
    }
}

//! Bulk Change: which users an operation applies to and why others are skipped, the job's
//! progress, and its per-user outcomes. The skip rule is here, once, for the preview dialog and
//! for the job that does the work.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::UnknownValue;
use crate::eligibility::{Operation, refusal};
use crate::time::Timestamp;
use crate::user::Role;

/// The operations Bulk Change offers; posted by their `as_str` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkKind {
    /// "Reset Password": force a password reset at next login.
    ForceReset,
    /// "Send Password Change Link".
    SendLink,
}

/// Which users a Bulk Change form means: the ticked ones, or every user matching the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Ids,
    Search,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ids => "ids",
            Scope::Search => "search",
        }
    }
}

impl BulkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkKind::ForceReset => "force_reset",
            BulkKind::SendLink => "send_link",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            BulkKind::ForceReset => "Reset Password",
            BulkKind::SendLink => "Send Password Change Link",
        }
    }
}

impl FromStr for BulkKind {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [BulkKind::ForceReset, BulkKind::SendLink]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

/// Why a selected user is left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SkipReason {
    /// The administrator running the job: resetting your own password in bulk would sign you
    /// out in the middle of it. Use Account > Change Password.
    Yourself,
    External,
    /// The acting role may not manage this user's password (a Password Manager and an
    /// administrator's account).
    NotPermitted,
    Inactive,
    AlreadyFlagged,
    NoEmail,
}

impl SkipReason {
    pub const ALL: [SkipReason; 6] = [
        SkipReason::Yourself,
        SkipReason::NotPermitted,
        SkipReason::AlreadyFlagged,
        SkipReason::Inactive,
        SkipReason::NoEmail,
        SkipReason::External,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Yourself => "yourself",
            SkipReason::External => "external",
            SkipReason::NotPermitted => "not_permitted",
            SkipReason::Inactive => "inactive",
            SkipReason::AlreadyFlagged => "already_flagged",
            SkipReason::NoEmail => "no_email",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SkipReason::Yourself => "your own account (change it under Account)",
            SkipReason::External => "password managed in an external directory",
            SkipReason::NotPermitted => "only an administrator may manage this password",
            SkipReason::Inactive => "account disabled",
            SkipReason::AlreadyFlagged => "a reset is already pending",
            SkipReason::NoEmail => "no email address",
        }
    }

    /// The reason as a sentence, for the details panel and a refused operation's message.
    pub fn sentence(self) -> &'static str {
        match self {
            SkipReason::Yourself => {
                "This is your own account: use Change your password, which asks for the current one."
            }
            SkipReason::External => {
                "This user's password is managed in an external directory, not here."
            }
            SkipReason::NotPermitted => "Only an administrator can manage this user's password.",
            SkipReason::Inactive => {
                "This account is disabled. Enable it before changing or resetting its password."
            }
            SkipReason::AlreadyFlagged => "A password reset is already pending for this user.",
            SkipReason::NoEmail => "This user has no email address.",
        }
    }
}

impl FromStr for SkipReason {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SkipReason::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What the skip rule needs to know of a user: the eligibility rule's target.
pub type Candidate = crate::eligibility::Target;

impl BulkKind {
    /// The single operation each bulk kind runs per user.
    pub fn operation(self) -> Operation {
        match self {
            BulkKind::ForceReset => Operation::ForceReset,
            BulkKind::SendLink => Operation::IssueReset { emailed: true },
        }
    }
}

/// Whether `kind` skips this user, and why: the eligibility rule for an administrator, as
/// only administrators run Bulk Change.
pub fn skip_reason(kind: BulkKind, user: Candidate) -> Option<SkipReason> {
    refusal(Role::Administrator, kind.operation(), &user)
}

/// The preview dialog: how many are affected, who is skipped and why, before anything changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BulkPreview {
    pub kind: BulkKind,
    /// What OK sends back with the start, so starting twice (a double click, a retry) creates
    /// one job, not two.
    pub request_key: String,
    pub selected: u64,
    pub affected: u64,
    pub skipped: Vec<(SkipReason, u64)>,
    /// The first skipped users by username, to show by name.
    pub examples: Vec<(String, SkipReason)>,
}

/// A finished user in a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemOutcome {
    Reset,
    LinkQueued,
    Skipped,
    Failed,
}

impl ItemOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemOutcome::Reset => "reset",
            ItemOutcome::LinkQueued => "link_queued",
            ItemOutcome::Skipped => "skipped",
            ItemOutcome::Failed => "failed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ItemOutcome::Reset => "Reset",
            ItemOutcome::LinkQueued => "Link queued",
            ItemOutcome::Skipped => "Skipped",
            ItemOutcome::Failed => "Failed",
        }
    }
}

impl FromStr for ItemOutcome {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            ItemOutcome::Reset,
            ItemOutcome::LinkQueued,
            ItemOutcome::Skipped,
            ItemOutcome::Failed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

/// A job as its progress page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BulkJob {
    pub id: String,
    pub kind: BulkKind,
    pub created_by: String,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub total: u64,
    pub processed: u64,
    /// Counts by outcome (and, for links, by email state once known).
    pub tally: Vec<(String, u64)>,
}

impl BulkJob {
    pub fn is_done(&self) -> bool {
        self.finished_at.is_some()
    }

    /// Whole percent done, for the progress bar.
    pub fn percent(&self) -> u64 {
        (self.processed * 100)
            .checked_div(self.total)
            .unwrap_or(100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::UserSource;

    fn candidate() -> Candidate {
        Candidate {
            is_actor: false,
            role: Role::User,
            source: UserSource::Local,
            active: true,
            must_change_password: false,
            has_email: true,
        }
    }

    #[test]
    fn skip_reasons_follow_the_operation() {
        assert_eq!(skip_reason(BulkKind::ForceReset, candidate()), None);
        let flagged = Candidate {
            must_change_password: true,
            ..candidate()
        };
        assert_eq!(
            skip_reason(BulkKind::ForceReset, flagged),
            Some(SkipReason::AlreadyFlagged)
        );
        assert_eq!(skip_reason(BulkKind::SendLink, flagged), None);
        let no_email = Candidate {
            has_email: false,
            ..candidate()
        };
        assert_eq!(
            skip_reason(BulkKind::SendLink, no_email),
            Some(SkipReason::NoEmail)
        );
        let external = Candidate {
            source: UserSource::External,
            active: false,
            ..candidate()
        };
        assert_eq!(
            skip_reason(BulkKind::SendLink, external),
            Some(SkipReason::External)
        );
        let me = Candidate {
            is_actor: true,
            ..candidate()
        };
        assert_eq!(
            skip_reason(BulkKind::ForceReset, me),
            Some(SkipReason::Yourself)
        );
    }
}

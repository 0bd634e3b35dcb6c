//! "May this operation apply to this user, and if not, why?" — one rule, which the details
//! panel uses to offer only what the server allows, the single operations use as their check,
//! and Bulk Change uses to skip users, so the three cannot drift apart.

use crate::bulk::SkipReason;
use crate::user::{Role, UserSource};

/// An operation on another person's password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Force Password Reset on Next Login.
    ForceReset,
    /// Change Password; `emailed` with "Email Password to User".
    SetPassword { emailed: bool },
    /// Send Password Change Link, Copy link, Generate Temporary Password, Generate New
    /// Password; `emailed` when the user is to receive an email.
    IssueReset { emailed: bool },
    /// Reset beside the failed-sign-in count: back to 0, and any lock released.
    ResetFailedSignIns,
}

impl Operation {
    fn emails(self) -> bool {
        match self {
            Operation::ForceReset | Operation::ResetFailedSignIns => false,
            Operation::SetPassword { emailed } | Operation::IssueReset { emailed } => emailed,
        }
    }
}

/// What the rule reads of the target.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// The target is the person acting.
    pub is_actor: bool,
    pub role: Role,
    pub source: UserSource,
    pub active: bool,
    pub must_change_password: bool,
    pub has_email: bool,
}

/// Why `actor` may not apply `operation` to `target`, or `None` when they may. The first
/// reason that applies is the one given.
///
/// - Yourself: your own password is changed under "Change your password", which asks for the
///   current one; from the console a borrowed session could otherwise take over its owner.
/// - A disabled account is refused every password operation, single or bulk: it cannot sign
///   in, so a new password, link or temporary password helps no one and would have run out or
///   been mailed to no one by the time the account is enabled again. Enable it first.
pub fn refusal(actor: Role, operation: Operation, target: &Target) -> Option<SkipReason> {
    let permitted = match actor {
        Role::Administrator => true,
        // The seeds' "Allowed to set passwords": plain users' passwords only, by any of the
        // single operations (the helpdesk's daily work); Bulk Change is refused at the door.
        Role::PasswordManager => target.role == Role::User,
        Role::User => false,
    };
    if target.is_actor {
        Some(SkipReason::Yourself)
    } else if target.source == UserSource::External {
        Some(SkipReason::External)
    } else if !permitted {
        Some(SkipReason::NotPermitted)
    } else if !target.active && operation != Operation::ResetFailedSignIns {
        // Clearing a count only makes an account safer, disabled or not.
        Some(SkipReason::Inactive)
    } else if operation == Operation::ForceReset && target.must_change_password {
        Some(SkipReason::AlreadyFlagged)
    } else if operation.emails() && !target.has_email {
        Some(SkipReason::NoEmail)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> Target {
        Target {
            is_actor: false,
            role: Role::User,
            source: UserSource::Local,
            active: true,
            must_change_password: false,
            has_email: true,
        }
    }

    const SET: Operation = Operation::SetPassword { emailed: false };

    #[test]
    fn the_first_reason_that_applies_is_given() {
        use SkipReason::*;
        let admin = Role::Administrator;
        assert_eq!(refusal(admin, SET, &plain()), None);
        let cases = [
            (
                Target {
                    is_actor: true,
                    ..plain()
                },
                Yourself,
            ),
            (
                Target {
                    source: UserSource::External,
                    active: false,
                    ..plain()
                },
                External,
            ),
            (
                Target {
                    active: false,
                    has_email: false,
                    ..plain()
                },
                Inactive,
            ),
        ];
        for (target, reason) in cases {
            assert_eq!(refusal(admin, SET, &target), Some(reason));
        }
        let flagged = Target {
            must_change_password: true,
            ..plain()
        };
        assert_eq!(
            refusal(admin, Operation::ForceReset, &flagged),
            Some(AlreadyFlagged)
        );
        assert_eq!(refusal(admin, SET, &flagged), None);
        let no_email = Target {
            has_email: false,
            ..plain()
        };
        assert_eq!(
            refusal(admin, Operation::IssueReset { emailed: true }, &no_email),
            Some(NoEmail)
        );
        assert_eq!(
            refusal(admin, Operation::IssueReset { emailed: false }, &no_email),
            None
        );
    }

    #[test]
    fn a_password_manager_manages_plain_users_passwords_only() {
        let helpdesk = Role::PasswordManager;
        assert_eq!(refusal(helpdesk, SET, &plain()), None);
        for role in [Role::Administrator, Role::PasswordManager] {
            let target = Target { role, ..plain() };
            assert_eq!(
                refusal(helpdesk, SET, &target),
                Some(SkipReason::NotPermitted)
            );
        }
        for operation in [
            Operation::ForceReset,
            Operation::IssueReset { emailed: true },
            Operation::IssueReset { emailed: false },
        ] {
            assert_eq!(refusal(helpdesk, operation, &plain()), None);
        }
        assert_eq!(
            refusal(Role::User, SET, &plain()),
            Some(SkipReason::NotPermitted)
        );
        // The seeds delegate resetting local users' locks to the helpdesk too.
        let reset = Operation::ResetFailedSignIns;
        assert_eq!(refusal(helpdesk, reset, &plain()), None);
        let boss = Target {
            role: Role::Administrator,
            ..plain()
        };
        assert_eq!(
            refusal(helpdesk, reset, &boss),
            Some(SkipReason::NotPermitted)
        );
        let disabled = Target {
            active: false,
            ..plain()
        };
        assert_eq!(refusal(Role::Administrator, reset, &disabled), None);
    }
}

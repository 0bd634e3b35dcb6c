//! Adding, editing and deleting people and granting roles: what the Add user form sends, and
//! who may change whose account. The details panel offers only what [`account_refusal`]
//! allows, and the server checks the same rule before it changes anything.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

use crate::UnknownValue;
use crate::eligibility::Target;
use crate::user::{Role, UserSource};

/// How a person added by an administrator first gets in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// A welcome email with a single-use link to set their own password.
    #[default]
    WelcomeLink,
    /// A temporary password shown once to the administrator, to hand over.
    TemporaryPassword,
    /// Nothing yet: a password or link can be sent later from the details panel.
    Nothing,
}

impl Access {
    pub const ALL: [Access; 3] = [
        Access::WelcomeLink,
        Access::TemporaryPassword,
        Access::Nothing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Access::WelcomeLink => "welcome_link",
            Access::TemporaryPassword => "temporary_password",
            Access::Nothing => "nothing",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Access::WelcomeLink => "Send a welcome email with a Password Change Link",
            Access::TemporaryPassword => "Generate Temporary Password (shown once)",
            Access::Nothing => "Nothing yet",
        }
    }
}

impl FromStr for Access {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Access::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

/// A change to someone's account, as opposed to their password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountChange {
    /// Display name and email.
    Edit,
    /// Is Active off (or on again).
    SetActive,
    Delete,
    /// Grant or revoke Administrator or Password Manager.
    ChangeRole,
}

/// Why `actor` may not make `change` to `target`'s account, or `None` when they may. Whether
/// the change would leave no active administrator is the server's to say: it needs a count
/// taken under a lock.
pub fn account_refusal(
    actor: Role,
    change: AccountChange,
    target: &Target,
) -> Option<&'static str> {
    if actor != Role::Administrator {
        Some("Only an administrator can change accounts.")
    } else if target.source == UserSource::External {
        Some(
            "This user comes from an external directory and is read-only here: change them in \
             that directory.",
        )
    } else if target.is_actor && change != AccountChange::Edit {
        // A slip of the mouse must not lock the only person who can undo it out of the
        // console; another administrator can do it.
        Some("You cannot deactivate, delete or change the role of your own account.")
    } else {
        None
    }
}

/// Why a new person cannot get in by `access`, if they cannot.
pub fn access_refusal(
    access: Access,
    has_email: bool,
    active: bool,
) -> Option<(&'static str, &'static str)> {
    match access {
        Access::Nothing => None,
        _ if !active => Some((
            "access",
            "An inactive user cannot sign in: choose \"Nothing yet\", or make them active.",
        )),
        Access::WelcomeLink if !has_email => Some((
            "email",
            "Enter an email address to send the welcome email to, or choose another way in.",
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(is_actor: bool) -> Target {
        Target {
            is_actor,
            role: Role::Administrator,
            source: UserSource::Local,
            active: true,
            must_change_password: false,
            has_email: true,
        }
    }

    #[test]
    fn only_administrators_change_accounts_and_never_their_own_standing() {
        let admin = Role::Administrator;
        for change in [
            AccountChange::Edit,
            AccountChange::SetActive,
            AccountChange::Delete,
            AccountChange::ChangeRole,
        ] {
            assert_eq!(account_refusal(admin, change, &local(false)), None);
            assert!(account_refusal(Role::PasswordManager, change, &local(false)).is_some());
            let external = Target {
                source: UserSource::External,
                ..local(false)
            };
            assert!(account_refusal(admin, change, &external).is_some());
        }
        assert_eq!(
            account_refusal(admin, AccountChange::Edit, &local(true)),
            None
        );
        assert!(account_refusal(admin, AccountChange::ChangeRole, &local(true)).is_some());
    }

    #[test]
    fn a_welcome_link_needs_an_address_and_an_active_account() {
        assert_eq!(
            access_refusal(Access::WelcomeLink, false, true).unwrap().0,
            "email"
        );
        assert_eq!(
            access_refusal(Access::TemporaryPassword, false, false)
                .unwrap()
                .0,
            "access"
        );
        assert_eq!(access_refusal(Access::Nothing, false, false), None);
        assert_eq!(access_refusal(Access::WelcomeLink, true, true), None);
        for access in Access::ALL {
            assert_eq!(access.as_str().parse::<Access>().unwrap(), access);
        }
    }
}

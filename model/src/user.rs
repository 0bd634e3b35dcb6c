//! Users as the console shows them, and who may do what.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

use crate::UnknownValue;
use std::fmt;
use std::str::FromStr;

/// A user's public id: a random UUID, so ids in shared URLs say nothing about how many users
/// there are or who came first.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub String);

/// User ids as a form posts them: one field, separated by commas (the ticked rows of the Users
/// table).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserIds(pub Vec<UserId>);

impl Serialize for UserIds {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let joined: Vec<&str> = self.0.iter().map(|id| id.0.as_str()).collect();
        serializer.serialize_str(&joined.join(","))
    }
}

impl<'de> Deserialize<'de> for UserIds {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(UserIds(
            text.split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(|id| UserId(id.to_owned()))
                .collect(),
        ))
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Holds the User Management permission: everything in the console.
    Administrator,
    /// Helpdesk: may set the passwords of non-admin, local users and nothing else.
    PasswordManager,
    /// Signs in to manage their own password only.
    User,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    /// Find, read and change any user; set policy and templates; read the audit trail.
    UserManagement,
    /// Set the password of a non-administrator, local user (the "Allowed to set passwords" seed).
    SetPasswords,
}

impl Permission {
    /// What a refusal says the caller lacked, for the audit trail.
    pub fn needed(self) -> &'static str {
        match self {
            Permission::UserManagement => "needs the Administrator role",
            Permission::SetPasswords => "needs the Administrator or Password Manager role",
        }
    }
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Administrator, Role::PasswordManager, Role::User];

    pub fn has(self, permission: Permission) -> bool {
        match self {
            Role::Administrator => true,
            Role::PasswordManager => permission == Permission::SetPasswords,
            Role::User => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::PasswordManager => "password_manager",
            Role::User => "user",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Administrator => "Administrator",
            Role::PasswordManager => "Password Manager",
            Role::User => "User",
        }
    }

    /// Where a person of this role lands after signing in.
    pub fn home(self) -> &'static str {
        match self {
            Role::Administrator | Role::PasswordManager => "/users",
            Role::User => "/account",
        }
    }
}

impl FromStr for Role {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

/// Where a user's password lives. External users come from another directory: Latchkey lists
/// them but can never set or reset their passwords.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserSource {
    Local,
    External,
}

impl UserSource {
    pub fn as_str(self) -> &'static str {
        match self {
            UserSource::Local => "local",
            UserSource::External => "external",
        }
    }
}

impl FromStr for UserSource {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "local" => Ok(UserSource::Local),
            "external" => Ok(UserSource::External),
            other => Err(UnknownValue(other.to_owned())),
        }
    }
}

/// The signed-in person, as the browser needs to know them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    /// The password policy refuses a password that contains it.
    pub email: Option<String>,
    pub role: Role,
}

impl Me {
    pub fn can(&self, permission: Permission) -> bool {
        self.role.has(permission)
    }
}

/// What the browser knows of its session: who, and whether they must change their password
/// before anything else.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub me: Me,
    pub password_change_required: bool,
}

/// One row of the Users table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub source: UserSource,
    pub active: bool,
    pub must_change_password: bool,
    pub locked_until: Option<Timestamp>,
}

/// The badges a row shows, in the order they are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusBadge {
    Active,
    Disabled,
    External,
    Locked,
    ResetPending,
}

impl StatusBadge {
    pub fn label(self) -> &'static str {
        match self {
            StatusBadge::Active => "active",
            StatusBadge::Disabled => "disabled",
            StatusBadge::External => "external",
            StatusBadge::Locked => "locked",
            StatusBadge::ResetPending => "reset pending",
        }
    }

    pub fn css_class(self) -> &'static str {
        match self {
            StatusBadge::Active => "badge badge-active",
            StatusBadge::Disabled => "badge badge-disabled",
            StatusBadge::External => "badge badge-external",
            StatusBadge::Locked => "badge badge-locked",
            StatusBadge::ResetPending => "badge badge-pending",
        }
    }
}

impl UserSummary {
    /// `now` comes from the server with the page, so a lock that expired shows as expired.
    pub fn badges(&self, now: Timestamp) -> Vec<StatusBadge> {
        let mut badges = vec![if self.active {
            StatusBadge::Active
        } else {
            StatusBadge::Disabled
        }];
        if self.source == UserSource::External {
            badges.push(StatusBadge::External);
        }
        if self.locked_until.is_some_and(|until| until > now) {
            badges.push(StatusBadge::Locked);
        }
        if self.must_change_password {
            badges.push(StatusBadge::ResetPending);
        }
        badges
    }
}

/// A page of the Users table. `next` is the keyset cursor of the following page, if any.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserPage {
    pub users: Vec<UserSummary>,
    pub next: Option<String>,
    pub now: Timestamp,
}

/// The details panel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserDetails {
    pub summary: UserSummary,
    pub password_changed_at: Option<Timestamp>,
    pub failed_logins: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub now: Timestamp,
    /// The latest link or temporary password, for the reset status card.
    pub reset: Option<crate::reset::ResetStatus>,
    /// The newest emails to the user, with their delivery state.
    pub emails: Vec<crate::reset::EmailRecord>,
    /// Whether Generate New Password (emailing a password) is allowed by the security settings.
    pub emailed_passwords_allowed: bool,
    /// How long a temporary or generated password works, from the security settings.
    pub temporary_password_hours: i64,
}

/// One line of the audit trail. Never carries a password or a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The event's place in the trail: pages continue from it.
    pub id: i64,
    pub at: Timestamp,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub action: String,
    pub outcome: String,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_travel_as_one_comma_separated_field() {
        let ids: UserIds = serde_json::from_str("\" a, b,,c \"").unwrap();
        assert_eq!(ids.0, ["a", "b", "c"].map(|id| UserId(id.into())));
        assert_eq!(serde_json::to_string(&ids).unwrap(), "\"a,b,c\"");
        assert!(
            serde_json::from_str::<UserIds>("\"\"")
                .unwrap()
                .0
                .is_empty()
        );
    }

    #[test]
    fn only_administrators_manage_users() {
        assert!(Role::Administrator.has(Permission::UserManagement));
        assert!(!Role::PasswordManager.has(Permission::UserManagement));
        assert!(Role::PasswordManager.has(Permission::SetPasswords));
        assert!(!Role::User.has(Permission::SetPasswords));
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn badges_reflect_state_at_the_given_instant() {
        let now = Timestamp(1_000_000);
        let mut user = UserSummary {
            id: UserId("u".into()),
            username: "ada".into(),
            display_name: "Ada".into(),
            email: None,
            role: Role::User,
            source: UserSource::External,
            active: false,
            must_change_password: true,
            locked_until: Some(Timestamp(2_000_000)),
        };
        assert_eq!(
            user.badges(now),
            vec![
                StatusBadge::Disabled,
                StatusBadge::External,
                StatusBadge::Locked,
                StatusBadge::ResetPending
            ]
        );
        user.locked_until = Some(Timestamp(10));
        user.active = true;
        user.source = UserSource::Local;
        user.must_change_password = false;
        assert_eq!(user.badges(now), vec![StatusBadge::Active]);
    }
}

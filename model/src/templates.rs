//! Management > Templates: the emails an administrator may word for their organisation, and the
//! variables each may use. The server renders and checks them; the browser lists what exists.

use serde::{Deserialize, Serialize};

/// An email whose words an administrator may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    /// Send Password Change Link, one or in bulk.
    PasswordChangeLink,
    /// Add user or import with a welcome email: a link to choose the first password.
    Welcome,
    /// Generate Temporary Password or Generate New Password, sent to the person.
    AccessInfo,
    /// After any password change: the owner hears of it.
    PasswordChanged,
}

/// A variable a template may use, with what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    pub meaning: &'static str,
}

const DISPLAY_NAME: Variable = Variable {
    name: "display_name",
    meaning: "the person's display name",
};
const USERNAME: Variable = Variable {
    name: "username",
    meaning: "the username they sign in with",
};
const LINK: Variable = Variable {
    name: "link",
    meaning: "the single-use link (required)",
};
const EXPIRES_IN: Variable = Variable {
    name: "expires_in",
    meaning: "how long it works, such as \"60 minutes\"",
};
const EXPIRES_AT: Variable = Variable {
    name: "expires_at",
    meaning: "when it stops working (UTC)",
};
const PASSWORD: Variable = Variable {
    name: "password",
    meaning: "the temporary password",
};
const SIGN_IN_URL: Variable = Variable {
    name: "sign_in_url",
    meaning: "the sign-in page",
};
const CHANGED_AT: Variable = Variable {
    name: "changed_at",
    meaning: "when the password was changed (UTC)",
};

impl TemplateKind {
    pub const ALL: [TemplateKind; 4] = [
        TemplateKind::PasswordChangeLink,
        TemplateKind::Welcome,
        TemplateKind::AccessInfo,
        TemplateKind::PasswordChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::PasswordChangeLink => "password_change_link",
            TemplateKind::Welcome => "welcome",
            TemplateKind::AccessInfo => "access_info",
            TemplateKind::PasswordChanged => "password_changed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            TemplateKind::PasswordChangeLink => "Password Change Link",
            TemplateKind::Welcome => "Welcome",
            TemplateKind::AccessInfo => "Access Info",
            TemplateKind::PasswordChanged => "Password Changed",
        }
    }

    /// The variables this template may use; any other is refused when it is saved.
    pub fn variables(self) -> &'static [Variable] {
        match self {
            TemplateKind::PasswordChangeLink | TemplateKind::Welcome => {
                &[DISPLAY_NAME, USERNAME, LINK, EXPIRES_IN, EXPIRES_AT]
            }
            TemplateKind::AccessInfo => &[
                DISPLAY_NAME,
                USERNAME,
                PASSWORD,
                SIGN_IN_URL,
                EXPIRES_IN,
                EXPIRES_AT,
            ],
            TemplateKind::PasswordChanged => &[DISPLAY_NAME, USERNAME, CHANGED_AT],
        }
    }

    /// A link email without its link would leave the person with no way in.
    pub fn requires(self) -> Option<&'static str> {
        match self {
            TemplateKind::PasswordChangeLink | TemplateKind::Welcome => Some("link"),
            TemplateKind::AccessInfo => Some("password"),
            TemplateKind::PasswordChanged => None,
        }
    }
}

/// One template's three parts, as stored and as edited.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateText {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Limits that keep a template an email: a subject on one line, bodies of a sensible size.
pub const SUBJECT_MAX: usize = 200;
pub const BODY_MAX: usize = 32 * 1024;

/// What the Template Manager shows for one template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateView {
    pub kind: TemplateKind,
    pub template: TemplateText,
    /// Whether the organisation changed it (Restore default brings the shipped one back).
    pub customised: bool,
}

/// The template rendered with sample data, as the person would receive it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Sample values for the preview; the server renders with the same ones.
pub fn sample(name: &str) -> &'static str {
    match name {
        "display_name" => "Joan Torvalds",
        "username" => "joan.torvalds",
        "link" => "https://latchkey.example.com/reset/sample-link-not-valid",
        "expires_in" => "60 minutes",
        "expires_at" => "2026-12-04 15:30 UTC",
        "password" => "tidy-OTTER-42-lamp",
        "sign_in_url" => "https://latchkey.example.com/login",
        "changed_at" => "2026-12-04 14:30 UTC",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_and_has_its_required_variable() {
        for kind in TemplateKind::ALL {
            assert_eq!(TemplateKind::parse(kind.as_str()), Some(kind));
            if let Some(required) = kind.requires() {
                assert!(kind.variables().iter().any(|v| v.name == required));
            }
            for variable in kind.variables() {
                assert!(!sample(variable.name).is_empty(), "{}", variable.name);
            }
        }
        assert!(
            !TemplateKind::PasswordChangeLink
                .variables()
                .iter()
                .any(|v| v.name == "password"),
            "a password only in Access Info"
        );
    }
}

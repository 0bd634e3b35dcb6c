//! Rules for the plain text fields a person types: usernames, display names, email addresses.
//!
//! Each check returns the cleaned value or a [`FieldError`] that names the field and says what
//! to fix, so the browser and the server report the same thing in the same words.

use serde::{Deserialize, Serialize};
use std::fmt;

pub const USERNAME_MAX: usize = 64;
pub const DISPLAY_NAME_MAX: usize = 128;
/// RFC 5321's limit on a forward path.
pub const EMAIL_MAX: usize = 254;
pub const SEARCH_MAX: usize = 100;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &str, reason: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for FieldError {}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Control characters (CR and LF above all) in a name or address end up in email headers and
/// log lines; nothing legitimate needs them.
fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

pub fn username(raw: &str) -> Result<String, FieldError> {
    const FIELD: &str = "username";
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new(FIELD, "Enter a username."));
    }
    if char_len(value) > USERNAME_MAX {
        return Err(FieldError::new(
            FIELD,
            format!("A username has at most {USERNAME_MAX} characters."),
        ));
    }
    if !value
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(FieldError::new(
            FIELD,
            "A username may contain letters, digits and . _ - @ only.",
        ));
    }
    Ok(value.to_owned())
}

/// The form used for uniqueness and look-up: `Ada` and `ada` are one account.
pub fn username_key(username: &str) -> String {
    username.trim().to_lowercase()
}

pub fn display_name(raw: &str) -> Result<String, FieldError> {
    const FIELD: &str = "display_name";
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new(FIELD, "Enter a display name."));
    }
    if char_len(value) > DISPLAY_NAME_MAX {
        return Err(FieldError::new(
            FIELD,
            format!("A display name has at most {DISPLAY_NAME_MAX} characters."),
        ));
    }
    if has_control(value) {
        return Err(FieldError::new(
            FIELD,
            "A display name cannot contain line breaks or control characters.",
        ));
    }
    Ok(value.to_owned())
}

/// An optional email address: empty means none. Deliberately simple (one `@`, a dotted domain,
/// no spaces, no header-breaking characters); whether it receives mail is for the mail server
/// to say.
pub fn email(raw: &str) -> Result<Option<String>, FieldError> {
    const FIELD: &str = "email";
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if char_len(value) > EMAIL_MAX {
        return Err(FieldError::new(
            FIELD,
            format!("An email address has at most {EMAIL_MAX} characters."),
        ));
    }
    if has_control(value)
        || value
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, ',' | ';' | '<' | '>' | '"' | '(' | ')'))
    {
        return Err(FieldError::new(
            FIELD,
            "An email address cannot contain spaces, line breaks or , ; < > \" ( ).",
        ));
    }
    let Some((local, domain)) = value.split_once('@') else {
        return Err(FieldError::new(FIELD, "An email address needs an @."));
    };
    let domain_ok = !domain.contains('@')
        && domain.contains('.')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
    if local.is_empty() || !domain_ok {
        return Err(FieldError::new(
            FIELD,
            "Enter an address like name@example.com.",
        ));
    }
    Ok(Some(value.to_owned()))
}

pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// What the sign-in form's first field may hold: a username or an email address.
/// A username or email address typed to name an account (sign-in, "Forgot your password?"),
/// checked the same way wherever it is typed; `field` is the form's name for it.
pub fn login_name(field: &str, raw: &str) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new(
            field,
            "Enter your username or email address.",
        ));
    }
    if char_len(value) > EMAIL_MAX || has_control(value) {
        return Err(FieldError::new(
            field,
            "That is not a username or email address.",
        ));
    }
    Ok(value.to_owned())
}

pub fn search(raw: &str) -> Result<String, FieldError> {
    let value = raw.trim();
    if char_len(value) > SEARCH_MAX {
        return Err(FieldError::new(
            "q",
            format!("Search for at most {SEARCH_MAX} characters."),
        ));
    }
    Ok(value.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_checked() {
        assert_eq!(username("  ada.lovelace ").unwrap(), "ada.lovelace");
        assert_eq!(username("").unwrap_err().field, "username");
        assert!(username("ada lovelace").is_err());
        assert!(username(&"a".repeat(USERNAME_MAX + 1)).is_err());
        assert!(username(&"é".repeat(USERNAME_MAX)).is_ok());
        assert_eq!(username_key("Ada"), username_key("aDA"));
    }

    #[test]
    fn emails_reject_header_injection_and_lists() {
        assert_eq!(email("").unwrap(), None);
        assert_eq!(
            email(" ada@example.com ").unwrap().as_deref(),
            Some("ada@example.com")
        );
        for bad in [
            "ada@example.com\r\nBcc: eve@evil.test",
            "ada@example.com, eve@evil.test",
            "ada",
            "@example.com",
            "ada@localhost",
            "ada@@example.com",
            "Ada <ada@example.com>",
            "ada@-example.com",
        ] {
            assert!(email(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn display_names_refuse_line_breaks() {
        assert!(display_name("Ada\nLovelace").is_err());
        assert_eq!(display_name(" Ada Lovelace ").unwrap(), "Ada Lovelace");
    }

    #[test]
    fn search_terms_are_bounded_and_folded() {
        assert_eq!(search(" ADA ").unwrap(), "ada");
        assert!(search(&"x".repeat(SEARCH_MAX + 1)).is_err());
    }
}

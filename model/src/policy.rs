//! The password policy: one definition that the browser runs for live feedback and every server
//! path that sets a password runs as the real check.
//!
//! Defaults follow NIST SP 800-63B rev. 4 for password-only sign-in: at least 15 characters, at
//! most 128, no composition rules, and a block-list (common passwords, the account's own names).

use serde::{Deserialize, Serialize};
use std::fmt;
use unicode_normalization::UnicodeNormalization;

/// Passwords so common that attackers try them first. Only entries the length rule would not
/// already refuse matter; the list ships with the binary so no look-up leaves the machine.
/// Hand-picked entries first, then every entry of 15 or more characters among the 30,000 most
/// frequent leaked passwords in zxcvbn's frequency list (MIT licence, PyPI `zxcvbn` 4.5.0).
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 15,
            max_length: 128,
        }
    }
}

/// The account a password is for: it must not contain these.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyContext {
    pub username: String,
    pub email: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyViolation {
    TooShort { min: usize, actual: usize },
    TooLong { max: usize },
    ContainsUsername,
    ContainsEmail,
    Common,
}

impl fmt::Display for PolicyViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyViolation::TooShort { min, actual } => {
                write!(f, "Use at least {min} characters (this one has {actual}).")
            }
            PolicyViolation::TooLong { max } => write!(f, "Use at most {max} characters."),
            PolicyViolation::ContainsUsername => f.write_str("Do not include the username."),
            PolicyViolation::ContainsEmail => f.write_str("Do not include the email address."),
            PolicyViolation::Common => {
                f.write_str("This password is too common or predictable: attackers try it first.")
            }
        }
    }
}

/// One line of the live checklist under a password field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub label: String,
    pub met: bool,
}

/// The single normal form in which passwords are measured, hashed and verified, so that the
/// same characters typed on two keyboards (composed or decomposed, full-width or not) match.
pub fn normalize(password: &str) -> String {
    password.nfkc().collect()
}

/// What Confirm Password says when it is not New Password.
pub const MISMATCH: &str = "The two passwords do not match.";

/// Whether Confirm Password repeats New Password: compared as they will be hashed, so two
/// spellings of one NFKC form are the same password. The browser's hint and every server path
/// (setup, admin set, link completion, own change) use this one rule.
pub fn confirms(password: &str, confirm: &str) -> bool {
    password == confirm || normalize(password) == normalize(confirm)
}

impl PasswordPolicy {
    /// A raw input longer than this many bytes is refused before anything else, including
    /// normalisation and hashing: no code point is longer than four bytes in UTF-8.
    pub fn max_input_bytes(&self) -> usize {
        self.max_length * 4
    }

    /// Every rule the password breaks, empty when it is acceptable.
    pub fn violations(&self, password: &str, ctx: &PolicyContext) -> Vec<PolicyViolation> {
        if password.len() > self.max_input_bytes() {
            return vec![PolicyViolation::TooLong {
                max: self.max_length,
            }];
        }
        let normalized = normalize(password);
        let length = normalized.chars().count();
        let mut found = Vec::new();
        if length < self.min_length {
            found.push(PolicyViolation::TooShort {
                min: self.min_length,
                actual: length,
            });
        }
        if length > self.max_length {
            found.push(PolicyViolation::TooLong {
                max: self.max_length,
            });
        }
        let folded = normalized.to_lowercase();
        let username = normalize(ctx.username.trim()).to_lowercase();
        if username.chars().count() >= 3 && folded.contains(&username) {
            found.push(PolicyViolation::ContainsUsername);
        }
        if let Some(email) = ctx.email.as_deref() {
            let email = normalize(email.trim()).to_lowercase();
            let local = email.split('@').next().unwrap_or_default();
            if !email.is_empty()
                && (folded.contains(&email)
                    || (local.chars().count() >= 3 && folded.contains(local)))
            {
                found.push(PolicyViolation::ContainsEmail);
            }
        }
        if is_common(&folded) {
            found.push(PolicyViolation::Common);
        }
        found
    }

    pub fn check(&self, password: &str, ctx: &PolicyContext) -> Result<(), Vec<PolicyViolation>> {
        let found = self.violations(password, ctx);
        if found.is_empty() { Ok(()) } else { Err(found) }
    }

    /// The checklist a person sees while typing, each rule ticked or not.
    pub fn requirements(&self, password: &str, ctx: &PolicyContext) -> Vec<Requirement> {
        let found = self.violations(password, ctx);
        let broken = |pred: fn(&PolicyViolation) -> bool| found.iter().any(pred);
        vec![
            Requirement {
                label: format!("At least {} characters", self.min_length),
                met: !password.is_empty()
                    && !broken(|v| matches!(v, PolicyViolation::TooShort { .. })),
            },
            Requirement {
                label: format!("At most {} characters", self.max_length),
                met: !broken(|v| matches!(v, PolicyViolation::TooLong { .. })),
            },
            Requirement {
                label: "Not the username or email address".to_owned(),
                met: !broken(|v| {
                    matches!(
                        v,
                        PolicyViolation::ContainsUsername | PolicyViolation::ContainsEmail
                    )
                }),
            },
            Requirement {
                label: "Not a common or predictable password".to_owned(),
                met: !password.is_empty() && !broken(|v| matches!(v, PolicyViolation::Common)),
            },
        ]
    }
}

/// Common passwords, and the predictable shapes that block-lists catch: one character repeated,
/// or a short run typed again and again (`abcabcabc…`, `123412341234…`).
fn is_common(folded: &str) -> bool {
    if COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .any(|common| !common.is_empty() && common == folded)
    {
        return true;
    }
    let chars: Vec<char> = folded.chars().collect();
    (1..=4).any(|period| {
        chars.len() >= period * 3
            && chars
                .iter()
                .enumerate()
                .all(|(i, c)| *c == chars[i % period])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmation_compares_normal_forms() {
        assert!(confirms("café au lait 2024", "café au lait 2024"));
        // Composed é against e + combining acute; full-width digits against ASCII ones.
        assert!(confirms("caf\u{e9} au lait", "cafe\u{301} au lait"));
        assert!(confirms("ｐａｓｓ１２３", "pass123"));
        assert!(!confirms("correct horse", "correct horse "));
        assert!(!confirms("abc", ""));
    }

    fn ctx() -> PolicyContext {
        PolicyContext {
            username: "ada.lovelace".into(),
            email: Some("ada@example.com".into()),
        }
    }

    #[test]
    fn accepts_a_long_passphrase() {
        let policy = PasswordPolicy::default();
        assert_eq!(policy.check("correct horse battery staple", &ctx()), Ok(()));
    }

    #[test]
    fn counts_characters_not_bytes_after_normalising() {
        let policy = PasswordPolicy::default();
        // 15 code points, 30 bytes.
        assert!(policy.check("ééééééééééééééx", &ctx()).is_ok());
        // "e" + combining acute normalises to one "é": 14 characters, too short.
        let decomposed = "e\u{301}".repeat(7) + "abcdefg";
        assert_eq!(
            policy.violations(&decomposed, &ctx()),
            vec![PolicyViolation::TooShort {
                min: 15,
                actual: 14
            }]
        );
        assert_eq!(normalize("ｆｕｌｌ"), "full");
    }

    #[test]
    fn refuses_short_long_personal_and_common_passwords() {
        let policy = PasswordPolicy::default();
        assert!(matches!(
            policy.violations("short", &ctx())[..],
            [PolicyViolation::TooShort { actual: 5, .. }, ..]
        ));
        assert_eq!(
            policy.violations(&"x1y2z3".repeat(30), &ctx()),
            vec![PolicyViolation::TooLong { max: 128 }]
        );
        assert!(
            policy
                .violations("my name is ADA.LOVELACE!", &ctx())
                .contains(&PolicyViolation::ContainsUsername)
        );
        assert!(
            policy
                .violations("write to ada@example.com", &ctx())
                .contains(&PolicyViolation::ContainsEmail)
        );
        assert_eq!(
            policy.violations("aaaaaaaaaaaaaaaaaaaa", &ctx()),
            vec![PolicyViolation::Common]
        );
        assert_eq!(
            policy.violations("123412341234123412", &ctx()),
            vec![PolicyViolation::Common]
        );
        assert_eq!(
            policy.violations("PasswordPassword", &ctx()),
            vec![PolicyViolation::Common]
        );
    }

    #[test]
    fn refuses_enormous_input_without_normalising_it() {
        let policy = PasswordPolicy::default();
        let huge = "a".repeat(1 << 20);
        assert_eq!(
            policy.violations(&huge, &ctx()),
            vec![PolicyViolation::TooLong { max: 128 }]
        );
    }

    #[test]
    fn checklist_ticks_what_is_met() {
        let policy = PasswordPolicy::default();
        let reqs = policy.requirements("correct horse battery staple", &ctx());
        assert!(reqs.iter().all(|r| r.met));
        let reqs = policy.requirements("", &ctx());
        assert!(!reqs[0].met);
    }
}

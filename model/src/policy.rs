//! The password policy: one definition that the browser runs for live feedback and every server
//! path that sets a password runs as the real check.
//!
//! Defaults follow NIST SP 800-63B rev. 4 for password-only sign-in: at least 15 characters, at
//! most 128, no composition rules, and a block-list (breached and common passwords, the
//! account's own names, the product's name). An organisation changes the numbers in
//! Management > Password Policy ([`crate::settings`]); the rule stays this one function.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The product's own name: people reach for it when a form asks for a password.
pub const PRODUCT_NAME: &str = "latchkey";

/// The shipped list of breached and common passwords. It lives on the server (it is 2 MB), so
/// the rule takes it as a parameter: the server passes the list, the browser passes the
/// server's answer about the password being typed.
pub trait Blocklist {
    /// Whether `folded` (normalised and lower-cased, as [`fold`] makes it) is on the list.
    fn contains(&self, folded: &str) -> bool;
}

/// No list at all: only the rule's own shapes (repeats) count as common.
pub struct NoList;

impl Blocklist for NoList {
    fn contains(&self, _folded: &str) -> bool {
        false
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
    /// How many of lower case, upper case, digits and other characters a password must mix;
    /// 0 or 1 turns the rule off (the default: NIST advises against composition rules).
    pub min_classes: usize,
}

/// The bounds an organisation may set: never below 8 characters, as NIST's floor for a
/// password that is one factor among several; never a maximum that refuses passphrases.
pub const MIN_LENGTH_FLOOR: usize = 8;
pub const MAX_LENGTH_FLOOR: usize = 128;
pub const MAX_LENGTH_CEILING: usize = 1024;

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 15,
            max_length: 128,
            min_classes: 0,
        }
    }
}

/// The account a password is for: it must not contain these.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyContext {
    pub username: String,
    pub email: Option<String>,
    pub display_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyViolation {
    TooShort { min: usize, actual: usize },
    TooLong { max: usize },
    ContainsUsername,
    ContainsEmail,
    ContainsName,
    ContainsProductName,
    TooFewClasses { needed: usize },
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
            PolicyViolation::ContainsName => f.write_str("Do not include the person's name."),
            PolicyViolation::ContainsProductName => {
                f.write_str("Do not include the name of this product.")
            }
            PolicyViolation::TooFewClasses { needed } => write!(
                f,
                "Mix at least {needed} of: lower case, upper case, digits, other characters."
            ),
            PolicyViolation::Common => f.write_str(
                "This password is on a list of breached or common passwords: attackers try it \
                 first.",
            ),
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
#[cfg(not(target_arch = "wasm32"))]
pub fn normalize(password: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    password.nfkc().collect()
}

/// NFKC as the browser computes it. Its Unicode version may be newer than the server's, which
/// at most changes the live checklist for characters assigned since: what is hashed, and the
/// check that counts, is the server's.
#[cfg(target_arch = "wasm32")]
pub fn normalize(password: &str) -> String {
    js_sys::JsString::from(password).normalize("NFKC").into()
}

/// The form the block-list and the name rules compare: normalised, then lower-cased.
pub fn fold(password: &str) -> String {
    normalize(password).to_lowercase()
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
    pub fn violations(
        &self,
        password: &str,
        ctx: &PolicyContext,
        list: &dyn Blocklist,
    ) -> Vec<PolicyViolation> {
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
        if self.min_classes > 1 && classes(&normalized) < self.min_classes {
            found.push(PolicyViolation::TooFewClasses {
                needed: self.min_classes,
            });
        }
        let folded = normalized.to_lowercase();
        found.extend(personal_violations(&folded, ctx));
        if list.contains(&folded) || is_repetitive(&folded) {
            found.push(PolicyViolation::Common);
        }
        found
    }

    pub fn check(
        &self,
        password: &str,
        ctx: &PolicyContext,
        list: &dyn Blocklist,
    ) -> Result<(), Vec<PolicyViolation>> {
        let found = self.violations(password, ctx, list);
        if found.is_empty() { Ok(()) } else { Err(found) }
    }

    /// The checklist a person sees while typing, each rule ticked or not.
    pub fn requirements(
        &self,
        password: &str,
        ctx: &PolicyContext,
        list: &dyn Blocklist,
    ) -> Vec<Requirement> {
        let found = self.violations(password, ctx, list);
        let broken = |pred: fn(&PolicyViolation) -> bool| found.iter().any(pred);
        let mut lines = vec![
            Requirement {
                label: format!("At least {} characters", self.min_length),
                met: !password.is_empty()
                    && !broken(|v| matches!(v, PolicyViolation::TooShort { .. })),
            },
            Requirement {
                label: format!("At most {} characters", self.max_length),
                met: !broken(|v| matches!(v, PolicyViolation::TooLong { .. })),
            },
        ];
        if self.min_classes > 1 {
            lines.push(Requirement {
                label: format!(
                    "At least {} of: lower case, upper case, digits, other characters",
                    self.min_classes
                ),
                met: !password.is_empty()
                    && !broken(|v| matches!(v, PolicyViolation::TooFewClasses { .. })),
            });
        }
        lines.extend([
            Requirement {
                label: "Not the username, email address, name or product name".to_owned(),
                met: !broken(|v| {
                    matches!(
                        v,
                        PolicyViolation::ContainsUsername
                            | PolicyViolation::ContainsEmail
                            | PolicyViolation::ContainsName
                            | PolicyViolation::ContainsProductName
                    )
                }),
            },
            Requirement {
                label: "Not a breached or common password".to_owned(),
                met: !password.is_empty() && !broken(|v| matches!(v, PolicyViolation::Common)),
            },
        ]);
        lines
    }
}

/// How many of the four character classes a password uses.
fn classes(password: &str) -> usize {
    let has = |pred: fn(char) -> bool| password.chars().any(pred);
    [
        has(char::is_lowercase),
        has(char::is_uppercase),
        has(|c| c.is_numeric()),
        has(|c| !c.is_alphanumeric()),
    ]
    .into_iter()
    .filter(|present| *present)
    .count()
}

/// The account's own names inside the password. Short fragments (under 3 characters for the
/// username and email, under 4 for a part of the display name) would refuse half the
/// dictionary, so they do not count.
fn personal_violations(folded: &str, ctx: &PolicyContext) -> Vec<PolicyViolation> {
    let mut found = Vec::new();
    let username = fold(ctx.username.trim());
    if username.chars().count() >= 3 && folded.contains(&username) {
        found.push(PolicyViolation::ContainsUsername);
    }
    if let Some(email) = ctx.email.as_deref() {
        let email = fold(email.trim());
        let local = email.split('@').next().unwrap_or_default();
        if !email.is_empty()
            && (folded.contains(&email) || (local.chars().count() >= 3 && folded.contains(local)))
        {
            found.push(PolicyViolation::ContainsEmail);
        }
    }
    let name = fold(&ctx.display_name);
    if name
        .split(|c: char| !c.is_alphanumeric())
        .any(|part| part.chars().count() >= 4 && folded.contains(part))
    {
        found.push(PolicyViolation::ContainsName);
    }
    if folded.contains(PRODUCT_NAME) {
        found.push(PolicyViolation::ContainsProductName);
    }
    found
}

/// The predictable shapes no list can hold: one character repeated, or a short run typed
/// again and again (`abcabcabc…`, `123412341234…`).
fn is_repetitive(folded: &str) -> bool {
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

    /// A stand-in for the shipped list: the rule only asks whether a folded password is on it.
    struct Listed(&'static [&'static str]);

    impl Blocklist for Listed {
        fn contains(&self, folded: &str) -> bool {
            self.0.contains(&folded)
        }
    }

    const LIST: Listed = Listed(&["passwordpassword"]);

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
            display_name: "Augusta Ada King".into(),
        }
    }

    #[test]
    fn accepts_a_long_passphrase() {
        let policy = PasswordPolicy::default();
        assert_eq!(
            policy.check("correct horse battery staple", &ctx(), &LIST),
            Ok(())
        );
    }

    #[test]
    fn counts_characters_not_bytes_after_normalising() {
        let policy = PasswordPolicy::default();
        // 15 code points, 30 bytes.
        assert!(policy.check("ééééééééééééééx", &ctx(), &LIST).is_ok());
        // "e" + combining acute normalises to one "é": 14 characters, too short.
        let decomposed = "e\u{301}".repeat(7) + "abcdefg";
        assert_eq!(
            policy.violations(&decomposed, &ctx(), &LIST),
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
        let found = |password: &str| policy.violations(password, &ctx(), &LIST);
        assert!(matches!(
            found("short")[..],
            [PolicyViolation::TooShort { actual: 5, .. }, ..]
        ));
        assert_eq!(
            found(&"x1y2z3".repeat(30)),
            vec![PolicyViolation::TooLong { max: 128 }]
        );
        assert!(found("my name is ADA.LOVELACE!").contains(&PolicyViolation::ContainsUsername));
        assert!(found("write to ada@example.com").contains(&PolicyViolation::ContainsEmail));
        assert_eq!(
            found("long live queen augusta"),
            vec![PolicyViolation::ContainsName]
        );
        assert_eq!(
            found("my Latchkey password is long"),
            vec![PolicyViolation::ContainsProductName]
        );
        assert_eq!(found("aaaaaaaaaaaaaaaaaaaa"), vec![PolicyViolation::Common]);
        assert_eq!(found("123412341234123412"), vec![PolicyViolation::Common]);
        assert_eq!(found("PasswordPassword"), vec![PolicyViolation::Common]);
        // Full-width letters fold onto the listed entry.
        assert_eq!(
            found("ＰａｓｓｗｏｒｄＰａｓｓｗｏｒｄ"),
            vec![PolicyViolation::Common]
        );
    }

    #[test]
    fn short_name_parts_do_not_count() {
        let policy = PasswordPolicy::default();
        let ctx = PolicyContext {
            display_name: "Bo Li".into(),
            ..ctx()
        };
        assert_eq!(
            policy.check("bonfire limelight quarry", &ctx, &NoList),
            Ok(())
        );
    }

    #[test]
    fn character_classes_are_off_by_default_and_counted_when_on() {
        let passphrase = "correct horse battery staple";
        assert_eq!(
            PasswordPolicy::default().check(passphrase, &ctx(), &NoList),
            Ok(())
        );
        let strict = PasswordPolicy {
            min_classes: 3,
            ..PasswordPolicy::default()
        };
        assert_eq!(
            strict.violations(passphrase, &ctx(), &NoList),
            vec![PolicyViolation::TooFewClasses { needed: 3 }]
        );
        assert_eq!(
            strict.check("Correct horse battery 9", &ctx(), &NoList),
            Ok(())
        );
        let labels = strict.requirements("", &ctx(), &NoList);
        assert!(labels.iter().any(|r| r.label.starts_with("At least 3 of")));
    }

    #[test]
    fn refuses_enormous_input_without_normalising_it() {
        let policy = PasswordPolicy::default();
        let huge = "a".repeat(1 << 20);
        assert_eq!(
            policy.violations(&huge, &ctx(), &LIST),
            vec![PolicyViolation::TooLong { max: 128 }]
        );
    }

    #[test]
    fn checklist_ticks_what_is_met() {
        let policy = PasswordPolicy::default();
        let reqs = policy.requirements("correct horse battery staple", &ctx(), &LIST);
        assert!(reqs.iter().all(|r| r.met));
        let reqs = policy.requirements("", &ctx(), &LIST);
        assert!(!reqs[0].met);
    }
}

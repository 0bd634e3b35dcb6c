//! Passwords the server makes up (Generate Temporary Password, Generate New Password): drawn
//! from the operating system's CSPRNG, readable aloud over the phone, and always within policy.

use model::{PasswordPolicy, PolicyContext};

use crate::blocklist;
use rand::Rng;
use rand::rngs::OsRng;

use crate::hashing::Password;

/// No 0/O, 1/l/I: a helpdesk reads these out, and a user types them from a phone screen.
const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const GROUPS: usize = 4;

const GROUP_LEN: usize = 5;

/// Four groups of five, e.g. `Hq7xk-3mWtp-Ze9Ra-vn4Kc`: 23 characters and about 115 bits.
/// A policy asking for more than 23 characters gets more groups, cut to its maximum (a
/// minimum may equal the maximum), so every draw has a length the policy accepts.
pub fn readable_password(policy: &PasswordPolicy, ctx: &PolicyContext) -> Password {
    let groups = GROUPS.max((policy.min_length + 1).div_ceil(GROUP_LEN + 1));
    loop {
        let candidate = (0..groups)
            .map(|_| {
                (0..GROUP_LEN)
                    .map(|_| char::from(ALPHABET[OsRng.gen_range(0..ALPHABET.len())]))
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("-")
            .chars()
            .take(policy.max_length)
            .collect::<String>();
        // A draw that trips the policy (a username inside it, say) is all but impossible;
        // drawing again keeps the promise that generated passwords always pass.
        if policy.check(&candidate, ctx, &blocklist::Shipped).is_ok() {
            return Password::new(candidate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_read_aloud_and_do_not_repeat() {
        let policy = PasswordPolicy::default();
        let ctx = PolicyContext {
            username: "alice".into(),
            email: None,
            display_name: "Alice".into(),
        };
        let drawn: std::collections::HashSet<String> = (0..2000)
            .map(|_| readable_password(&policy, &ctx).as_str().to_owned())
            .collect();
        assert_eq!(drawn.len(), 2000, "a repeat in 2,000 draws of ~115 bits");
        let mut used = std::collections::HashSet::new();
        for password in &drawn {
            let groups: Vec<&str> = password.split('-').collect();
            assert_eq!(groups.len(), GROUPS, "{password}");
            assert!(groups.iter().all(|g| g.len() == GROUP_LEN), "{password}");
            used.extend(groups.concat().bytes());
        }
        // Nothing a helpdesk could misread over the phone, and every allowed character drawn.
        assert!(!used.iter().any(|c| b"0O1lI".contains(c)));
        assert_eq!(used.len(), ALPHABET.len());
    }

    #[test]
    fn a_minimum_equal_to_the_maximum_is_met_exactly() {
        for length in [8, 23, 24, 121, 127, 128] {
            let policy = PasswordPolicy {
                min_length: length,
                max_length: length.max(128),
                min_classes: 0,
            };
            let password = readable_password(&policy, &PolicyContext::default());
            let n = password.as_str().chars().count();
            assert!(n >= length && n <= policy.max_length, "{length}: {n}");
        }
        let exact = PasswordPolicy {
            min_length: 128,
            max_length: 128,
            min_classes: 4,
        };
        assert_eq!(
            readable_password(&exact, &PolicyContext::default())
                .as_str()
                .len(),
            128
        );
    }

    #[test]
    fn a_long_minimum_gets_more_groups_and_classes_are_met() {
        let policy = PasswordPolicy {
            min_length: 40,
            max_length: 128,
            min_classes: 4,
        };
        let ctx = PolicyContext::default();
        let password = readable_password(&policy, &ctx);
        assert!(
            password.as_str().chars().count() >= 40,
            "{}",
            password.as_str()
        );
        assert_eq!(
            policy.check(password.as_str(), &ctx, &blocklist::Shipped),
            Ok(())
        );
    }
}

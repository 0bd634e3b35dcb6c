//! Passwords the server makes up (Generate Temporary Password, Generate New Password): drawn
//! from the operating system's CSPRNG, readable aloud over the phone, and always within policy.

use model::{PasswordPolicy, PolicyContext};
use rand::Rng;
use rand::rngs::OsRng;

use crate::hashing::Password;

/// No 0/O, 1/l/I: a helpdesk reads these out, and a user types them from a phone screen.
const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const GROUPS: usize = 4;
const GROUP_LEN: usize = 5;

/// Four groups of five, e.g. `Hq7xk-3mWtp-Ze9Ra-vn4Kc`: 23 characters and about 115 bits.
pub fn readable_password(policy: &PasswordPolicy, ctx: &PolicyContext) -> Password {
    loop {
        let candidate = (0..GROUPS)
            .map(|_| {
                (0..GROUP_LEN)
                    .map(|_| char::from(ALPHABET[OsRng.gen_range(0..ALPHABET.len())]))
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("-");
        // A draw that trips the policy (a username inside it, say) is all but impossible;
        // drawing again keeps the promise that generated passwords always pass.
        if policy.check(&candidate, ctx).is_ok() {
            return Password::new(candidate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_pass_the_policy_and_differ() {
        let policy = PasswordPolicy::default();
        let ctx = PolicyContext {
            username: "alice".into(),
            email: None,
        };
        let a = readable_password(&policy, &ctx);
        let b = readable_password(&policy, &ctx);
        assert_eq!(a.as_str().len(), 23);
        assert_ne!(a.as_str(), b.as_str());
        assert!(policy.check(a.as_str(), &ctx).is_ok());
        assert!(
            a.as_str()
                .chars()
                .all(|c| c == '-' || ALPHABET.contains(&(c as u8)))
        );
    }
}

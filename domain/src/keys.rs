//! The server's own secret key, kept outside the database: it seals the body of every queued
//! email (which may hold a reset link or a password) and signs what the server hands a browser
//! to give back. A copy of the database — its files, its WAL, a backup, a dump — then holds no
//! usable link or password, only ciphertext whose key is elsewhere.
//!
//! One 32-byte master key, from `LATCHKEY_SECRET_KEY` or a key file created owner-only on first
//! start; each use gets its own subkey (HMAC-SHA256 of the master and a label), so a signature
//! can never be replayed as a ciphertext or the other way round.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::Sha256;
use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;
use std::sync::Arc;

type HmacSha256 = Hmac<Sha256>;

/// Marks the format of a sealed value, so a later format can be told apart.
const SEALED_PREFIX: &str = "v1.";
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0}")]
    Invalid(String),
    #[error("secret key file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    /// A sealed value that this key did not seal, or that was altered.
    #[error("the value cannot be opened with this secret key")]
    Unopenable,
}

/// The master key's subkeys. Cheap to clone; `Debug` shows nothing of them.
#[derive(Clone)]
pub struct Keyring(Arc<Subkeys>);

struct Subkeys {
    seal: XChaCha20Poly1305,
    sign: [u8; 32],
    fingerprint: String,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keyring(…)")
    }
}

fn derive(master: &[u8; 32], label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(b"latchkey key derivation\0");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl Keyring {
    pub fn from_master(master: &[u8; 32]) -> Self {
        let seal = derive(master, "outbox seal v1");
        let fingerprint = URL_SAFE_NO_PAD.encode(&derive(master, "fingerprint v1")[..12]);
        Self(Arc::new(Subkeys {
            seal: XChaCha20Poly1305::new(&seal.into()),
            sign: derive(master, "browser signatures v1"),
            fingerprint,
        }))
    }

    /// A random key that lives only as long as the process: for tests and benchmarks.
    pub fn ephemeral() -> Self {
        Self::from_master(&random_master())
    }

    /// A key given as 32 bytes in base64 (standard or URL-safe), as `LATCHKEY_SECRET_KEY` holds it.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| KeyError::Invalid("the secret key is not valid base64".into()))?;
        let master: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            KeyError::Invalid(format!(
                "the secret key must be 32 bytes (44 base64 characters), not {} bytes; make \
                 one with `openssl rand -base64 32`",
                b.len()
            ))
        })?;
        Ok(Self::from_master(&master))
    }

    /// Reads the key file, or creates it (owner-only, 0600) with a new random key when there is
    /// none. A file that others may read is refused: the key is worth as much as every queued
    /// link.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let file_error = |source| KeyError::File {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let mode = std::fs::metadata(path)
                    .map_err(file_error)?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    return Err(KeyError::Invalid(format!(
                        "secret key file {} may be read by other users (mode {:o}); run \
                         `chmod 600 {}`",
                        path.display(),
                        mode & 0o777,
                        path.display()
                    )));
                }
                Self::from_base64(&text)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(file_error)?;
                }
                // Written whole to a private name, then linked into place: two instances
                // starting at once end up with one key, and neither reads a half-written file.
                let master = random_master();
                let draft = path.with_extension(format!("new-{}", uuid::Uuid::new_v4().simple()));
                let written = (|| {
                    let mut file = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(&draft)?;
                    writeln!(file, "{}", STANDARD.encode(master))?;
                    file.sync_all()?;
                    std::fs::hard_link(&draft, path)
                })();
                let _ = std::fs::remove_file(&draft);
                match written {
                    Ok(()) => {
                        tracing::info!(path = %path.display(), "created a new secret key file: back it up");
                        Ok(Self::from_master(&master))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load_or_create(path)
                    }
                    Err(e) => Err(file_error(e)),
                }
            }
            Err(e) => Err(file_error(e)),
        }
    }

    /// A short public digest of the key, which the database keeps so that an instance started
    /// with another key is refused before it queues mail no other instance can read.
    pub fn fingerprint(&self) -> &str {
        &self.0.fingerprint
    }

    /// Encrypts and authenticates `plaintext`, bound to `context` (the row it belongs to), so a
    /// sealed value moved to another row does not open.
    pub fn seal(&self, context: &str, plaintext: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .0
            .seal
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any message of this size");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn open(&self, context: &str, sealed: &str) -> Result<String, KeyError> {
        let bytes = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or(KeyError::Unopenable)?;
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = self
            .0
            .seal
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Unopenable)?;
        String::from_utf8(plain).map_err(|_| KeyError::Unopenable)
    }

    /// Whether a stored value is in the sealed format (older rows may predate it).
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(SEALED_PREFIX)
    }

    /// An HMAC-SHA256 of `data` under `context`, base64url: for values the server hands out and
    /// must recognise as its own when they come back.
    pub fn sign(&self, context: &str, data: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(context, data).finalize().into_bytes())
    }

    /// Checks a signature from [`Keyring::sign`] in constant time.
    pub fn verify(&self, context: &str, data: &[u8], signature: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(signature)
            .is_ok_and(|sig| self.mac(context, data).verify_slice(&sig).is_ok())
    }

    fn mac(&self, context: &str, data: &[u8]) -> HmacSha256 {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0.sign).expect("any key length");
        mac.update(&(context.len() as u64).to_be_bytes());
        mac.update(context.as_bytes());
        mac.update(data);
        mac
    }
}

fn random_master() -> [u8; 32] {
    let mut master = [0u8; 32];
    OsRng.fill_bytes(&mut master);
    master
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_opens_only_with_its_key_and_context() {
        let keys = Keyring::ephemeral();
        let sealed = keys.seal("email-1", "https://x/reset/abc");
        assert!(!sealed.contains("reset"));
        assert_eq!(
            keys.open("email-1", &sealed).unwrap(),
            "https://x/reset/abc"
        );
        assert!(
            keys.open("email-2", &sealed).is_err(),
            "moved to another row"
        );
        assert!(
            Keyring::ephemeral().open("email-1", &sealed).is_err(),
            "another key"
        );
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(keys.open("email-1", &tampered).is_err());
        assert!(keys.open("email-1", "plain text").is_err());
    }

    #[test]
    fn two_seals_of_one_text_differ() {
        let keys = Keyring::ephemeral();
        assert_ne!(keys.seal("a", "same"), keys.seal("a", "same"));
    }

    #[test]
    fn signatures_are_bound_to_key_context_and_data() {
        let keys = Keyring::ephemeral();
        let sig = keys.sign("form error", b"data");
        assert!(keys.verify("form error", b"data", &sig));
        assert!(!keys.verify("form error", b"date", &sig));
        assert!(!keys.verify("other", b"data", &sig));
        assert!(!Keyring::ephemeral().verify("form error", b"data", &sig));
        assert!(!keys.verify("form error", b"data", "not base64!"));
    }

    #[test]
    fn base64_keys_must_be_32_bytes() {
        let good = STANDARD.encode([7u8; 32]);
        let a = Keyring::from_base64(&good).unwrap();
        let b = Keyring::from_base64(&URL_SAFE_NO_PAD.encode([7u8; 32])).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        let short = Keyring::from_base64(&STANDARD.encode([7u8; 16])).unwrap_err();
        assert!(short.to_string().contains("32 bytes"));
        assert!(Keyring::from_base64("%%%").is_err());
    }

    #[test]
    fn the_key_file_is_created_owner_only_and_read_back() {
        let dir = std::env::temp_dir().join(format!("latchkey-key-{}", uuid::Uuid::new_v4()));
        let path = dir.join("secret.key");
        let made = Keyring::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let read = Keyring::load_or_create(&path).unwrap();
        assert_eq!(made.fingerprint(), read.fingerprint());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = Keyring::load_or_create(&path).unwrap_err();
        assert!(refused.to_string().contains("chmod 600"));
        let _ = std::fs::remove_dir_all(dir);
    }
}

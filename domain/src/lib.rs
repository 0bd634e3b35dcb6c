//! Latchkey's server-only domain: the store (SQLite or PostgreSQL behind one set of queries),
//! argon2id hashing, sessions, secret tokens, the audit trail, first-run setup and demo data.
//!
//! Nothing here knows about HTTP or Leptos; the `app` crate's server functions authorise the
//! caller and then call these plain async functions.

pub mod audit;
pub mod auth;
pub mod db;
pub mod error;
pub mod hashing;
pub mod passwords;
pub mod seed;
pub mod sessions;
pub mod setup;
pub mod tokens;
pub mod users;

#[cfg(feature = "test-support")]
pub mod testing;

pub use db::Db;
pub use error::{DomainError, DomainResult};
pub use hashing::{Hasher, Password};

use model::PasswordPolicy;
use sessions::SessionPolicy;

/// Everything a request needs from the domain, cloned cheaply into each handler.
#[derive(Clone, Debug)]
pub struct Services {
    pub db: Db,
    pub hasher: Hasher,
    pub policy: PasswordPolicy,
    pub sessions: SessionPolicy,
}

impl Services {
    pub fn new(db: Db, hasher: Hasher) -> Self {
        Self {
            db,
            hasher,
            policy: PasswordPolicy::default(),
            sessions: SessionPolicy::default(),
        }
    }
}

//! Latchkey's server-only domain: the store (SQLite or PostgreSQL behind one set of queries),
//! argon2id hashing, sessions, secret tokens, the audit trail, first-run setup and demo data.
//!
//! Nothing here knows about HTTP or Leptos; the `app` crate's server functions authorise the
//! caller and then call these plain async functions.

pub mod audit;
pub mod auth;
pub mod authority;
pub mod background;
pub mod blocklist;
pub mod bulk;
pub mod credentials;
pub mod directory;
pub mod email_config;
pub mod emails;
pub mod error;
pub mod fresh;
pub mod generate;
pub mod hashing;
pub mod keys;
pub mod mail;
mod mail_folder;
pub mod passwords;
pub mod people;
mod priority;
pub mod resets;
pub mod seed;
pub mod settings;
pub mod setup;
pub mod store;
pub mod templates;
pub mod throttle;
pub mod tokens;

#[cfg(feature = "test-support")]
pub mod smtp_sink;
#[cfg(feature = "test-support")]
pub mod testing;

pub use error::{DomainError, DomainResult};
pub use hashing::{Hasher, Password};
pub use keys::Keyring;
pub use store::db::{self, Db};
pub use store::{outbox, sessions, users};

use mail::MailWake;
use model::settings::SecuritySettings;

/// Everything a request needs from the domain, cloned cheaply into each handler.
#[derive(Clone, Debug)]
pub struct Services {
    pub db: Db,
    pub hasher: Hasher,
    /// Management > Password Policy as in force: read through [`Services::security`].
    pub settings: settings::Live,
    /// Management > Email Configuration as in force: where and how fast email goes.
    pub email: email_config::Live,
    /// Management > Templates: the organisation's words for the emails people act on.
    pub templates: templates::Live,
    /// The configured public base URL, without a trailing slash: the only source of the
    /// links Latchkey sends.
    pub public_url: String,
    /// Nudges this instance's mailer after a request queued an email.
    pub mail: MailWake,
    /// Nudges this instance's bulk runner after a request created a job.
    pub bulk: bulk::BulkWake,
    /// The secret key kept outside the database: seals queued email bodies.
    pub keys: Keyring,
}

impl Services {
    /// The address of a password change link: always the configured public URL, never a
    /// request's Host header, which whoever sends the request chooses.
    pub(crate) fn reset_url(&self, token: &tokens::SecretToken) -> String {
        format!("{}/reset/{}", self.public_url, token.expose())
    }

    /// The security settings in force now (cached for a few seconds per instance).
    pub async fn security(&self) -> DomainResult<SecuritySettings> {
        self.settings.current(&self.db).await
    }

    /// The organisation's email templates in force (cached for a few seconds per instance).
    pub async fn templates(&self) -> DomainResult<std::sync::Arc<templates::Customised>> {
        self.templates.current(&self.db).await
    }

    /// How long sessions live, under the settings in force.
    pub async fn session_policy(&self) -> DomainResult<sessions::SessionPolicy> {
        Ok((&self.security().await?).into())
    }

    pub fn new(db: Db, hasher: Hasher, public_url: &str, keys: Keyring) -> Self {
        Self {
            db,
            hasher,
            settings: settings::Live::default(),
            email: email_config::Live::default(),
            templates: templates::Live::default(),
            public_url: public_url.trim_end_matches('/').to_owned(),
            mail: MailWake::default(),
            bulk: bulk::BulkWake::default(),
            keys,
        }
    }
}

//! Resets that hand the user something: an emailed single-use link (Send Password Change Link),
//! a temporary password shown once to the administrator (Generate Temporary Password), or a
//! generated password emailed to the user (Generate New Password).
//!
//! Rules every one of them keeps, inside one transaction with the email it causes:
//! - a newer reset, or any password change, voids the older ones (and withdraws their emails);
//! - a link is stored only as a SHA-256 digest and is consumed by one conditional update, so
//!   it works once however many requests race for it;
//! - links are built from the configured public URL, never from a request's headers.

mod forgot;
mod issue;
mod link;

#[cfg(feature = "test-support")]
pub use forgot::handle_request;
pub use forgot::request_by_user;
pub(crate) use issue::{LinkText, issue_link, issue_links};
pub use issue::{generate_emailed, generate_temporary, resend, revoke, send_link};
pub use link::{LinkHolder, check_link, complete_link, record_opened};

use model::reset::ResetStatus;
use model::secret::Secret;
use model::time::Timestamp;
use model::user::UserId;

use crate::db::Db;
use crate::error::{DomainError, DomainResult};
use crate::store;

/// The security settings of resets (a settings page comes with a later issue).
#[derive(Clone, Copy, Debug)]
pub struct ResetSettings {
    pub temporary_password_hours: i64,
    /// Generate New Password emails a password, which is weaker than a link; this turns it off.
    pub allow_emailed_passwords: bool,
}

/// Why a password may not be emailed, when the security settings say so.
pub const EMAILED_PASSWORDS_OFF: &str = "Emailing passwords is turned off in the security settings. Send a password change link \
     instead.";

impl ResetSettings {
    /// Generate New Password, Email Password to User and Send Email with Access Info all put a
    /// password in a mailbox, which is weaker than a link: one setting turns them all off.
    pub fn may_email_passwords(&self) -> DomainResult<()> {
        if self.allow_emailed_passwords {
            Ok(())
        } else {
            Err(DomainError::Conflict(EMAILED_PASSWORDS_OFF.into()))
        }
    }
}

pub use model::reset::LinkDelivery;

#[derive(Clone, Copy, Debug)]
pub struct LinkRequest {
    pub minutes: i64,
    /// The seeds' "Reset Password": the old password stops working now, not when the link is
    /// used.
    pub invalidate_password: bool,
    pub delivery: LinkDelivery,
}

#[derive(Debug)]
pub struct IssuedLink {
    pub expires_at: Timestamp,
    /// The link itself, only for [`LinkDelivery::Shown`].
    pub link: Option<Secret>,
}

/// A temporary password, for the one screen that shows it.
#[derive(Debug)]
pub struct TemporaryPassword {
    pub password: Secret,
    pub expires_at: Timestamp,
}

/// The latest reset of a user, with its email's delivery state: the reset status card.
pub async fn status(db: &Db, user: &UserId) -> DomainResult<Option<ResetStatus>> {
    store::resets::latest(db, user).await
}

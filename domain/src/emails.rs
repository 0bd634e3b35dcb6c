//! The texts of the emails Latchkey sends. Plain text: it reads the same in every mail app,
//! and a link is a link. (Editable templates are a later issue.)

use model::time::Timestamp;

use crate::outbox::OutgoingEmail;
use crate::users::User;

fn greeting(user: &User) -> String {
    format!("Hello {},", user.display_name)
}

fn addressed(
    user: &User,
    kind: &'static str,
    subject: &str,
    body: String,
) -> Option<OutgoingEmail> {
    Some(OutgoingEmail {
        user_id: Some(user.id.clone()),
        kind,
        to: user.email.clone()?,
        subject: subject.to_owned(),
        body,
    })
}

/// Send Password Change Link.
pub fn reset_link(user: &User, link: &str, expires_at: Timestamp) -> Option<OutgoingEmail> {
    let body = format!(
        "{}\n\n\
         An administrator asked you to choose a new password for your account \"{}\".\n\n\
         Open this link to set it:\n\n{link}\n\n\
         The link works once and expires at {expires_at}.\n\
         If you did not expect this email, tell your IT helpdesk.\n",
        greeting(user),
        user.username,
    );
    addressed(user, "reset_link", "Set a new password", body)
}

/// Add user with "Send a welcome email": the new person's first password, chosen by them.
pub fn welcome_link(user: &User, link: &str, expires_at: Timestamp) -> Option<OutgoingEmail> {
    let body = format!(
        "{}\n\n\
         An account was created for you. Your username is \"{}\".\n\n\
         Open this link to choose your password:\n\n{link}\n\n\
         The link works once and expires at {expires_at}. If it has expired, ask your IT \
         helpdesk for a new one.\n",
        greeting(user),
        user.username,
    );
    addressed(user, "welcome", "Welcome: choose your password", body)
}

/// An administrator changed the email address of an account: the old address hears of it,
/// since a hijacker's first step is to move the mailbox resets go to.
pub fn email_changed(
    user: &User,
    old_address: &str,
    administrator: &str,
    at: Timestamp,
) -> OutgoingEmail {
    let body = format!(
        "{}\n\n\
         The administrator \"{administrator}\" changed the email address of your account \
         \"{}\" at {at}. Emails about your password now go to the new address, and any \
         password change link sent before no longer works.\n\n\
         If you did not expect this, contact your IT helpdesk at once.\n",
        greeting(user),
        user.username,
    );
    OutgoingEmail {
        user_id: Some(user.id.clone()),
        kind: "email_changed",
        to: old_address.to_owned(),
        subject: "The email address of your account was changed".into(),
        body,
    }
}

/// "Forgot your password?": the user asked, so the text says so.
pub fn requested_link(user: &User, link: &str, expires_at: Timestamp) -> Option<OutgoingEmail> {
    let body = format!(
        "{}\n\n\
         Someone (hopefully you) asked to reset the password of your account \"{}\".\n\n\
         Open this link to choose a new password:\n\n{link}\n\n\
         The link works once and expires at {expires_at}. Until then your current password \
         keeps working.\n\
         If you did not ask for this, ignore this email; nothing changes.\n",
        greeting(user),
        user.username,
    );
    addressed(user, "reset_link", "Reset your password", body)
}

/// Generate Temporary Password with "Send Email with Access Info to User", and Generate New
/// Password: the password itself, which works once, to set a new one.
pub fn access_info(
    user: &User,
    password: &str,
    sign_in_url: &str,
    expires_at: Timestamp,
) -> Option<OutgoingEmail> {
    let body = format!(
        "{}\n\n\
         An administrator reset the password of your account.\n\n\
         Username: {}\n\
         Temporary password: {password}\n\n\
         Sign in at {sign_in_url}; you will be asked to choose your own password at once.\n\
         The temporary password works for one sign-in and expires at {expires_at}.\n",
        greeting(user),
        user.username,
    );
    addressed(user, "access_info", "Your temporary password", body)
}

/// Change Password with "Email Password to User".
pub fn password_set_by_admin(
    user: &User,
    password: &str,
    sign_in_url: &str,
) -> Option<OutgoingEmail> {
    let body = format!(
        "{}\n\n\
         An administrator set a new password for your account.\n\n\
         Username: {}\n\
         Password: {password}\n\n\
         Sign in at {sign_in_url}; you will be asked to choose your own password at once.\n",
        greeting(user),
        user.username,
    );
    addressed(user, "password_set", "Your new password", body)
}

/// After any password change: the owner hears of it, whoever made it.
pub fn password_changed(user: &User, at: Timestamp) -> Option<OutgoingEmail> {
    let body = format!(
        "{}\n\n\
         The password of your account \"{}\" was changed at {at}, and every session was \
         signed out.\n\
         If this was not you, contact your IT helpdesk at once.\n",
        greeting(user),
        user.username,
    );
    addressed(user, "password_changed", "Your password was changed", body)
}

/// What an administrator did to someone's credentials, in the words of the notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialChange {
    PasswordSet,
    ResetForced,
    TemporaryPassword,
    PasswordInvalidated,
}

impl CredentialChange {
    fn sentence(self) -> &'static str {
        match self {
            CredentialChange::PasswordSet => "set a new password for your account",
            CredentialChange::ResetForced => {
                "required you to choose a new password at your next sign-in"
            }
            CredentialChange::TemporaryPassword => {
                "replaced your password with a temporary one, which they will give you"
            }
            CredentialChange::PasswordInvalidated => {
                "turned off your password and created a link to choose a new one, which they \
                 will give you"
            }
        }
    }
}

/// A credential change someone else made: the owner is told who and when, never the new
/// secret. Sent even when the owner expects it, because it is how a person notices a hijacked
/// helpdesk account acting in their name.
pub fn changed_by_administrator(
    user: &User,
    administrator: &str,
    change: CredentialChange,
    at: Timestamp,
) -> Option<OutgoingEmail> {
    let body = format!(
        "{}\n\n\
         The administrator \"{administrator}\" {} (account \"{}\") at {at}. Every session of \
         yours was signed out.\n\n\
         If you did not expect this, contact your IT helpdesk at once.\n",
        greeting(user),
        change.sentence(),
        user.username,
    );
    addressed(
        user,
        "credential_notice",
        "An administrator changed your password",
        body,
    )
}

//! The emails Latchkey sends. The four people act on (a link, a welcome, access info, the
//! password-changed notice) are the organisation's to word in Management > Templates and go
//! out as plain text with an HTML alternative; the security notices below stay plain text in
//! Latchkey's words, so no edit can quieten the warning they carry.

use model::templates::TemplateKind;
use model::time::Timestamp;

use crate::outbox::OutgoingEmail;
use crate::templates::Customised;
use crate::users::User;

/// The email of `kind` to `user`, from the organisation's template.
fn templated(
    templates: &Customised,
    user: &User,
    kind: TemplateKind,
    outbox_kind: &'static str,
    values: &[(&'static str, &str)],
) -> Option<OutgoingEmail> {
    let mut all = vec![
        ("display_name", user.display_name.as_str()),
        ("username", user.username.as_str()),
    ];
    all.extend_from_slice(values);
    let rendered = templates.render(kind, &all);
    Some(OutgoingEmail {
        user_id: Some(user.id.clone()),
        kind: outbox_kind,
        to: user.email.clone()?,
        subject: rendered.subject,
        body: rendered.text,
        html: Some(rendered.html).filter(|h| !h.trim().is_empty()),
    })
}

/// "60 minutes", "24 hours", "7 days": how long from now until `at`, as a person says it.
pub fn expires_in(at: Timestamp) -> String {
    // To the nearest minute: rendered a moment after the link was made, 60 minutes stay 60.
    let minutes = ((at.millis() - Timestamp::now().millis()).max(0) + 30_000).div_euclid(60_000);
    let (n, unit) = if minutes < 120 {
        (minutes.max(1), "minute")
    } else if minutes < 48 * 60 {
        ((minutes + 30) / 60, "hour")
    } else {
        ((minutes + 12 * 60) / (24 * 60), "day")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

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
        html: None,
    })
}

/// Send Password Change Link.
pub fn reset_link(
    templates: &Customised,
    user: &User,
    link: &str,
    expires_at: Timestamp,
) -> Option<OutgoingEmail> {
    link_email(
        templates,
        user,
        TemplateKind::PasswordChangeLink,
        "reset_link",
        link,
        expires_at,
    )
}

/// Add user with "Send a welcome email": the new person's first password, chosen by them.
pub fn welcome_link(
    templates: &Customised,
    user: &User,
    link: &str,
    expires_at: Timestamp,
) -> Option<OutgoingEmail> {
    link_email(
        templates,
        user,
        TemplateKind::Welcome,
        "welcome",
        link,
        expires_at,
    )
}

fn link_email(
    templates: &Customised,
    user: &User,
    kind: TemplateKind,
    outbox_kind: &'static str,
    link: &str,
    expires_at: Timestamp,
) -> Option<OutgoingEmail> {
    templated(
        templates,
        user,
        kind,
        outbox_kind,
        &[
            ("link", link),
            ("expires_in", &expires_in(expires_at)),
            ("expires_at", &expires_at.to_string()),
        ],
    )
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
        html: None,
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
    templates: &Customised,
    user: &User,
    password: &str,
    sign_in_url: &str,
    expires_at: Timestamp,
) -> Option<OutgoingEmail> {
    templated(
        templates,
        user,
        TemplateKind::AccessInfo,
        "access_info",
        &[
            ("password", password),
            ("sign_in_url", sign_in_url),
            ("expires_in", &expires_in(expires_at)),
            ("expires_at", &expires_at.to_string()),
        ],
    )
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
pub fn password_changed(
    templates: &Customised,
    user: &User,
    at: Timestamp,
) -> Option<OutgoingEmail> {
    templated(
        templates,
        user,
        TemplateKind::PasswordChanged,
        "password_changed",
        &[("changed_at", &at.to_string())],
    )
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

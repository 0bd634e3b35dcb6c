//! Resets that hand the user something: an emailed single-use link (Send Password Change Link),
//! a temporary password shown once to the administrator (Generate Temporary Password), or a
//! generated password emailed to the user (Generate New Password).
//!
//! Rules every one of them keeps, inside one transaction with the email it causes:
//! - a newer reset, or any password change, voids the older ones (and withdraws their emails);
//! - a link is stored only as a SHA-256 digest and is consumed by one conditional update, so
//!   it works once however many requests race for it;
//! - links are built from the configured public URL, never from a request's headers.

use model::PolicyContext;
use model::bulk::SkipReason;
use model::eligibility::{Operation, refusal};
use model::reset::{ResetKind, ResetStatus};
use model::secret::Secret;
use model::time::Timestamp;
use model::user::UserId;
use sqlx::{Any, Executor};

use crate::Services;
use crate::audit::{self, AuditAction, AuditEvent};
use crate::db::{Db, Tx};
use crate::emails::{self, CredentialChange};
use crate::error::{DomainError, DomainResult};
use crate::generate::readable_password;
use crate::hashing::Password;
use crate::passwords::{
    Actor, NewPasswordState, check_new_password, end_sessions_and_record, load, must_apply,
    notify_owner, party, target_of, write_password,
};
use crate::sessions::{self, ClientInfo};
use crate::store::{self, outbox};
use crate::tokens::SecretToken;
use crate::users::{self, User};

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

impl Default for ResetSettings {
    fn default() -> Self {
        Self {
            temporary_password_hours: 24,
            allow_emailed_passwords: true,
        }
    }
}

/// How a link reaches its user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkDelivery {
    /// Queued in the outbox to the address on the account.
    Email,
    /// Shown once to the administrator (Copy link), for a user who cannot get email.
    Shown,
}

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

/// Which of a user's open resets a new one voids.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Voids {
    /// Every one: an administrator's reset or a password change supersedes all.
    All,
    /// Links the user asked for, and anything already expired: "Forgot your password?" may be
    /// typed by anyone, so it must not undo a live reset the helpdesk sent, but an expired one
    /// must not block the user's own request for ever.
    UserRequested,
}

impl Voids {
    fn covers(self, created_by_admin: bool, expires_at: Timestamp, now: Timestamp) -> bool {
        match self {
            Voids::All => true,
            Voids::UserRequested => !created_by_admin || expires_at <= now,
        }
    }
}

/// Marks a user's open resets (those `voids` covers) voided and withdraws their emails that
/// have not gone out.
async fn void_open(
    tx: &mut Tx,
    user: &UserId,
    voids: Voids,
    reason: &str,
    now: Timestamp,
) -> DomainResult<()> {
    // The one-open-reset index keeps this to a row or none.
    for open in store::resets::open_for_user(tx, user).await? {
        if !voids.covers(open.created_by_admin, open.expires_at, now) {
            continue;
        }
        if let Some(email) = &open.email_id {
            outbox::cancel(tx, email, now).await?;
        }
        store::resets::void(tx, &open.id, reason, now).await?;
    }
    Ok(())
}

/// Voids every outstanding reset of a user, withdraws emails of theirs that have not gone out,
/// and ends a live temporary password. Called by every reset and every password change.
pub(crate) async fn void_outstanding(
    tx: &mut Tx,
    user: &UserId,
    reason: &str,
    now: Timestamp,
) -> DomainResult<()> {
    void_open(tx, user, Voids::All, reason, now).await?;
    users::end_temporary_password(tx, user, now).await
}

/// A temporary password works for one sign-in: that sign-in's restricted session is where the
/// user sets their own, and the temporary one is dead from then on.
/// `false` when it was already spent or has expired: the sign-in must then be refused.
///
/// One conditional update on the value the password was checked against (`expected`, which
/// spending changes), not on the clock: two sign-ins racing with one temporary password may
/// read `now` in either order, and only one of them may find the value unchanged.
pub(crate) async fn spend_temporary_password(
    tx: &mut Tx,
    user: &UserId,
    expected: Timestamp,
    now: Timestamp,
) -> DomainResult<bool> {
    if !users::spend_temporary_password(tx, user, expected, now).await? {
        return Ok(false);
    }
    store::resets::mark_temporary_used(tx, user, now).await?;
    Ok(true)
}

/// Send Password Change Link (or Copy link).
pub async fn send_link(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    request: LinkRequest,
) -> DomainResult<IssuedLink> {
    let result = try_send_link(services, actor, target, request).await;
    audit::audited(
        &services.db,
        actor,
        Some(target),
        AuditAction::ResetLinkIssued,
        result,
    )
    .await
}

/// The steps, unaudited: the public function records how they ended.
async fn try_send_link(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    request: LinkRequest,
) -> DomainResult<IssuedLink> {
    model::reset::check_link_minutes(request.minutes)?;
    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    let user = load(&mut tx, target).await?;
    let emailed = request.delivery == LinkDelivery::Email;
    must_apply(actor, Operation::IssueReset { emailed }, &user)?;
    let issued = issue_link(&mut tx, services, actor, &user, request, now, "").await?;
    tx.commit().await?;
    if issued.email_id.is_some() || issued.notified {
        services.mail.wake();
    }
    Ok(IssuedLink {
        expires_at: issued.expires_at,
        link: (request.delivery == LinkDelivery::Shown).then_some(issued.link),
    })
}

pub(crate) struct LinkInTx {
    pub link: Secret,
    pub expires_at: Timestamp,
    pub email_id: Option<String>,
    /// A notice of the change was queued (besides the link's own email, if any).
    pub notified: bool,
}

/// A link, inside the caller's transaction, for a user already checked as resettable: earlier
/// resets voided, the password killed if asked, the email queued, the reset recorded, every
/// session ended and one audit event written. Bulk Change runs the same steps per user.
pub(crate) async fn issue_link(
    tx: &mut Tx,
    services: &Services,
    actor: &Actor,
    user: &User,
    request: LinkRequest,
    now: Timestamp,
    note_suffix: &str,
) -> DomainResult<LinkInTx> {
    void_outstanding(tx, &user.id, "superseded by a newer reset", now).await?;
    if request.invalidate_password {
        users::invalidate_password(tx, &user.id, now).await?;
    }
    users::clear_failed_sign_ins(tx, &user.id, now).await?;

    let token = SecretToken::generate();
    let expires_at = now.plus_seconds(request.minutes * 60);
    let link = services.reset_url(&token);
    let email_id = match request.delivery {
        LinkDelivery::Email => {
            let email = emails::reset_link(user, &link, expires_at)
                .ok_or_else(|| DomainError::Internal("no address after the check".into()))?;
            Some(outbox::enqueue(tx, &services.keys, &email, now).await?)
        }
        LinkDelivery::Shown => None,
    };
    store::resets::insert(
        tx,
        store::resets::NewReset {
            user: &user.id,
            kind: ResetKind::Link,
            token: Some(token.digest()),
            actor: Some(actor),
            expires_at,
            email_id: email_id.clone(),
            invalidated_password: request.invalidate_password,
        },
        now,
    )
    .await?;
    let note = format!(
        "{}; valid {} min; {}{note_suffix}",
        match request.delivery {
            LinkDelivery::Email => "link emailed",
            LinkDelivery::Shown => "link shown to administrator",
        },
        request.minutes,
        if request.invalidate_password {
            "current password invalidated; "
        } else {
            "current password kept until the link is used; "
        }
    );
    end_sessions_and_record(tx, actor, user, AuditAction::ResetLinkIssued, &note, now).await?;
    // An emailed link tells the user itself; a link handed over by the helpdesk that killed
    // the password does not.
    let notified = request.delivery == LinkDelivery::Shown
        && request.invalidate_password
        && notify_owner(
            tx,
            &services.keys,
            actor,
            user,
            CredentialChange::PasswordInvalidated,
            now,
        )
        .await?;
    Ok(LinkInTx {
        link: Secret::new(link),
        expires_at,
        email_id,
        notified,
    })
}

/// Generate Temporary Password: shown once to the administrator, and optionally emailed.
pub async fn generate_temporary(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    email_user: bool,
) -> DomainResult<TemporaryPassword> {
    let result = try_generate_temporary(services, actor, target, email_user).await;
    audit::audited(
        &services.db,
        actor,
        Some(target),
        AuditAction::TemporaryPassword,
        result,
    )
    .await
}

/// The steps, unaudited: the public function records how they ended.
async fn try_generate_temporary(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    email_user: bool,
) -> DomainResult<TemporaryPassword> {
    let kind = ResetKind::TemporaryPassword;
    issue_generated(services, actor, target, kind, email_user).await
}

/// Generate New Password: emailed to the user, never shown to the administrator.
pub async fn generate_emailed(
    services: &Services,
    actor: &Actor,
    target: &UserId,
) -> DomainResult<Timestamp> {
    let result = try_generate_emailed(services, actor, target).await;
    audit::audited(
        &services.db,
        actor,
        Some(target),
        AuditAction::GeneratedPassword,
        result,
    )
    .await
}

/// The steps, unaudited: the public function records how they ended.
async fn try_generate_emailed(
    services: &Services,
    actor: &Actor,
    target: &UserId,
) -> DomainResult<Timestamp> {
    services.resets.may_email_passwords()?;
    let kind = ResetKind::EmailedPassword;
    let issued = issue_generated(services, actor, target, kind, true).await?;
    Ok(issued.expires_at)
}

async fn issue_generated(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    kind: ResetKind,
    email_user: bool,
) -> DomainResult<TemporaryPassword> {
    let user = users::get(services.db.pool(), target)
        .await?
        .ok_or(DomainError::NotFound)?;
    let operation = Operation::IssueReset {
        emailed: email_user,
    };
    must_apply(actor, operation, &user)?;
    if email_user {
        services.resets.may_email_passwords()?;
    }
    let ctx = PolicyContext {
        username: user.username.clone(),
        email: user.email.clone(),
    };
    let password = readable_password(&services.policy, &ctx);
    let digest = services.hasher.hash(&password).await?;

    let now = Timestamp::now();
    let expires_at = now.plus_seconds(services.resets.temporary_password_hours * 3600);
    let mut tx = services.db.begin().await?;
    let user = load(&mut tx, target).await?;
    must_apply(actor, operation, &user)?;
    let state = NewPasswordState {
        must_change: true,
        expires_at: Some(expires_at),
    };
    write_password(&mut tx, target, &digest, state, now).await?;
    let sign_in = format!("{}/login", services.public_url);
    let email_id = if email_user {
        let email = emails::access_info(&user, password.as_str(), &sign_in, expires_at)
            .ok_or_else(|| DomainError::Internal("no address after the check".into()))?;
        Some(outbox::enqueue(&mut tx, &services.keys, &email, now).await?)
    } else {
        None
    };
    store::resets::insert(
        &mut tx,
        store::resets::NewReset {
            user: target,
            kind,
            token: None,
            actor: Some(actor),
            expires_at,
            email_id: email_id.clone(),
            invalidated_password: true,
        },
        now,
    )
    .await?;
    let (action, note) = match (kind, email_user) {
        (ResetKind::EmailedPassword, _) => {
            (AuditAction::GeneratedPassword, "emailed to the user; ")
        }
        (_, true) => (
            AuditAction::TemporaryPassword,
            "shown once; access info emailed; ",
        ),
        (_, false) => (AuditAction::TemporaryPassword, "shown once; "),
    };
    end_sessions_and_record(&mut tx, actor, &user, action, note, now).await?;
    let notified = email_id.is_none()
        && notify_owner(
            &mut tx,
            &services.keys,
            actor,
            &user,
            CredentialChange::TemporaryPassword,
            now,
        )
        .await?;
    tx.commit().await?;
    if email_id.is_some() || notified {
        services.mail.wake();
    }
    Ok(TemporaryPassword {
        password: Secret::new(password.as_str()),
        expires_at,
    })
}

/// Revoke on the reset status card: the link or temporary password stops working now, and an
/// email not yet sent is withdrawn.
pub async fn revoke(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    reset_id: &str,
) -> DomainResult<()> {
    let result = try_revoke(services, actor, target, reset_id).await;
    audit::audited(
        &services.db,
        actor,
        Some(target),
        AuditAction::ResetRevoked,
        result,
    )
    .await
}

/// The steps, unaudited: the public function records how they ended.
async fn try_revoke(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    reset_id: &str,
) -> DomainResult<()> {
    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    let user = load(&mut tx, target).await?;
    // Revoking only makes an account safer: it stays allowed on a disabled account, or once
    // a reset is pending; who may manage the user is the rule's to say.
    let manage = refusal(
        actor.role(),
        Operation::IssueReset { emailed: false },
        &target_of(actor, &user),
    );
    if let Some(reason @ (SkipReason::Yourself | SkipReason::External | SkipReason::NotPermitted)) =
        manage
    {
        return Err(match reason {
            SkipReason::NotPermitted => DomainError::Forbidden,
            _ => DomainError::Conflict(reason.sentence().into()),
        });
    }
    let Some(email_id) = store::resets::live_email_of(&mut tx, reset_id, target, now).await? else {
        return Err(DomainError::Conflict(
            "This reset has already been used, revoked or has expired.".into(),
        ));
    };
    if let Some(email_id) = email_id {
        outbox::cancel(&mut tx, &email_id, now).await?;
    }
    let reason = format!("revoked by {}", actor.username());
    void_outstanding(&mut tx, target, &reason, now).await?;
    let event = AuditEvent::success(
        now,
        AuditAction::ResetRevoked,
        actor.party(),
        party(&user),
        actor.ip().map(str::to_owned),
    );
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(())
}

/// Resend Email: a new link (the earlier one stops working), offered after the cooldown or at
/// once when the last email failed.
pub async fn resend(
    services: &Services,
    actor: &Actor,
    target: &UserId,
) -> DomainResult<IssuedLink> {
    let result = try_resend(services, actor, target).await;
    audit::audited(
        &services.db,
        actor,
        Some(target),
        AuditAction::ResetLinkIssued,
        result,
    )
    .await
}

/// The steps, unaudited: the public function records how they ended.
async fn try_resend(
    services: &Services,
    actor: &Actor,
    target: &UserId,
) -> DomainResult<IssuedLink> {
    let now = Timestamp::now();
    let latest = status(&services.db, target).await?;
    let Some((latest, at)) = latest.and_then(|r| r.resend_available_at(now).map(|at| (r, at)))
    else {
        return Err(DomainError::Conflict(
            "There is no emailed password change link to resend.".into(),
        ));
    };
    if at > now {
        return Err(DomainError::Conflict(format!(
            "The last email went out less than 15 minutes ago. Resend Email is available from \
             {at}."
        )));
    }
    let minutes = (latest.expires_at.millis() - latest.created_at.millis()) / 60_000;
    let request = LinkRequest {
        minutes: minutes.clamp(
            model::reset::LINK_MINUTES_MIN,
            model::reset::LINK_MINUTES_MAX,
        ),
        invalidate_password: latest.invalidated_password,
        delivery: LinkDelivery::Email,
    };
    send_link(services, actor, target, request).await
}

/// The latest reset of a user, with its email's delivery state: the reset status card.
pub async fn status(db: &Db, user: &UserId) -> DomainResult<Option<ResetStatus>> {
    store::resets::latest(db, user).await
}

/// What the reset page may show about the link's holder before they choose a password.
#[derive(Clone, Debug)]
pub struct LinkHolder {
    pub user: User,
    pub expires_at: Timestamp,
}

/// Looks a link up without consuming it: opening the page (or a mail scanner's GET or HEAD)
/// leaves it usable. `None` for an unknown, used, voided or expired link alike.
pub async fn check_link<'e, E>(
    executor: E,
    token: &SecretToken,
    now: Timestamp,
) -> DomainResult<Option<LinkHolder>>
where
    E: Executor<'e, Database = Any> + Copy,
{
    let Some((user_id, expires_at)) =
        store::resets::find_valid_link(executor, &token.digest(), now).await?
    else {
        return Ok(None);
    };
    let user = users::get(executor, &user_id).await?;
    Ok(user
        .filter(|u| u.active && u.source == model::UserSource::Local)
        .map(|user| LinkHolder { user, expires_at }))
}

/// The POST of the reset page: the only thing that consumes a link. The new password is
/// checked before the link is spent, so a typo costs nothing; then one conditional update
/// decides which of any racing requests wins.
pub async fn complete_link(
    services: &Services,
    token: &SecretToken,
    password: &Password,
    confirm: &Password,
    client: &ClientInfo,
) -> DomainResult<()> {
    let holder = check_link(services.db.pool(), token, Timestamp::now())
        .await?
        .ok_or(DomainError::LinkInvalid)?;
    check_new_password(&services.policy, &holder.user, password, confirm)?;
    let digest = services.hasher.hash(password).await?;

    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    let Some(user_id) = store::resets::consume_link(&mut tx, &token.digest(), now).await? else {
        return Err(DomainError::LinkInvalid);
    };
    let user = load(&mut tx, &user_id).await?;
    if !user.active || user.source != model::UserSource::Local {
        return Err(DomainError::LinkInvalid);
    }
    write_password(&mut tx, &user.id, &digest, NewPasswordState::FINAL, now).await?;
    let ended = sessions::revoke_all_for_user(&mut tx, &user.id).await?;
    if let Some(email) = emails::password_changed(&user, now) {
        outbox::enqueue(&mut tx, &services.keys, &email, now).await?;
    }
    let event = AuditEvent::success(
        now,
        AuditAction::ResetCompleted,
        party(&user),
        party(&user),
        client.ip.clone(),
    );
    let detail = format!("set through a password change link; {ended} session(s) ended");
    audit::record(&mut *tx, &event.with_detail(Some(detail))).await?;
    tx.commit().await?;
    services.mail.wake();
    Ok(())
}

/// The shortest time a "Forgot your password?" request takes, whatever the account: the
/// answer's timing must not tell an attacker whether it exists.
const FORGOT_FLOOR: std::time::Duration = std::time::Duration::from_millis(600);

/// "Forgot your password?": emails a link to the address stored for the account named by
/// `login_name` (username or email), if there is an active, local account with an address, no
/// administrator's reset is outstanding for it (a stranger must not be able to void what the
/// helpdesk sent), and no link was sent to it in the last 15 minutes. The current password keeps
/// working.
///
/// The work runs in the background and the caller is answered after a fixed time, whatever
/// the account: neither the answer, its timing, nor a database error tells whether it exists.
pub async fn request_by_user(services: &Services, login_name: &str, client: &ClientInfo) {
    let answer_at = tokio::time::Instant::now() + FORGOT_FLOOR;
    let (services, login_name, client) = (services.clone(), login_name.to_owned(), client.clone());
    let work = tokio::spawn(async move {
        if let Err(e) = process_request(&services, &login_name, &client).await {
            tracing::warn!(error = %e, "a password reset request could not be handled");
        }
    });
    // Usually done well before the answer is due; if not, it goes on in the background.
    let _ = tokio::time::timeout_at(answer_at, work).await;
    tokio::time::sleep_until(answer_at).await;
}

/// The work behind [`request_by_user`], without its fixed answer time: for tests, which must
/// see the outcome rather than the answer.
#[cfg(feature = "test-support")]
pub async fn handle_request(
    services: &Services,
    login_name: &str,
    client: &ClientInfo,
) -> DomainResult<()> {
    process_request(services, login_name, client).await
}

async fn process_request(
    services: &Services,
    login_name: &str,
    client: &ClientInfo,
) -> DomainResult<()> {
    let user = users::find_by_login_name(&services.db, login_name).await?;
    // The same argon2 work on every path, as for a sign-in.
    services
        .hasher
        .verify(&Password::new(login_name), None)
        .await;
    let Some(user) =
        user.filter(|u| u.active && u.source == model::UserSource::Local && u.email.is_some())
    else {
        tracing::info!("password reset requested for no eligible account");
        return Ok(());
    };
    let now = Timestamp::now();
    if let Some(latest) = status(&services.db, &user.id).await?
        && latest.is_outstanding(now)
    {
        // Anyone may type a username here; only the helpdesk may undo what the helpdesk sent.
        if latest.created_by.is_some() {
            tracing::info!("password reset requested while an administrator's is outstanding");
            return Ok(());
        }
        if !latest.may_resend(now) {
            tracing::info!("password reset requested again within the cooldown; not sent");
            return Ok(());
        }
    }
    let mut tx = services.db.begin().await?;
    let token = SecretToken::generate();
    let expires_at = now.plus_seconds(model::reset::LINK_MINUTES_DEFAULT * 60);
    let link = services.reset_url(&token);
    // Checked above, but an administrator may have reset meanwhile: theirs stays, and the
    // index that allows one open reset per user then refuses this one.
    void_open(
        &mut tx,
        &user.id,
        Voids::UserRequested,
        "superseded by a newer request",
        now,
    )
    .await?;
    let email = emails::requested_link(&user, &link, expires_at)
        .ok_or_else(|| DomainError::Internal("no address after the check".into()))?;
    let email_id = outbox::enqueue(&mut tx, &services.keys, &email, now).await?;
    store::resets::insert(
        &mut tx,
        store::resets::NewReset {
            user: &user.id,
            kind: ResetKind::Link,
            token: Some(token.digest()),
            actor: None,
            expires_at,
            email_id: Some(email_id),
            invalidated_password: false,
        },
        now,
    )
    .await?;
    let event = AuditEvent {
        at: now,
        actor: None,
        target: Some(party(&user)),
        action: AuditAction::ResetRequested,
        outcome: audit::Outcome::Success,
        ip: client.ip.clone(),
        detail: Some("link emailed to the address on file".into()),
    };
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    services.mail.wake();
    Ok(())
}

//! The steps every credential change shares, whoever starts it (an administrator, a bulk
//! job, a reset link, the user): who the target is and whether the operation applies to them,
//! the new password checked and written, outstanding resets voided, sessions ended, the audit
//! row and the owner's notice. Password operations and resets both build on these, so neither
//! depends on the other.

use model::PolicyContext;
use model::bulk::SkipReason;
use model::eligibility::{Operation, Target, refusal};
use model::fields::FieldError;
use model::settings::SecuritySettings;
use model::time::Timestamp;
use model::user::{Role, UserId};

use crate::audit::{AuditAction, AuditEvent, Party};
use crate::authority::Actor;
use crate::db::Tx;
use crate::emails::{self, CredentialChange};
use crate::error::{DomainError, DomainResult};
use crate::hashing::{Password, PasswordDigest};
use crate::keys::Keyring;
use crate::sessions;
use crate::store::{self, outbox};
use crate::users::{self, User};
use crate::{Services, blocklist};

pub(crate) fn party(user: &User) -> Party {
    Party {
        id: user.id.clone(),
        name: user.username.clone(),
    }
}

/// What the eligibility rule reads of `user`, seen by `actor`.
pub(crate) fn target_of(actor: &Actor, user: &User) -> Target {
    Target {
        is_actor: actor.id() == &user.id,
        role: user.role,
        source: user.source,
        active: user.active,
        must_change_password: user.must_change_password,
        has_email: user.email.is_some(),
    }
}

/// The eligibility rule ([`model::eligibility::refusal`]) as the operations' check, refused
/// with the words the details panel shows for the same user.
///
/// An administrator's credentials are the keys to everything: changing them asks for the
/// actor's own password again when it was typed long ago (sudo mode).
pub(crate) fn must_apply(actor: &Actor, operation: Operation, user: &User) -> DomainResult<()> {
    match refusal(actor.role(), operation, &target_of(actor, user)) {
        None if user.role == Role::Administrator && operation != Operation::ResetFailedSignIns => {
            actor.must_be_confirmed()
        }
        None => Ok(()),
        Some(SkipReason::NotPermitted) => Err(DomainError::Forbidden),
        // Change Password refuses the option, not the change: said beside its check box.
        Some(reason @ SkipReason::NoEmail)
            if matches!(operation, Operation::SetPassword { .. }) =>
        {
            Err(FieldError::new("email_user", reason.sentence()).into())
        }
        Some(reason) => Err(DomainError::Conflict(reason.sentence().into())),
    }
}

/// The target of an operation, read inside its write transaction with its row locked: the
/// checks on it (role, source, state) then hold until the change commits, on either engine.
pub(crate) async fn load(tx: &mut Tx, id: &UserId) -> DomainResult<User> {
    users::lock_row(tx, id).await?;
    users::get(&mut **tx, id)
        .await?
        .ok_or(DomainError::NotFound)
}

/// The names a password of `user` must not contain.
pub(crate) fn policy_context(user: &User) -> PolicyContext {
    PolicyContext {
        username: user.username.clone(),
        email: user.email.clone(),
        display_name: user.display_name.clone(),
    }
}

/// A new password, checked before it is hashed: it repeats Confirm Password, and the policy in
/// force passes it (with the shipped block-list).
pub(crate) async fn check_new_password(
    settings: &SecuritySettings,
    target: &User,
    password: &Password,
    confirm: &Password,
) -> DomainResult<()> {
    if !model::policy::confirms(password.as_str(), confirm.as_str()) {
        return Err(FieldError::new("confirm", model::policy::MISMATCH).into());
    }
    settings
        .policy()
        .check(
            password.as_str(),
            &policy_context(target),
            &blocklist::Shipped,
        )
        .map_err(DomainError::Policy)
}

/// "No reuse of the last K" for a password the person chose themselves (own change, a link):
/// the current hash and the K - 1 before it, each an argon2 verification, outside any
/// transaction. Not for an administrator setting someone's password: the answer would tell
/// them whether a guess was that person's current or an earlier password.
pub(crate) async fn refuse_reuse(
    services: &Services,
    settings: &SecuritySettings,
    target: &User,
    password: &Password,
) -> DomainResult<()> {
    let remembered = settings.password_history;
    if remembered == 0 {
        return Ok(());
    }
    // Without a current hash (a link that invalidated it), the history holds all K.
    let mut earlier: Vec<PasswordDigest> = target.password_hash.iter().cloned().collect();
    let wanted = remembered - earlier.len();
    let history = store::history::recent(&services.db, &target.id, wanted).await?;
    earlier.extend(history.into_iter().map(PasswordDigest));
    for digest in earlier.iter().take(remembered) {
        if services.hasher.verify(password, Some(digest)).await? {
            return Err(FieldError::new(
                "password",
                format!("Choose a password that is none of the last {remembered} used here."),
            )
            .into());
        }
    }
    Ok(())
}

/// What a password becomes: a temporary one stops working at `expires_at` (and at its first use).
#[derive(Clone, Copy, Debug)]
pub(crate) struct NewPasswordState {
    pub must_change: bool,
    pub expires_at: Option<Timestamp>,
}

impl NewPasswordState {
    pub const FINAL: Self = Self {
        must_change: false,
        expires_at: None,
    };
}

/// Every password write goes through here: the hash, the flag, the time, the lock cleared, and
/// every outstanding reset link or temporary password voided.
/// When the policy remembers earlier passwords, the current hash (about to be replaced or
/// removed) joins the history, which keeps the newest `keep`.
pub(crate) async fn remember_current(
    tx: &mut Tx,
    id: &UserId,
    settings: &SecuritySettings,
    keep: usize,
    now: Timestamp,
) -> DomainResult<()> {
    remember_current_of(tx, std::slice::from_ref(id), settings, keep, now).await
}

/// [`remember_current`] for many users in a few statements.
pub(crate) async fn remember_current_of(
    tx: &mut Tx,
    ids: &[UserId],
    settings: &SecuritySettings,
    keep: usize,
    now: Timestamp,
) -> DomainResult<()> {
    if settings.password_history == 0 || keep == 0 {
        return Ok(());
    }
    store::history::remember_current_of(tx, ids, keep, now).await
}

/// When the policy remembers earlier passwords, the one replaced joins the history.
pub(crate) async fn write_password(
    tx: &mut Tx,
    id: &UserId,
    digest: &PasswordDigest,
    state: NewPasswordState,
    settings: &SecuritySettings,
    now: Timestamp,
) -> DomainResult<()> {
    void_outstanding(tx, id, "password changed", now).await?;
    // The new hash becomes "the current one", so the history keeps K - 1 earlier ones.
    remember_current(
        tx,
        id,
        settings,
        settings.password_history.saturating_sub(1),
        now,
    )
    .await?;
    users::set_password_hash(tx, id, digest, state.must_change, state.expires_at, now).await?;
    users::clear_failed_sign_ins(tx, id, now).await
}

/// The audit row of `actor`'s change to `user`, succeeded at `now`.
pub(crate) fn event_by(
    actor: &Actor,
    action: AuditAction,
    user: &User,
    now: Timestamp,
) -> AuditEvent {
    AuditEvent::success(
        now,
        action,
        actor.party(),
        party(user),
        actor.ip().map(str::to_owned),
    )
}

/// What every administrator reset ends with, inside its transaction: all of the user's
/// sessions end, and one audit event records who did it (never the password).
pub(crate) async fn end_sessions_and_record(
    tx: &mut Tx,
    actor: &Actor,
    user: &User,
    action: AuditAction,
    note: &str,
    now: Timestamp,
) -> DomainResult<()> {
    end_sessions_and_record_each(tx, actor, std::slice::from_ref(user), action, note, now).await
}

/// [`end_sessions_and_record`] for many users in two statements: one audit event each.
pub(crate) async fn end_sessions_and_record_each(
    tx: &mut Tx,
    actor: &Actor,
    users: &[User],
    action: AuditAction,
    note: &str,
    now: Timestamp,
) -> DomainResult<()> {
    let ids: Vec<UserId> = users.iter().map(|u| u.id.clone()).collect();
    let ended = sessions::revoke_all_for_users(tx, &ids).await?;
    let events: Vec<AuditEvent> = users
        .iter()
        .map(|user| {
            let count = ended.get(&user.id.0).copied().unwrap_or(0);
            event_by(actor, action, user, now)
                .with_detail(Some(format!("{note}{count} session(s) ended")))
        })
        .collect();
    store::audit::insert_all(tx, &events).await
}

/// Queues the notice of a credential change an administrator made, inside the change's
/// transaction, unless the person cannot sign in anyway (a disabled account gets no mail) or
/// has no address. Returns whether an email was queued.
pub(crate) async fn notify_owner(
    tx: &mut Tx,
    keys: &Keyring,
    actor: &Actor,
    user: &User,
    change: CredentialChange,
    now: Timestamp,
) -> DomainResult<bool> {
    Ok(notify_owners(tx, keys, actor, std::slice::from_ref(user), change, now).await? > 0)
}

/// [`notify_owner`] for many users in a few statements; how many emails were queued.
pub(crate) async fn notify_owners(
    tx: &mut Tx,
    keys: &Keyring,
    actor: &Actor,
    users: &[User],
    change: CredentialChange,
    now: Timestamp,
) -> DomainResult<usize> {
    let emails: Vec<_> = users
        .iter()
        .filter(|user| user.active && actor.id() != &user.id)
        .filter_map(|user| emails::changed_by_administrator(user, actor.username(), change, now))
        .collect();
    outbox::enqueue_all(tx, keys, &emails, now).await?;
    Ok(emails.len())
}

/// What "Forgot your password?" voids before it issues a link: links the user asked for, and
/// anything already expired. It may be typed by anyone, so it must not undo a live reset the
/// helpdesk sent, but an expired one must not block the user's own request for ever.
/// Their emails that have not gone out are withdrawn.
pub(crate) async fn void_user_requested(
    tx: &mut Tx,
    user: &UserId,
    reason: &str,
    now: Timestamp,
) -> DomainResult<()> {
    // The one-open-reset index keeps this to a row or none.
    for open in store::resets::open_for_user(tx, user).await? {
        if open.created_by_admin && open.expires_at > now {
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
    void_outstanding_of(tx, std::slice::from_ref(user), reason, now).await
}

/// [`void_outstanding`] for many users in a few statements.
pub(crate) async fn void_outstanding_of(
    tx: &mut Tx,
    users: &[UserId],
    reason: &str,
    now: Timestamp,
) -> DomainResult<()> {
    void_resets_of(tx, users, reason, now).await?;
    users::end_temporary_passwords(tx, users, now).await
}

/// [`void_outstanding_of`] but for the temporary passwords, for a caller whose own write to the
/// users ends them ([`users::force_reset_of`]).
pub(crate) async fn void_resets_of(
    tx: &mut Tx,
    users: &[UserId],
    reason: &str,
    now: Timestamp,
) -> DomainResult<()> {
    let emails = store::resets::open_emails_of(tx, users).await?;
    outbox::cancel_all(tx, &emails, now).await?;
    store::resets::void_open_of(tx, users, reason, now).await
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

//! Password operations: an administrator's (force a reset, set a new password) and a user's own
//! change. Each one is a single transaction that updates the hash or flag, ends the user's
//! sessions, clears failed sign-ins and the lock, and writes one audit event: all of it happens,
//! or none of it.

use model::eligibility::Operation;
use model::fields::FieldError;
use model::time::Timestamp;
use model::user::UserId;

use crate::Services;
use crate::audit::{self, AuditAction, AuditEvent};
use crate::authority::Actor;
use crate::credentials::{
    NewPasswordState, check_new_password, end_sessions_and_record, end_sessions_and_record_each,
    load, must_apply, notify_owner, notify_owners, party, refuse_reuse, void_resets_of,
    write_password,
};
use crate::db::Tx;
use crate::emails::{self, CredentialChange};
use crate::error::{DomainError, DomainResult};
use crate::hashing::Password;
use crate::keys::Keyring;
use crate::resets::ResetSettings;
use crate::sessions::{self, ClientInfo, Purpose, SessionPolicy};
use crate::store::outbox;
use crate::tokens::SecretToken;
use crate::users::{self, User};

/// Force Password Reset on Next Login: the user is signed out everywhere, and the current
/// password then opens only a session that can set a new one.
pub async fn force_reset(services: &Services, actor: &Actor, target: &UserId) -> DomainResult<()> {
    let result = try_force_reset(services, actor, target).await;
    audit::audited(
        &services.db,
        actor,
        Some(target),
        AuditAction::ForceReset,
        result,
    )
    .await
}

/// The steps, unaudited: the public function records how they ended.
async fn try_force_reset(services: &Services, actor: &Actor, target: &UserId) -> DomainResult<()> {
    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    let user = load(&mut tx, target).await?;
    must_apply(actor, Operation::ForceReset, &user)?;
    let notified = flag_in_tx(&mut tx, &services.keys, actor, &user, now, "").await?;
    tx.commit().await?;
    if notified {
        services.mail.wake();
    }
    Ok(())
}

/// The steps of Force Password Reset on Next Login inside the caller's transaction, for a user
/// already checked. Returns whether a notice was queued.
async fn flag_in_tx(
    tx: &mut Tx,
    keys: &Keyring,
    actor: &Actor,
    user: &User,
    now: Timestamp,
    note: &str,
) -> DomainResult<bool> {
    let notices = flag_each(tx, keys, actor, std::slice::from_ref(user), now, note).await?;
    Ok(notices > 0)
}

/// The same steps for many users already checked, a few statements in all: Bulk Change's
/// batch. Returns how many notices were queued.
pub(crate) async fn flag_each(
    tx: &mut Tx,
    keys: &Keyring,
    actor: &Actor,
    users: &[User],
    now: Timestamp,
    note: &str,
) -> DomainResult<usize> {
    let ids: Vec<UserId> = users.iter().map(|u| u.id.clone()).collect();
    users::force_reset_of(tx, &ids, now).await?;
    void_resets_of(tx, &ids, "superseded by Force Password Reset", now).await?;
    end_sessions_and_record_each(tx, actor, users, AuditAction::ForceReset, note, now).await?;
    notify_owners(tx, keys, actor, users, CredentialChange::ResetForced, now).await
}

/// What Change Password does besides replacing the password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterSet {
    /// The user keeps the new password.
    Keep,
    /// "Must Reset Password at Next Login".
    MustReset,
    /// "Email Password to User": the password goes to the user's stored address, and since it
    /// then sits in a mailbox, it must be changed at the next sign-in.
    EmailAndMustReset,
}

/// Change Password from the console: the new password replaces the old one at once.
pub async fn set_password(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    password: &Password,
    confirm: &Password,
    after: AfterSet,
) -> DomainResult<()> {
    let result = try_set_password(services, actor, target, password, confirm, after).await;
    audit::audited(
        &services.db,
        actor,
        Some(target),
        AuditAction::PasswordSet,
        result,
    )
    .await
}

/// The steps, unaudited: the public function records how they ended.
async fn try_set_password(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    password: &Password,
    confirm: &Password,
    after: AfterSet,
) -> DomainResult<()> {
    let must_change = after != AfterSet::Keep;
    let user = users::get(services.db.pool(), target)
        .await?
        .ok_or(DomainError::NotFound)?;
    let operation = Operation::SetPassword {
        emailed: after == AfterSet::EmailAndMustReset,
    };
    must_apply(actor, operation, &user)?;
    let settings = services.security().await?;
    if after == AfterSet::EmailAndMustReset {
        ResetSettings::from(&settings).may_email_passwords()?;
    }
    check_new_password(&settings, &user, password, confirm).await?;
    let digest = services.hasher.hash(password).await?;

    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    // Checked again inside the transaction: the user may have changed while we hashed.
    let user = load(&mut tx, target).await?;
    must_apply(actor, operation, &user)?;
    write_password(
        &mut tx,
        target,
        &digest,
        NewPasswordState {
            must_change,
            expires_at: None,
        },
        &settings,
        now,
    )
    .await?;
    let emailed = if after == AfterSet::EmailAndMustReset {
        let sign_in = format!("{}/login", services.public_url);
        let email = emails::password_set_by_admin(&user, password.as_str(), &sign_in)
            .ok_or_else(|| DomainError::Internal("no address after the check".into()))?;
        outbox::enqueue(&mut tx, &services.keys, &email, now).await?;
        true
    } else {
        let change = CredentialChange::PasswordSet;
        notify_owner(&mut tx, &services.keys, actor, &user, change, now).await?
    };
    let note = match after {
        AfterSet::Keep => "",
        AfterSet::MustReset => "must reset at next login; ",
        AfterSet::EmailAndMustReset => "emailed to the user; must reset at next login; ",
    };
    end_sessions_and_record(&mut tx, actor, &user, AuditAction::PasswordSet, note, now).await?;
    tx.commit().await?;
    if emailed {
        services.mail.wake();
    }
    Ok(())
}

/// A user sets their own password: from a restricted session (the password had to be changed)
/// or a full one, which must also give the current password. Every session of the user ends and
/// this browser gets a fresh, full one.
pub async fn change_own(
    services: &Services,
    user: &User,
    purpose: Purpose,
    current: Option<&Password>,
    password: &Password,
    confirm: &Password,
    client: &ClientInfo,
) -> DomainResult<SecretToken> {
    if purpose == Purpose::Full {
        let current = current
            .filter(|c| !c.as_str().is_empty())
            .ok_or_else(|| FieldError::new("current", "Enter your current password."))?;
        if !services
            .hasher
            .verify(current, user.password_hash.as_ref())
            .await?
        {
            return Err(FieldError::new("current", "The current password is not correct.").into());
        }
    }
    let settings = services.security().await?;
    check_new_password(&settings, user, password, confirm).await?;
    refuse_reuse(services, &settings, user, password).await?;
    if services
        .hasher
        .verify(password, user.password_hash.as_ref())
        .await?
    {
        return Err(FieldError::new(
            "password",
            "Choose a password different from your current one.",
        )
        .into());
    }
    let digest = services.hasher.hash(password).await?;

    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    let fresh = load(&mut tx, &user.id).await?;
    if fresh.password_hash != user.password_hash {
        return Err(DomainError::Conflict(
            "Your password was changed meanwhile. Sign in again.".into(),
        ));
    }
    write_password(
        &mut tx,
        &user.id,
        &digest,
        NewPasswordState::FINAL,
        &settings,
        now,
    )
    .await?;
    sessions::revoke_all_for_user(&mut tx, &user.id).await?;
    let token = sessions::create(
        &mut tx,
        &user.id,
        Purpose::Full,
        &SessionPolicy::from(&settings),
        client,
        now,
    )
    .await?;
    let event = AuditEvent::success(
        now,
        AuditAction::OwnPasswordChanged,
        party(user),
        party(user),
        client.ip.clone(),
    );
    let detail = (purpose == Purpose::PasswordChange).then(|| "required change completed".into());
    audit::record(&mut *tx, &event.with_detail(detail)).await?;
    if let Some(email) = emails::password_changed(&*services.templates().await?, user, now) {
        outbox::enqueue(&mut tx, &services.keys, &email, now).await?;
    }
    tx.commit().await?;
    services.mail.wake();
    Ok(token)
}

/// Reset beside the failed-sign-in count (seed 004): the count goes back to 0 and a lock ends
/// before it runs out. Administrators, and Password Managers for the users they may manage
/// (the seeds delegate "resetting local users' passwords and locked user accounts").
pub async fn unlock(services: &Services, actor: &Actor, target: &UserId) -> DomainResult<()> {
    let result = try_unlock(services, actor, target).await;
    audit::audited(
        &services.db,
        actor,
        Some(target),
        AuditAction::AccountUnlocked,
        result,
    )
    .await
}

/// The steps, unaudited: the public function records how they ended.
async fn try_unlock(services: &Services, actor: &Actor, target: &UserId) -> DomainResult<()> {
    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    let user = load(&mut tx, target).await?;
    must_apply(actor, Operation::ResetFailedSignIns, &user)?;
    if user.failed_logins == 0 && !user.is_locked(now) {
        return Err(DomainError::Conflict(
            "This user has no failed sign-ins to reset.".into(),
        ));
    }
    users::clear_failed_sign_ins(&mut tx, target, now).await?;
    let detail = format!("after {} failed sign-in(s)", user.failed_logins);
    let event = AuditEvent::success(
        now,
        AuditAction::AccountUnlocked,
        actor.party(),
        party(&user),
        actor.ip().map(str::to_owned),
    );
    audit::record(&mut *tx, &event.with_detail(Some(detail))).await?;
    tx.commit().await?;
    Ok(())
}

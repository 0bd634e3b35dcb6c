//! Edit (display name, email, Is Active) and Delete, from the details panel.

use model::fields::{self, FieldError};
use model::people::AccountChange;
use model::time::Timestamp;
use model::user::{Permission, UserId};

use super::{event_by, keep_an_administrator, lock_administrators_first, may_change};
use crate::Services;
use crate::audit::{self, AuditAction};
use crate::authority::Actor;
use crate::credentials::{load, void_outstanding};
use crate::db::Tx;
use crate::emails;
use crate::error::DomainResult;
use crate::keys::Keyring;
use crate::sessions;
use crate::store::outbox;
use crate::users::{self, Profile, User};

/// Saves the details panel's Edit form. Changing the email voids outstanding links and
/// temporary passwords and tells the old address; deactivating ends every session and voids
/// them too.
pub async fn edit(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    display_name: &str,
    email: &str,
    active: bool,
) -> DomainResult<()> {
    let result = try_edit(services, actor, target, display_name, email, active).await;
    audit::audited(
        &services.db,
        actor,
        Some(target),
        AuditAction::UserEdited,
        result,
    )
    .await
}

async fn try_edit(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    display_name: &str,
    email: &str,
    active: bool,
) -> DomainResult<()> {
    actor.must_hold(Permission::UserManagement)?;
    let profile = Profile {
        display_name: fields::display_name(display_name)?,
        email: fields::email(email)?,
        active,
    };
    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    if !active {
        lock_administrators_first(&mut tx).await?;
    }
    let user = load(&mut tx, target).await?;
    // Moving someone's mailbox (where resets go) or switching them off is as good as taking
    // their account: it asks for a recently typed password, as changing a password does.
    let email_changes = profile.email.as_deref().map(fields::email_key)
        != user.email.as_deref().map(fields::email_key);
    if email_changes || user.active != active {
        actor.must_be_confirmed()?;
    }
    let notified = edit_in_tx(&mut tx, &services.keys, actor, &user, &profile, now).await?;
    tx.commit().await?;
    if notified {
        services.mail.wake();
    }
    Ok(())
}

/// The steps of an edit inside the caller's transaction, for a user read with their row
/// locked: the rules, the change, what it voids and ends, the notice to an old address and
/// the audit row (nothing when nothing changes). Import runs the same per row. Returns
/// whether a notice was queued.
pub(crate) async fn edit_in_tx(
    tx: &mut Tx,
    keys: &Keyring,
    actor: &Actor,
    user: &User,
    profile: &Profile,
    now: Timestamp,
) -> DomainResult<bool> {
    may_change(actor, AccountChange::Edit, user)?;
    let deactivating = user.active && !profile.active;
    if user.active != profile.active {
        may_change(actor, AccountChange::SetActive, user)?;
    }
    if deactivating {
        keep_an_administrator(tx, actor, user).await?;
    }
    let email_changed = profile.email.as_deref().map(fields::email_key)
        != user.email.as_deref().map(fields::email_key);
    if email_changed
        && users::taken(&mut **tx, None, profile.email.as_deref(), Some(&user.id))
            .await?
            .1
    {
        return Err(
            FieldError::new("email", "Another user already has that email address.").into(),
        );
    }
    let mut changes = changes(user, profile);
    if changes.is_empty() {
        return Ok(false);
    }
    users::update_profile(tx, user, profile, now).await?;
    if email_changed || deactivating {
        let reason = if deactivating {
            "the account was deactivated"
        } else {
            "the email address changed"
        };
        void_outstanding(tx, &user.id, reason, now).await?;
    }
    if deactivating {
        let ended = sessions::revoke_all_for_user(tx, &user.id).await?;
        changes.push(format!("{ended} session(s) ended"));
    }
    let mut notified = false;
    if email_changed
        && profile.active
        && let Some(old) = &user.email
    {
        let notice = emails::email_changed(user, old, actor.username(), now);
        outbox::enqueue(tx, keys, &notice, now).await?;
        notified = true;
    }
    let event = event_by(actor, AuditAction::UserEdited, user, now);
    audit::record(&mut **tx, &event.with_detail(Some(changes.join("; ")))).await?;
    Ok(notified)
}

/// What an edit changes, in the audit trail's words; empty when nothing does.
pub(crate) fn changes(user: &User, profile: &Profile) -> Vec<String> {
    let mut changes = Vec::new();
    if profile.display_name != user.display_name {
        changes.push(format!(
            "display name {:?} → {:?}",
            user.display_name, profile.display_name
        ));
    }
    if profile.email != user.email {
        changes.push(format!(
            "email {} → {}",
            user.email.as_deref().unwrap_or("none"),
            profile.email.as_deref().unwrap_or("none")
        ));
    }
    if user.active != profile.active {
        changes.push(
            if profile.active {
                "activated"
            } else {
                "deactivated"
            }
            .to_owned(),
        );
    }
    changes
}

/// Delete, after a confirmation that names the user. The audit trail keeps what happened to
/// them under their username; their unsent emails are withdrawn.
pub async fn delete(services: &Services, actor: &Actor, target: &UserId) -> DomainResult<()> {
    let result = try_delete(services, actor, target).await;
    audit::audited(
        &services.db,
        actor,
        Some(target),
        AuditAction::UserDeleted,
        result,
    )
    .await
}

async fn try_delete(services: &Services, actor: &Actor, target: &UserId) -> DomainResult<()> {
    actor.must_hold(Permission::UserManagement)?;
    actor.must_be_confirmed()?;
    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    lock_administrators_first(&mut tx).await?;
    let user = load(&mut tx, target).await?;
    may_change(actor, AccountChange::Delete, &user)?;
    keep_an_administrator(&mut tx, actor, &user).await?;
    void_outstanding(&mut tx, target, "the account was deleted", now).await?;
    outbox::cancel_all_for_user(&mut tx, target, now).await?;
    let event = event_by(actor, AuditAction::UserDeleted, &user, now);
    let detail = format!(
        "{} ({}), {}",
        user.display_name,
        user.role.label(),
        user.email.as_deref().unwrap_or("no email")
    );
    audit::record(&mut *tx, &event.with_detail(Some(detail))).await?;
    users::delete(&mut tx, target).await?;
    tx.commit().await?;
    Ok(())
}

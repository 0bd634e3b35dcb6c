//! People: adding them, keeping their accounts current, deleting them, and the roles that say
//! what they may do in the console. Administrators only; each change is one transaction with
//! its audit row, and none of them may leave the organisation without an active
//! administrator.

mod add;
mod edit;
pub mod import;
mod roles;

pub use add::{Added, NewPerson, add};
pub use edit::{delete, edit};
pub use roles::set_role;

use model::eligibility::Target;
use model::people::{AccountChange, account_refusal};
use model::user::Role;

use crate::Services;
use crate::authority::Actor;
use crate::credentials::{event_by, target_of};
use crate::db::Tx;
use crate::error::{DomainError, DomainResult};
use crate::resets::{LinkDelivery, LinkRequest, LinkText, issue_link};
use crate::users::{self, User};
use model::time::Timestamp;

/// The welcome email, with a single-use link to choose a first password, inside the caller's
/// transaction (Add user and Import). Returns when the link expires.
async fn send_welcome(
    tx: &mut Tx,
    services: &Services,
    actor: &Actor,
    user: &User,
    minutes: i64,
    now: Timestamp,
) -> DomainResult<Timestamp> {
    let request = LinkRequest {
        minutes,
        invalidate_password: false,
        delivery: LinkDelivery::Email,
    };
    let issued = issue_link(tx, services, actor, user, request, LinkText::Welcome, now).await?;
    Ok(issued.expires_at)
}

/// Takes every active administrator's row lock before the target's: a change that may remove
/// an administrator always locks in this order (see [`keep_an_administrator`]).
async fn lock_administrators_first(tx: &mut Tx) -> DomainResult<()> {
    users::lock_active_administrators(tx).await.map(drop)
}

/// Refuses, inside a long-running import, an actor who is no longer an active administrator
/// (demoted, disabled or deleted since it started). Read inside the batch's transaction.
pub(crate) async fn actor_still_may(tx: &mut Tx, actor: &Actor) -> DomainResult<()> {
    if actor.is_command_line() {
        return Ok(());
    }
    let current = users::get(&mut **tx, actor.id()).await?;
    if current.is_some_and(|a| a.active && a.role == Role::Administrator && !a.must_change_password)
    {
        Ok(())
    } else {
        Err(DomainError::Forbidden)
    }
}

/// The account rule ([`model::people::account_refusal`]) as the operations' check, in the
/// words the details panel shows for the same user.
fn may_change(actor: &Actor, change: AccountChange, user: &User) -> DomainResult<()> {
    let target: Target = target_of(actor, user);
    match account_refusal(actor.role(), change, &target) {
        None => Ok(()),
        Some(_) if actor.role() != Role::Administrator => Err(DomainError::Forbidden),
        Some(reason) => Err(DomainError::Conflict(reason.into())),
    }
}

/// Refuses a change that takes `user` (an active administrator) out of the active
/// administrators when no other would be left, and a change by an actor who is no longer one.
/// Every active administrator's row is locked first, so two administrators demoting each
/// other at once take turns and the second is refused. Callers lock the administrators before
/// the target's row ([`lock_administrators_first`]), so the two never wait on each other in
/// opposite orders.
async fn keep_an_administrator(tx: &mut Tx, actor: &Actor, user: &User) -> DomainResult<()> {
    let administrators = users::lock_active_administrators(tx).await?;
    if !actor.is_command_line() && !administrators.contains(actor.id()) {
        // The actor's own role was revoked, or the account disabled, since the request began.
        return Err(DomainError::Forbidden);
    }
    let others = administrators.iter().filter(|id| **id != user.id).count();
    if user.active && user.role == Role::Administrator && others == 0 {
        return Err(DomainError::Conflict(format!(
            "{} is the last active administrator. Make someone else an administrator first.",
            user.username
        )));
    }
    Ok(())
}

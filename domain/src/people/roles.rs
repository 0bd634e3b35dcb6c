//! Granting and revoking Administrator and Password Manager.

use model::people::AccountChange;
use model::time::Timestamp;
use model::user::{Permission, Role, UserId};

use super::{event_by, keep_an_administrator, lock_administrators_first, may_change};
use crate::Services;
use crate::audit::{self, AuditAction};
use crate::authority::Actor;
use crate::credentials::load;
use crate::error::{DomainError, DomainResult};
use crate::sessions;
use crate::users;

/// Sets a person's role. Their sessions end, so a revoked role stops working at once and a
/// granted one starts from a fresh sign-in.
pub async fn set_role(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    role: Role,
) -> DomainResult<()> {
    let result = try_set_role(services, actor, target, role).await;
    audit::audited(
        &services.db,
        actor,
        Some(target),
        AuditAction::RoleChanged,
        result,
    )
    .await
}

async fn try_set_role(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    role: Role,
) -> DomainResult<()> {
    actor.must_hold(Permission::UserManagement)?;
    actor.must_be_confirmed()?;
    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    lock_administrators_first(&mut tx).await?;
    let user = load(&mut tx, target).await?;
    may_change(actor, AccountChange::ChangeRole, &user)?;
    if user.role == role {
        return Err(DomainError::Conflict(format!(
            "{} already has the {} role.",
            user.username,
            role.label()
        )));
    }
    keep_an_administrator(&mut tx, actor, &user).await?;
    users::set_role(&mut tx, target, role, now).await?;
    let ended = sessions::revoke_all_for_user(&mut tx, target).await?;
    let event = event_by(actor, AuditAction::RoleChanged, &user, now);
    let detail = format!(
        "{} → {}; {ended} session(s) ended",
        user.role.label(),
        role.label()
    );
    audit::record(&mut *tx, &event.with_detail(Some(detail))).await?;
    tx.commit().await?;
    Ok(())
}

//! Reading people: the Users list, one person's details, their activity. Each read demands an
//! [`Actor`] holding the permission it needs: another person's data is never read without one.

use model::time::Timestamp;
use model::user::{AuditEntry, Permission, UserDetails, UserId, UserSummary};

use crate::Services;
use crate::authority::Actor;
use crate::error::{DomainError, DomainResult};
use crate::{audit, outbox, resets, users};

/// One page of people matching `search` (name, username or email) after the keyset cursor
/// `after`, and the cursor of the next page. Administrators and Password Managers.
pub async fn list_users(
    services: &Services,
    actor: &Actor,
    search: &str,
    after: Option<&str>,
    limit: u32,
) -> DomainResult<(Vec<UserSummary>, Option<String>)> {
    actor.must_hold(Permission::SetPasswords)?;
    let (page, next) = users::list_page(&services.db, search, after, limit).await?;
    Ok((page.iter().map(users::User::summary).collect(), next))
}

/// The details panel of one person: their account, the reset status card, their latest emails
/// and the settings the panel's buttons depend on.
pub async fn user_details(
    services: &Services,
    actor: &Actor,
    id: &UserId,
) -> DomainResult<UserDetails> {
    actor.must_hold(Permission::SetPasswords)?;
    let user = users::get(services.db.pool(), id)
        .await?
        .ok_or(DomainError::NotFound)?;
    Ok(UserDetails {
        summary: user.summary(),
        password_changed_at: user.password_changed_at,
        failed_logins: user.failed_logins,
        created_at: user.created_at,
        updated_at: user.updated_at,
        now: Timestamp::now(),
        reset: resets::status(&services.db, id).await?,
        emails: outbox::recent_for_user(services.db.pool(), id, 5).await?,
        emailed_passwords_allowed: services.resets.allow_emailed_passwords,
        temporary_password_hours: services.resets.temporary_password_hours,
    })
}

/// The Activity tab: the newest audit events about a person. Administrators only: the trail
/// says who did what, which a helpdesk account has no need to read.
pub async fn activity(
    services: &Services,
    actor: &Actor,
    id: &UserId,
    limit: u32,
) -> DomainResult<Vec<AuditEntry>> {
    actor.must_hold(Permission::UserManagement)?;
    audit::for_user(&services.db, id, limit).await
}

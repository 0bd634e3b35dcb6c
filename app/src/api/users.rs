//! Accounts > Users: finding people and reading their details and activity.

use leptos::prelude::*;
use model::user::{AuditEntry, UserDetails, UserId, UserPage};

use crate::error::AppError;

/// Rows per page of the Users table.
pub const PAGE_SIZE: u32 = 50;

/// One page of users matching `q` (name, username or email), after the keyset cursor `after`.
#[server(endpoint = "users/list")]
pub async fn list_users(q: String, after: Option<String>) -> Result<UserPage, AppError> {
    use crate::server::require;
    use model::time::Timestamp;
    use model::user::Permission;

    require(Permission::SetPasswords).await?;
    let search = model::fields::search(&q)?;
    if after
        .as_ref()
        .is_some_and(|a| a.len() > 4 * model::fields::USERNAME_MAX)
    {
        return Err(AppError::invalid("after", "That page cursor is not valid."));
    }
    let state = crate::server::state()?;
    let (users, next) =
        domain::users::list_page(&state.services.db, &search, after.as_deref(), PAGE_SIZE).await?;
    Ok(UserPage {
        users: users.iter().map(domain::users::User::summary).collect(),
        next,
        now: Timestamp::now(),
    })
}

/// The details panel of one user.
#[server(endpoint = "users/details")]
pub async fn get_user_details(id: UserId) -> Result<UserDetails, AppError> {
    use crate::server::{require, state};
    use model::time::Timestamp;
    use model::user::Permission;

    require(Permission::SetPasswords).await?;
    let state = state()?;
    let user = domain::users::get(state.services.db.pool(), &id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(UserDetails {
        summary: user.summary(),
        password_changed_at: user.password_changed_at,
        failed_logins: user.failed_logins,
        created_at: user.created_at,
        updated_at: user.updated_at,
        now: Timestamp::now(),
        reset: domain::resets::status(&state.services.db, &id).await?,
        emails: domain::outbox::recent_for_user(state.services.db.pool(), &id, 5).await?,
        emailed_passwords_allowed: state.services.resets.allow_emailed_passwords,
        temporary_password_hours: state.services.resets.temporary_password_hours,
    })
}

/// The Activity tab: the newest audit events about a user.
#[server(endpoint = "users/activity")]
pub async fn user_activity(id: UserId) -> Result<Vec<AuditEntry>, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    require(Permission::UserManagement).await?;
    let state = state()?;
    Ok(domain::audit::for_user(&state.services.db, &id, 100).await?)
}

//! Accounts > Users: finding people and reading their details and activity.

use leptos::prelude::*;
use model::user::{AuditEntry, UserDetails, UserId, UserPage};

use crate::error::AppError;

/// Rows per page of the Users table.
pub const PAGE_SIZE: u32 = 50;

/// One page of users matching `q` (name, username or email), after the keyset cursor `after`.
#[server(endpoint = "users/list")]
pub async fn list_users(q: String, after: Option<String>) -> Result<UserPage, AppError> {
    use crate::server::{require, state};
    use model::time::Timestamp;
    use model::user::Permission;

    let actor = require(Permission::SetPasswords).await?;
    let search = model::fields::search(&q)?;
    if after
        .as_ref()
        .is_some_and(|a| a.len() > 4 * model::fields::USERNAME_MAX)
    {
        return Err(AppError::invalid("after", "That page cursor is not valid."));
    }
    let state = state()?;
    let (users, next) = domain::directory::list_users(
        &state.services,
        &actor,
        &search,
        after.as_deref(),
        PAGE_SIZE,
    )
    .await?;
    Ok(UserPage {
        users,
        next,
        now: Timestamp::now(),
    })
}

/// The details panel of one user.
#[server(endpoint = "users/details")]
pub async fn get_user_details(id: UserId) -> Result<UserDetails, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::SetPasswords).await?;
    let state = state()?;
    Ok(domain::directory::user_details(&state.services, &actor, &id).await?)
}

/// The Activity tab: the newest audit events about a user.
#[server(endpoint = "users/activity")]
pub async fn user_activity(id: UserId) -> Result<Vec<AuditEntry>, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let state = state()?;
    Ok(domain::directory::activity(&state.services, &actor, &id, 100).await?)
}

//! Accounts > Users: finding people and reading their details and activity.

use leptos::prelude::*;
use model::audit::{Activity, AuditPage};
use model::user::{UserDetails, UserId, UserPage};

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

/// The Activity tab: the newest audit events about a user, and their sign-ins per day.
#[server(endpoint = "users/activity")]
pub async fn user_activity(id: UserId) -> Result<Activity, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let state = state()?;
    Ok(domain::directory::activity(&state.services, &actor, &id, 100).await?)
}

/// Management > Audit: one page of the trail, filtered, newest first; `before` continues from
/// the previous page's last event.
#[server(endpoint = "audit/events")]
pub async fn list_audit_events(
    #[server(default)] actor: String,
    #[server(default)] target: String,
    #[server(default)] action: String,
    #[server(default)] outcome: String,
    #[server(default)] from: String,
    #[server(default)] to: String,
    #[server(default)] before: Option<i64>,
) -> Result<AuditPage, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let caller = require(Permission::UserManagement).await?;
    let filter = model::audit::AuditFilter {
        actor,
        target,
        action,
        outcome,
        from,
        to,
    };
    let services = &state()?.services;
    Ok(domain::directory::audit_page(services, &caller, &filter, before, 50).await?)
}

//! Accounts > Users: adding people, editing and deleting them, and their roles.
//! Administrators only; the domain asks for a recently confirmed password where it matters.

use leptos::prelude::*;
use model::Role;
use model::people::Access;
use model::time::Timestamp;
use model::user::UserId;
use serde::{Deserialize, Serialize};

use crate::api::resets::TemporaryShown;
use crate::error::AppError;

/// What Add user reports: the new person, and their temporary password, shown once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserAdded {
    pub id: UserId,
    pub username: String,
    pub temporary: Option<TemporaryShown>,
    /// When the welcome link expires, if one was queued.
    pub link_expires_at: Option<Timestamp>,
}

/// Add user.
#[server(endpoint = "people/add")]
#[allow(clippy::too_many_arguments)] // one per form field: the no-JS form posts them flat
pub async fn add_user(
    username: String,
    display_name: String,
    #[server(default)] email: String,
    role: Role,
    /// Is Active: present (as an HTML check box sends it) when ticked.
    #[server(default)]
    active: Option<String>,
    access: Access,
    #[server(default)] minutes: Option<i64>,
) -> Result<UserAdded, AppError> {
    use crate::server::{require, state};
    use domain::people::NewPerson;
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let state = state()?;
    let person = NewPerson {
        username,
        display_name,
        email,
        role,
        active: active.is_some(),
        access,
        link_minutes: minutes.unwrap_or(model::reset::LINK_MINUTES_MAX),
    };
    let added = domain::people::add(&state.services, &actor, person).await?;
    Ok(UserAdded {
        id: added.id,
        username: added.username,
        temporary: added.temporary.map(|t| TemporaryShown {
            password: t.password,
            expires_at: t.expires_at,
        }),
        link_expires_at: added.link_expires_at,
    })
}

/// Edit: display name, email and Is Active.
#[server(endpoint = "people/edit")]
pub async fn edit_user(
    id: UserId,
    display_name: String,
    #[server(default)] email: String,
    #[server(default)] active: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let state = state()?;
    domain::people::edit(
        &state.services,
        &actor,
        &id,
        &display_name,
        &email,
        active.is_some(),
    )
    .await?;
    Ok(())
}

/// Delete, after the confirmation that names the user.
#[server(endpoint = "people/delete")]
pub async fn delete_user(id: UserId) -> Result<(), AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let state = state()?;
    domain::people::delete(&state.services, &actor, &id).await?;
    Ok(())
}

/// Grant or revoke Administrator and Password Manager.
#[server(endpoint = "people/role")]
pub async fn set_user_role(id: UserId, role: Role) -> Result<(), AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let state = state()?;
    domain::people::set_role(&state.services, &actor, &id, role).await?;
    Ok(())
}

/// Import users: the preview of an uploaded file, then its progress and outcome.
#[server(endpoint = "people/import/summary")]
pub async fn import_summary(id: String) -> Result<model::import::ImportSummary, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let state = state()?;
    Ok(domain::people::import::summary(&state.services, &actor, &id).await?)
}

/// Start import, once the preview has been read.
#[server(endpoint = "people/import/start")]
pub async fn start_import(
    id: String,
    /// "Send Password Change Link to new users": present when ticked.
    #[server(default)]
    send_links: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let state = state()?;
    domain::people::import::start(&state.services, &actor, &id, send_links.is_some()).await?;
    Ok(())
}

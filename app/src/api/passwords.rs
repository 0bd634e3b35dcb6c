//! Setting and resetting passwords: an administrator's operations on another user, and a
//! user's own change.

use leptos::prelude::*;
use model::secret::Secret;
use model::user::UserId;

use crate::error::AppError;

/// Force Password Reset on Next Login. Administrators, and Password Managers for plain local
/// users.
#[server(endpoint = "passwords/force-reset")]
pub async fn force_password_reset(id: UserId) -> Result<(), AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::SetPasswords).await?;
    let state = state()?;
    domain::passwords::force_reset(&state.services, &actor, &id).await?;
    Ok(())
}

/// Change Password: sets a new password for another user. Administrators, and Password
/// Managers for plain local users.
#[server(endpoint = "passwords/set")]
pub async fn set_user_password(
    id: UserId,
    password: Secret,
    confirm: Secret,
    /// "Must Reset Password at Next Login": present (as an HTML check box sends it) when ticked.
    #[server(default)]
    must_reset: Option<String>,
    /// "Email Password to User" (which also forces a reset at next login).
    #[server(default)]
    email_user: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{require, state};
    use domain::Password;
    use domain::passwords::AfterSet;
    use model::user::Permission;

    let actor = require(Permission::SetPasswords).await?;
    let after = match (email_user.is_some(), must_reset.is_some()) {
        (true, _) => AfterSet::EmailAndMustReset,
        (false, true) => AfterSet::MustReset,
        (false, false) => AfterSet::Keep,
    };
    let state = state()?;
    domain::passwords::set_password(
        &state.services,
        &actor,
        &id,
        &Password::new(password.into_inner()),
        &Password::new(confirm.into_inner()),
        after,
    )
    .await?;
    Ok(())
}

/// A signed-in user sets their own password. From a session that must change its password
/// no current password is asked (it was just given); otherwise it is.
#[server(endpoint = "passwords/change-own")]
pub async fn change_my_password(
    #[server(default)] current: Option<Secret>,
    password: Secret,
    confirm: Secret,
) -> Result<(), AppError> {
    use crate::server::{client_info, cookies, current_caller, state};
    use domain::Password;

    let caller = current_caller().await?.ok_or(AppError::Unauthenticated)?;
    let state = state()?;
    let current = current.map(|c| Password::new(c.into_inner()));
    let token = domain::passwords::change_own(
        &state.services,
        &caller.user,
        caller.purpose,
        current.as_ref(),
        &Password::new(password.into_inner()),
        &Password::new(confirm.into_inner()),
        &client_info(),
    )
    .await?;
    cookies::set_session(
        &state.web,
        &token,
        state.services.session_policy().await?.absolute.as_secs(),
    );
    leptos_axum::redirect(caller.user.role.home());
    Ok(())
}

/// Reset beside the failed-sign-in count: back to 0, any lock released. Administrators, and
/// Password Managers for the users they may manage.
#[server(endpoint = "accounts/unlock")]
pub async fn unlock_account(id: UserId) -> Result<(), AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::SetPasswords).await?;
    let state = state()?;
    domain::passwords::unlock(&state.services, &actor, &id).await?;
    Ok(())
}

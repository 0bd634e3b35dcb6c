//! Signing in and out, and what the browser may know of its own session.

use leptos::prelude::*;
use model::secret::Secret;
use model::user::SessionInfo;

use crate::error::AppError;

/// Signs in with a username or email and a password, and returns where to go next.
#[server(endpoint = "login")]
pub async fn login(username: String, password: Secret) -> Result<String, AppError> {
    use crate::server::{client_info, cookies, state};
    use domain::sessions::{self, Purpose};

    let state = state()?;
    let name = model::fields::login_name("username", &username)?;
    let parts = use_context::<http::request::Parts>();
    let previous = parts
        .as_ref()
        .and_then(|parts| cookies::read_session(&parts.headers, &state.web));
    let name_kept = parts
        .as_ref()
        .is_some_and(|parts| cookies::holds_typed_name(&parts.headers, &state.web));
    let signed = match domain::auth::sign_in(
        &state.services,
        &name,
        &domain::Password::new(password.into_inner()),
        &client_info(),
    )
    .await
    {
        Ok(signed) => signed,
        Err(e) => {
            // Without scripts the form comes back as a new page, which shows the name again.
            cookies::remember_typed_name(&state.web, &name);
            return Err(e.into());
        }
    };
    // A sign-in always starts a new session: an id planted before sign-in is worth nothing.
    if let Some(previous) = previous {
        sessions::revoke(&state.services.db, &previous).await?;
    }
    cookies::set_session(
        &state.web,
        &signed.token,
        state.services.session_policy().await?.absolute.as_secs(),
    );
    if name_kept {
        cookies::forget_typed_name(&state.web);
    }
    let next = match signed.purpose {
        Purpose::PasswordChange => "/account/password",
        Purpose::Full => signed.user.role.home(),
    };
    leptos_axum::redirect(next);
    Ok(next.to_owned())
}

/// Ends this browser's session.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{client_info, cookies, current_caller, state};

    let state = state()?;
    let token = use_context::<http::request::Parts>()
        .and_then(|parts| cookies::read_session(&parts.headers, &state.web));
    if let (Some(caller), Some(token)) = (current_caller().await?, token) {
        domain::auth::sign_out(&state.services, &token, &caller.user, &client_info()).await?;
    }
    cookies::clear_session(&state.web);
    leptos_axum::redirect("/login");
    Ok(())
}

/// The signed-in person, or `None`.
#[server(endpoint = "session")]
pub async fn get_session() -> Result<Option<SessionInfo>, AppError> {
    use crate::server::current_caller;
    use domain::sessions::Purpose;

    Ok(current_caller().await?.map(|caller| SessionInfo {
        me: caller.me(),
        password_change_required: caller.purpose == Purpose::PasswordChange,
    }))
}

/// Sudo mode: the signed-in person types their password again before a dangerous operation.
#[server(endpoint = "confirm-password")]
pub async fn confirm_password(password: Secret) -> Result<(), AppError> {
    use crate::server::{client_info, cookies, state};

    let state = state()?;
    let token = use_context::<http::request::Parts>()
        .and_then(|parts| cookies::read_session(&parts.headers, &state.web))
        .ok_or(AppError::Unauthenticated)?;
    domain::auth::confirm_password(
        &state.services,
        &token,
        &domain::Password::new(password.into_inner()),
        &client_info(),
    )
    .await
    .map_err(|e| match e {
        domain::DomainError::Unauthenticated => AppError::Unauthenticated,
        other => other.into(),
    })
}

//! The browser's view of its session, shared by every page through context.

use leptos::prelude::*;
use model::user::SessionInfo;

use crate::api::auth::{Login, Logout, get_session};
use crate::api::passwords::ChangeMyPassword;
use crate::error::AppError;

/// Sign-in and sign-out actions, and the session they change. Provided once by [`crate::App`].
#[derive(Clone, Copy)]
pub struct AuthContext {
    pub login: ServerAction<Login>,
    pub logout: ServerAction<Logout>,
    /// A user's own password change: it replaces the session, so the session is re-read.
    pub change_password: ServerAction<ChangeMyPassword>,
    pub session: Resource<Result<Option<SessionInfo>, AppError>>,
}

impl AuthContext {
    pub fn provide() -> Self {
        let login = ServerAction::<Login>::new();
        let logout = ServerAction::<Logout>::new();
        let change_password = ServerAction::<ChangeMyPassword>::new();
        // Re-read whenever this tab signs in or out or changes its password.
        let session = Resource::new(
            move || {
                (
                    login.version().get(),
                    logout.version().get(),
                    change_password.version().get(),
                )
            },
            |_| get_session(),
        );
        let context = Self {
            login,
            logout,
            change_password,
            session,
        };
        provide_context(context);
        context
    }
}

pub fn expect_auth() -> AuthContext {
    expect_context::<AuthContext>()
}

/// The signed-in person's role (a plain user's when signed out), awaited inside a Suspense so
/// the hydrated view is built from what the server rendered.
pub async fn caller_role(auth: AuthContext) -> model::Role {
    match auth.session.await {
        Ok(Some(info)) => info.me.role,
        _ => model::Role::User,
    }
}

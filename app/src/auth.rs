//! The browser's view of its session, shared by every page through context.

use leptos::prelude::*;
use model::user::SessionInfo;

use crate::api::auth::{Logout, get_session};
use crate::error::AppError;

/// The session, and the sign-out that ends it. Provided once by [`crate::App`].
///
/// Signing in and changing one's own password are plain form posts (`/login` and
/// `/account/password` are served without WASM, and post the same way when a console page
/// links to them), so each ends in a page load that reads the new session: their actions stay
/// out of the code every console page loads.
#[derive(Clone, Copy)]
pub struct AuthContext {
    pub logout: ServerAction<Logout>,
    pub session: Resource<Result<Option<SessionInfo>, AppError>>,
}

impl AuthContext {
    pub fn provide() -> Self {
        let logout = ServerAction::<Logout>::new();
        let session = Resource::new(move || logout.version().get(), |_| get_session());
        let context = Self { logout, session };
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

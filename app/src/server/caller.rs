//! Who is calling a server function, and what they may do. Every server function starts here:
//! hiding a button is never the check.

use axum::extract::ConnectInfo;
use domain::DomainError;
use domain::authority::{Actor, Presented, authorize};
use domain::sessions::{ClientInfo, Purpose};
use domain::users::User;
use http::HeaderMap;
use http::request::Parts;
use leptos::prelude::{provide_context, use_context};
use model::user::{Me, Permission};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use super::{AppState, cookies};
use crate::error::AppError;

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the request context");
        AppError::Internal
    })
}

/// The peer's address and browser, for the audit trail. The peer address is the TCP one:
/// forwarded-for headers are set by whoever sends the request, so they are not trusted.
pub fn client_info() -> ClientInfo {
    let parts = use_context::<Parts>();
    let ip = parts
        .as_ref()
        .and_then(|p| p.extensions.get::<ConnectInfo<SocketAddr>>())
        .map(|ConnectInfo(addr)| addr.ip().to_string());
    let user_agent = parts
        .as_ref()
        .and_then(|p| p.headers.get(http::header::USER_AGENT))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    ClientInfo { ip, user_agent }
}

/// A caller with a live session.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: User,
    pub purpose: Purpose,
}

impl Caller {
    pub fn me(&self) -> Me {
        Me {
            id: self.user.id.clone(),
            username: self.user.username.clone(),
            display_name: self.user.display_name.clone(),
            email: self.user.email.clone(),
            role: self.user.role,
        }
    }
}

/// This request's session cookie, looked up once for all the server functions a page runs
/// while it renders. Provided to each request by [`provide_request_context`].
#[derive(Clone, Default)]
struct PresentedOnce(Arc<OnceLock<Option<Arc<Presented>>>>);

/// What every page and server function finds in its context: the app's state, and the slot
/// for the session its cookie presents.
pub fn provide_request_context(state: &AppState) {
    provide_context(state.clone());
    provide_context(PresentedOnce::default());
}

fn presented(state: &AppState) -> Option<Arc<Presented>> {
    let parts = use_context::<Parts>()?;
    let read =
        || cookies::read_session(&parts.headers, &state.web).map(|t| Arc::new(Presented::new(t)));
    match use_context::<PresentedOnce>() {
        Some(once) => once.0.get_or_init(read).clone(),
        None => read(),
    }
}

/// The caller's session of any purpose, or `None` when not signed in.
pub async fn current_caller() -> Result<Option<Caller>, AppError> {
    let state = state()?;
    let Some(presented) = presented(&state) else {
        return Ok(None);
    };
    let session = presented.session(&state.services).await?;
    Ok(session.map(|s| Caller {
        user: s.user.clone(),
        purpose: s.purpose,
    }))
}

/// The caller's authority for `permission`, minted by the domain from the session cookie's
/// token. A signed-in caller it refuses is recorded there (`access.denied`); an anonymous one
/// gets 401.
pub async fn require(permission: Permission) -> Result<Actor, AppError> {
    let state = state()?;
    let parts = use_context::<Parts>().ok_or(AppError::Unauthenticated)?;
    let presented = presented(&state).ok_or(AppError::Unauthenticated)?;
    let operation = parts.uri.path().to_owned();
    presented
        .authorize(&state.services, permission, &operation, client_info().ip)
        .await
        .map_err(|e| match e {
            // No live session: "please sign in", not a failed sign-in.
            DomainError::Unauthenticated => AppError::Unauthenticated,
            other => other.into(),
        })
}

/// The caller of a plain route (a download, the upload form), from its session cookie, as
/// `require` finds it for a server function: refused and audited unless an administrator.
pub async fn actor_for_download(
    state: &AppState,
    headers: &HeaderMap,
    operation: &str,
    ip: Option<String>,
) -> Result<Actor, AppError> {
    let token = cookies::read_session(headers, &state.web).ok_or(AppError::Unauthenticated)?;
    authorize(
        &state.services,
        &token,
        Permission::UserManagement,
        operation,
        ip,
    )
    .await
    .map_err(|e| match e {
        DomainError::Unauthenticated => AppError::Unauthenticated,
        other => other.into(),
    })
}

/// A plain route's answer to a caller refused by [`actor_for_download`]: the status alone.
pub fn refused(error: &AppError) -> axum::response::Response {
    use axum::response::IntoResponse;
    http::StatusCode::from_u16(error.status())
        .unwrap_or(http::StatusCode::FORBIDDEN)
        .into_response()
}

//! `GET /reset/<token>`, the address in a password change email. Opening it (or a mail
//! scanner's GET or HEAD) never spends the link: it moves the token into an HttpOnly cookie
//! and redirects to the clean `/reset` page, which checks it and takes the new password.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::tokens::SecretToken;
use http::header::SET_COOKIE;
use model::reset::LINK_MINUTES_MAX;

use super::{AppState, cookies};

pub async fn open_reset_link(State(state): State<AppState>, Path(raw): Path<String>) -> Response {
    let redirect = Redirect::to("/reset");
    if !SecretToken::well_formed(&raw) {
        // A mangled link gets the same "not valid" page as an expired one.
        return redirect.into_response();
    }
    let token = SecretToken::from_client(&raw);
    if let Err(e) = domain::resets::record_opened(&state.services, &token, None).await {
        tracing::warn!(error = %e, "could not record an opened link");
    }
    let max_age = u64::try_from(LINK_MINUTES_MAX * 60).unwrap_or(0);
    let cookie = cookies::reset_cookie(&state.web, &token, max_age);
    ([(SET_COOKIE, cookie)], redirect).into_response()
}

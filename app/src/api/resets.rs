//! Resets that hand the user something (a link, a temporary or generated password), their
//! status card, and the end user's side of a link: the `/reset` page.

use leptos::prelude::*;
use model::secret::Secret;
use model::time::Timestamp;
use model::user::UserId;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What Send Password Change Link reports. `link` is set only for Copy link, shown once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkIssued {
    pub expires_at: Timestamp,
    pub link: Option<Secret>,
    /// The link as a QR code (SVG), to hand over on a phone screen.
    pub qr_svg: Option<String>,
}

/// Send Password Change Link (`delivery` = "email") or Copy link (`delivery` = "show").
#[server(endpoint = "resets/link")]
pub async fn send_password_change_link(
    id: UserId,
    minutes: i64,
    delivery: model::reset::LinkDelivery,
    /// "Invalidate current password now": present (as an HTML check box sends it) when ticked.
    #[server(default)]
    invalidate: Option<String>,
) -> Result<LinkIssued, AppError> {
    use crate::server::{require, state};
    use domain::resets::LinkRequest;
    use model::user::Permission;

    let actor = require(Permission::SetPasswords).await?;
    let state = state()?;
    let request = LinkRequest {
        minutes,
        invalidate_password: invalidate.is_some(),
        delivery,
    };
    let issued = domain::resets::send_link(&state.services, &actor, &id, request).await?;
    let qr_svg = issued.link.as_ref().and_then(|l| qr_svg(l.expose()));
    Ok(LinkIssued {
        expires_at: issued.expires_at,
        link: issued.link,
        qr_svg,
    })
}

#[cfg(feature = "ssr")]
fn qr_svg(text: &str) -> Option<String> {
    use qrcode::QrCode;
    use qrcode::render::svg;

    let code = QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

/// A temporary password, for the one dialog that shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemporaryShown {
    pub password: Secret,
    pub expires_at: Timestamp,
}

/// Generate Temporary Password: shown once to the caller.
#[server(endpoint = "resets/temporary")]
pub async fn generate_temporary_password(
    id: UserId,
    /// "Send Email with Access Info to User".
    #[server(default)]
    email_user: Option<String>,
) -> Result<TemporaryShown, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::SetPasswords).await?;
    let state = state()?;
    let temp =
        domain::resets::generate_temporary(&state.services, &actor, &id, email_user.is_some())
            .await?;
    Ok(TemporaryShown {
        password: temp.password,
        expires_at: temp.expires_at,
    })
}

/// Generate New Password: emailed to the user, never shown here.
#[server(endpoint = "resets/generated")]
pub async fn generate_new_password(id: UserId) -> Result<Timestamp, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::SetPasswords).await?;
    let state = state()?;
    Ok(domain::resets::generate_emailed(&state.services, &actor, &id).await?)
}

/// Revoke on the reset status card.
#[server(endpoint = "resets/revoke")]
pub async fn revoke_reset(id: UserId, reset: String) -> Result<(), AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::SetPasswords).await?;
    let state = state()?;
    domain::resets::revoke(&state.services, &actor, &id, &reset).await?;
    Ok(())
}

/// Resend Email on the reset status card.
#[server(endpoint = "resets/resend")]
pub async fn resend_reset_email(id: UserId) -> Result<Timestamp, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::SetPasswords).await?;
    let state = state()?;
    let issued = domain::resets::resend(&state.services, &actor, &id).await?;
    Ok(issued.expires_at)
}

/// What the `/reset` page shows before a password is chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkHolderInfo {
    pub username: String,
    pub email: Option<String>,
    pub expires_at: Timestamp,
}

/// The link in this browser's reset cookie, if it is still good. Never spends it.
#[server(endpoint = "reset/info")]
pub async fn reset_link_info() -> Result<Option<LinkHolderInfo>, AppError> {
    use crate::server::{cookies, state};
    use http::request::Parts;

    let state = state()?;
    let Some(token) =
        use_context::<Parts>().and_then(|p| cookies::read_reset(&p.headers, &state.web))
    else {
        return Ok(None);
    };
    let holder =
        domain::resets::check_link(state.services.db.pool(), &token, Timestamp::now()).await?;
    Ok(holder.map(|h| LinkHolderInfo {
        username: h.user.username,
        email: h.user.email,
        expires_at: h.expires_at,
    }))
}

/// The `/reset` form: sets the new password and spends the link. The user then signs in.
#[server(endpoint = "reset/complete")]
pub async fn complete_password_reset(password: Secret, confirm: Secret) -> Result<(), AppError> {
    use crate::server::{client_info, cookies, state};
    use domain::Password;
    use http::request::Parts;

    let state = state()?;
    let token = use_context::<Parts>()
        .and_then(|p| cookies::read_reset(&p.headers, &state.web))
        .ok_or(AppError::LinkInvalid)?;
    let result = domain::resets::complete_link(
        &state.services,
        &token,
        &Password::new(password.into_inner()),
        &Password::new(confirm.into_inner()),
        &client_info(),
    )
    .await;
    if matches!(result, Ok(()) | Err(domain::DomainError::LinkInvalid)) {
        cookies::clear_reset(&state.web);
    }
    result?;
    leptos_axum::redirect("/login?reset=done");
    Ok(())
}

/// "Forgot your password?": always the same answer, whether or not the account exists.
#[server(endpoint = "reset/request")]
pub async fn request_password_reset(login: String) -> Result<(), AppError> {
    use crate::server::{client_info, state};

    let login = model::fields::login_name("login", &login)?;
    let state = state()?;
    domain::resets::request_by_user(&state.services, &login, &client_info()).await?;
    // A plain form post (no JavaScript) lands on the same answer.
    leptos_axum::redirect("/forgot?sent=1");
    Ok(())
}

//! Creating the first administrator from the one-time link printed on the server's console.

use leptos::prelude::*;
use model::secret::Secret;

use crate::error::AppError;

/// Whether a setup link can still be used.
#[server(endpoint = "setup/status")]
pub async fn setup_link_valid(token: Secret) -> Result<bool, AppError> {
    use crate::server::state;
    use domain::tokens::SecretToken;

    let state = state()?;
    Ok(domain::setup::token_is_valid(
        &state.services.db,
        &SecretToken::from_client(token.expose()),
    )
    .await?)
}

/// Creates the first administrator and sends them to sign in.
#[server(endpoint = "setup")]
pub async fn create_first_admin(
    token: Secret,
    username: String,
    display_name: String,
    email: String,
    password: Secret,
    confirm: Secret,
) -> Result<(), AppError> {
    use crate::server::{client_info, state};
    use domain::Password;
    use domain::setup::FirstAdmin;
    use domain::tokens::SecretToken;

    let state = state()?;
    let password = Password::new(password.into_inner());
    let confirm = Password::new(confirm.into_inner());
    domain::setup::create_first_admin(
        &state.services,
        &SecretToken::from_client(token.expose()),
        FirstAdmin {
            username: &username,
            display_name: &display_name,
            email: &email,
            password: &password,
            confirm: &confirm,
        },
        client_info().ip,
    )
    .await?;
    leptos_axum::redirect("/login?setup=done");
    Ok(())
}

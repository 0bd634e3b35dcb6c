//! Management > Password Policy, and the policy every password form checks against.

// Saving takes one argument per form field: the strict-fields check reads the field names from
// the server function's argument struct, and the macro's generated code carries no outer allow.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use model::PasswordPolicy;
use model::secret::Secret;
use model::settings::SettingsView;

use crate::error::AppError;

/// The password policy in force, for the live checklist under every New Password field. Not
/// secret: the sign-in, setup and reset pages show it before anyone is signed in.
#[server(endpoint = "policy/current")]
pub async fn current_password_policy() -> Result<PasswordPolicy, AppError> {
    let state = crate::server::state()?;
    Ok(state.services.security().await?.policy())
}

/// Whether a password is on the shipped list of breached and common passwords. The list (2 MB)
/// stays on the server; the browser asks, debounced, while a person types, and the server's
/// own check when the form is sent is the one that counts. The list is public, so the answer
/// tells nobody anything about an account; the password is never logged or stored.
#[server(endpoint = "policy/listed")]
pub async fn password_listed(password: Secret) -> Result<bool, AppError> {
    use model::policy::{Blocklist, MAX_LENGTH_CEILING, fold};

    let raw = password.expose();
    if raw.len() > MAX_LENGTH_CEILING * 4 {
        return Ok(false);
    }
    Ok(domain::blocklist::Shipped.contains(&fold(raw)))
}

/// Management > Password Policy: the settings in force and which the environment fixes.
#[server(endpoint = "settings/security")]
pub async fn get_security_settings() -> Result<SettingsView, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    Ok(domain::settings::view(&state()?.services, &actor).await?)
}

/// Saves Management > Password Policy: all fields in bounds, or nothing changes. A field not
/// sent (its input disabled because the environment fixes it) keeps its stored value.
#[server(endpoint = "settings/security/save")]
pub async fn save_security_settings(
    #[server(default)] min_length: Option<String>,
    #[server(default)] max_length: Option<String>,
    #[server(default)] min_classes: Option<String>,
    #[server(default)] password_history: Option<String>,
    #[server(default)] link_minutes: Option<String>,
    #[server(default)] temporary_password_hours: Option<String>,
    #[server(default)] lock_threshold: Option<String>,
    #[server(default)] lock_minutes_0: Option<String>,
    #[server(default)] lock_minutes_1: Option<String>,
    #[server(default)] lock_minutes_2: Option<String>,
    #[server(default)] session_idle_minutes: Option<String>,
    #[server(default)] session_absolute_hours: Option<String>,
    #[server(default)] allow_emailed_passwords: Option<String>,
) -> Result<SettingsView, AppError> {
    use crate::server::{require, state};
    use model::settings::FORM_FIELDS;
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let values = [
        min_length,
        max_length,
        min_classes,
        password_history,
        link_minutes,
        temporary_password_hours,
        lock_threshold,
        lock_minutes_0,
        lock_minutes_1,
        lock_minutes_2,
        session_idle_minutes,
        session_absolute_hours,
        allow_emailed_passwords,
    ];
    let form: Vec<(&str, &str)> = FORM_FIELDS
        .iter()
        .zip(&values)
        .filter_map(|(field, value)| value.as_deref().map(|v| (*field, v)))
        .collect();
    Ok(domain::settings::save(&state()?.services, &actor, &form).await?)
}

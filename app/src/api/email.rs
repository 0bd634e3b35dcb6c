//! Management > Email Configuration and Templates.

// Saving and testing take one argument per form field: the strict-fields check reads the field
// names from the server function's argument struct, and the macro's generated code carries no
// outer allow.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use model::email::{EmailView, TestAnswer};
use model::secret::Secret;
use model::templates::{Preview, TemplateView};

use crate::error::AppError;

/// Management > Email Configuration: the settings in force, which the environment fixes, and
/// what is queued. Never the SMTP password: only whether one is set.
#[server(endpoint = "settings/email")]
pub async fn get_email_settings() -> Result<EmailView, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    Ok(domain::email_config::view(&state()?.services, &actor).await?)
}

/// The page's fields, as the domain takes them: those sent, by name.
#[cfg(feature = "ssr")]
fn email_form<'a>(
    values: &'a [Option<String>; 9],
    forget: &'a Option<String>,
) -> Vec<(&'a str, &'a str)> {
    use model::email::FORM_FIELDS;

    FORM_FIELDS
        .iter()
        .zip(values)
        .filter_map(|(field, value)| value.as_deref().map(|v| (*field, v)))
        .chain(forget.as_deref().map(|v| ("forget_password", v)))
        .collect()
}

/// Saves Management > Email Configuration; every instance sends through it within seconds. A
/// field not sent (fixed by the environment) keeps its stored value; an empty password keeps
/// the stored one for the same server and login.
#[server(endpoint = "settings/email/save")]
pub async fn save_email_settings(
    #[server(default)] host: Option<String>,
    #[server(default)] port: Option<String>,
    #[server(default)] security: Option<String>,
    #[server(default)] username: Option<String>,
    #[server(default)] from_name: Option<String>,
    #[server(default)] from_address: Option<String>,
    #[server(default)] per_minute: Option<String>,
    #[server(default)] per_day: Option<String>,
    #[server(default)] password: Option<Secret>,
    #[server(default)] forget_password: Option<String>,
) -> Result<EmailView, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let values = [
        host,
        port,
        security,
        username,
        from_name,
        from_address,
        per_minute,
        per_day,
        password.map(|p| p.expose().to_owned()),
    ];
    let form = email_form(&values, &forget_password);
    Ok(domain::email_config::save(&state()?.services, &actor, &form).await?)
}

/// **Send test email**: the page's values, saved or not, tried against the server they name;
/// the answer is the SMTP server's own.
#[server(endpoint = "settings/email/test")]
pub async fn send_test_email(
    to: String,
    #[server(default)] host: Option<String>,
    #[server(default)] port: Option<String>,
    #[server(default)] security: Option<String>,
    #[server(default)] username: Option<String>,
    #[server(default)] from_name: Option<String>,
    #[server(default)] from_address: Option<String>,
    #[server(default)] per_minute: Option<String>,
    #[server(default)] per_day: Option<String>,
    #[server(default)] password: Option<Secret>,
) -> Result<TestAnswer, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let values = [
        host,
        port,
        security,
        username,
        from_name,
        from_address,
        per_minute,
        per_day,
        password.map(|p| p.expose().to_owned()),
    ];
    let form = email_form(&values, &None);
    Ok(domain::email_config::send_test(&state()?.services, &actor, &form, &to).await?)
}

/// Management > Templates: every template, the organisation's or the shipped one.
#[server(endpoint = "templates")]
pub async fn list_templates() -> Result<Vec<TemplateView>, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    Ok(domain::templates::list(&state()?.services, &actor).await?)
}

#[cfg(feature = "ssr")]
fn template_kind(kind: &str) -> Result<model::templates::TemplateKind, AppError> {
    model::templates::TemplateKind::parse(kind).ok_or_else(|| AppError::Invalid {
        field: "kind".into(),
        reason: "Choose one of the templates.".into(),
    })
}

/// The live preview: the template as typed, rendered with sample data, or its first problem.
#[server(endpoint = "templates/preview")]
pub async fn preview_template(
    kind: String,
    subject: String,
    text: String,
    html: String,
) -> Result<Preview, AppError> {
    use crate::server::require;
    use model::templates::TemplateText;
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let template = TemplateText {
        subject,
        text,
        html,
    };
    Ok(domain::templates::preview(
        &actor,
        template_kind(&kind)?,
        &template,
    )?)
}

/// Saves a template after the same checks as the preview; emails queued from now on use it.
#[server(endpoint = "templates/save")]
pub async fn save_template(
    kind: String,
    subject: String,
    text: String,
    html: String,
) -> Result<TemplateView, AppError> {
    use crate::server::{require, state};
    use model::templates::TemplateText;
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let template = TemplateText {
        subject,
        text,
        html,
    };
    Ok(domain::templates::save(
        &state()?.services,
        &actor,
        template_kind(&kind)?,
        Some(template),
    )
    .await?)
}

/// **Restore default**: the shipped template again.
#[server(endpoint = "templates/restore")]
pub async fn restore_template(kind: String) -> Result<TemplateView, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    Ok(domain::templates::save(&state()?.services, &actor, template_kind(&kind)?, None).await?)
}

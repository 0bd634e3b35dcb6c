//! Bulk Change: preview, start, and follow a job. Administrators only.

use leptos::prelude::*;
use model::bulk::{BulkJob, BulkPreview};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What a Bulk Change form sends about the selection: the ticked users' ids (comma-separated),
/// or every user matching `q` when `scope` is "search".
#[cfg(feature = "ssr")]
fn selection(scope: &str, ids: &str, q: String) -> Result<domain::bulk::Selection, AppError> {
    use domain::bulk::Selection;
    use model::user::UserId;

    match scope {
        "search" => Ok(Selection::Search(q)),
        "ids" => Ok(Selection::Ids(
            ids.split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(|id| UserId(id.to_owned()))
                .collect(),
        )),
        _ => Err(AppError::invalid(
            "scope",
            "Choose the ticked users or the whole search.",
        )),
    }
}

#[cfg(feature = "ssr")]
fn kind(value: &str) -> Result<model::bulk::BulkKind, AppError> {
    value.parse().map_err(|_| {
        AppError::invalid(
            "kind",
            "Choose Reset Password or Send Password Change Link.",
        )
    })
}

/// The preview dialog's numbers: nothing changes.
#[server(endpoint = "bulk/preview")]
pub async fn preview_bulk_change(
    kind: String,
    scope: String,
    #[server(default)] ids: String,
    #[server(default)] q: String,
) -> Result<BulkPreview, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let selection = selection(&scope, &ids, q)?;
    let state = state()?;
    Ok(domain::bulk::preview(&state.services.db, &actor, self::kind(&kind)?, &selection).await?)
}

/// OK in the preview dialog: starts the job and answers with its id at once.
#[server(endpoint = "bulk/start")]
pub async fn start_bulk_change(
    kind: String,
    scope: String,
    #[server(default)] ids: String,
    #[server(default)] q: String,
    #[server(default)] minutes: Option<i64>,
    #[server(default)] invalidate: Option<String>,
    /// The key the preview handed out: a repeated start with it returns the same job.
    request_key: String,
) -> Result<String, AppError> {
    use crate::server::{require, state};
    use domain::bulk::JobOptions;
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let selection = selection(&scope, &ids, q)?;
    let options = JobOptions {
        kind: self::kind(&kind)?,
        link_minutes: minutes.unwrap_or(model::reset::LINK_MINUTES_DEFAULT),
        invalidate_password: invalidate.is_some(),
    };
    let state = state()?;
    let services = &state.services;
    Ok(domain::bulk::create_job(services, &actor, options, &selection, &request_key).await?)
}

/// A job's progress and tally.
#[server(endpoint = "bulk/job")]
pub async fn get_bulk_job(id: String) -> Result<BulkJob, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let state = state()?;
    domain::bulk::job(&state.services.db, &actor, &id)
        .await?
        .ok_or(AppError::NotFound)
}

/// One line of the outcome report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutcomeLine {
    pub username: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub email: Option<String>,
}

/// The first outcomes of a job, for the page (the CSV has them all).
#[server(endpoint = "bulk/items")]
pub async fn bulk_job_items(id: String) -> Result<Vec<OutcomeLine>, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let state = state()?;
    let items = domain::bulk::items(&state.services.db, &actor, &id, 0, 200).await?;
    Ok(items
        .into_iter()
        .map(|item| OutcomeLine {
            email: item.email_note(),
            outcome: item
                .outcome
                .map_or("Pending", model::bulk::ItemOutcome::label)
                .to_owned(),
            username: item.username,
            reason: item.reason,
        })
        .collect())
}

//! Bulk Change: preview, start, and follow a job. Administrators only.

use leptos::prelude::*;
use model::bulk::{BulkJob, BulkKind, BulkPreview, Scope};
use model::user::UserIds;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The users a Bulk Change form means: the ticked ones, or every user matching `q`.
#[cfg(feature = "ssr")]
fn selection(scope: Scope, ids: UserIds, q: String) -> domain::bulk::Selection {
    use domain::bulk::Selection;

    match scope {
        Scope::Search => Selection::Search(q),
        Scope::Ids => Selection::Ids(ids.0),
    }
}

/// The preview dialog's numbers: nothing changes.
#[server(endpoint = "bulk/preview")]
pub async fn preview_bulk_change(
    kind: BulkKind,
    scope: Scope,
    #[server(default)] ids: UserIds,
    #[server(default)] q: String,
) -> Result<BulkPreview, AppError> {
    use crate::server::{require, state};
    use model::user::Permission;

    let actor = require(Permission::UserManagement).await?;
    let selection = selection(scope, ids, q);
    let state = state()?;
    Ok(domain::bulk::preview(&state.services.db, &actor, kind, &selection).await?)
}

/// OK in the preview dialog: starts the job and answers with its id at once.
#[server(endpoint = "bulk/start")]
pub async fn start_bulk_change(
    kind: BulkKind,
    scope: Scope,
    #[server(default)] ids: UserIds,
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
    let selection = selection(scope, ids, q);
    let options = JobOptions {
        kind,
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

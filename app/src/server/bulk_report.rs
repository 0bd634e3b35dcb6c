//! `GET /bulk/<job>/report.csv`: a Bulk Change job's per-user outcomes as a download. A plain
//! route, not a server function, so the browser saves it as a file; it checks the session and
//! the permission itself, as every server function does.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use domain::DomainError;
use domain::authority::authorize;
use http::{HeaderMap, StatusCode, header};
use model::user::Permission;

use super::{AppState, cookies};

pub async fn download_report(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = cookies::read_session(&headers, &state.web) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let services = &state.services;
    let shown_id: String = id.chars().take(64).collect();
    let operation = format!("GET /bulk/{shown_id}/report.csv");
    let actor = match authorize(
        services,
        &token,
        Permission::UserManagement,
        &operation,
        None,
    )
    .await
    {
        Ok(actor) => actor,
        Err(DomainError::Unauthenticated) => return StatusCode::UNAUTHORIZED.into_response(),
        Err(DomainError::Forbidden) => return StatusCode::FORBIDDEN.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "report download: authorization failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return StatusCode::NOT_FOUND.into_response();
    }
    match domain::bulk::job(&services.db, &actor, &id).await {
        Ok(Some(_)) => {}
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "report download failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    match domain::bulk::report_csv(&services.db, &actor, &id).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"bulk-change-{id}.csv\""),
                ),
            ],
            csv,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "report download failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

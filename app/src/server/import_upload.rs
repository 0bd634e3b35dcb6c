//! Import users: `POST /api/people/import` takes the CSV file from a plain form
//! (multipart/form-data, so it works without JavaScript and up to 50 MB), stores its preview,
//! and sends the browser to it; `GET /users/import/<id>/report.csv` downloads what the import
//! did to each row. Plain routes, not server functions: each checks the session and the
//! permission itself, as every server function does.

use axum::extract::{ConnectInfo, Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::DomainError;
use http::{HeaderMap, StatusCode, header};
use std::net::SocketAddr;

use super::AppState;
use super::caller::{self, actor_for_download};
use crate::error::AppError;

/// Where the upload form lives, and where its errors are shown.
const FORM: &str = "/users/import";
pub const UPLOAD_PATH: &str = "/api/people/import";

/// Back to the form with `error` in its address, as a server function's plain form post comes
/// back (the server signs it on the way out, so only its own errors are ever shown).
fn back_with(error: &AppError) -> Response {
    let json = serde_json::to_string(error).unwrap_or_default();
    let query = model::query::query_string(&[("__path", UPLOAD_PATH), ("__err", &json)]);
    Redirect::to(&format!("{FORM}?{query}")).into_response()
}

pub async fn upload(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let ip = Some(peer.ip().to_string());
    let actor = match actor_for_download(&state, &headers, UPLOAD_PATH, ip).await {
        Ok(actor) => actor,
        Err(AppError::Unauthenticated) => return Redirect::to("/login").into_response(),
        Err(e) => return back_with(&e),
    };
    let (name, bytes) = match read_file(multipart).await {
        Ok(file) => file,
        Err(e) => return back_with(&e),
    };
    match domain::people::import::stage(&state.services, &actor, &name, &bytes).await {
        Ok(id) => Redirect::to(&format!("/users/import/{id}")).into_response(),
        Err(e) => back_with(&e.into()),
    }
}

/// The `file` field: its name and contents, or why not.
async fn read_file(mut multipart: Multipart) -> Result<(String, Vec<u8>), AppError> {
    let too_large = || {
        AppError::invalid(
            "file",
            "The file is larger than 50 MB. Split it into smaller files and import each.",
        )
    };
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    AppError::invalid("file", "The upload did not arrive whole. Try again.")
                }
            })?
            .ok_or_else(|| AppError::invalid("file", "Choose a CSV file to import."))?;
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("upload.csv").to_owned();
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                AppError::invalid("file", "The upload did not arrive whole. Try again.")
            }
        })?;
        if bytes.is_empty() {
            return Err(AppError::invalid(
                "file",
                "Choose a CSV file to import: this one is empty.",
            ));
        }
        return Ok((name, bytes.to_vec()));
    }
}

pub async fn download_report(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let shown: String = id.chars().take(64).collect();
    let operation = format!("GET /users/import/{shown}/report.csv");
    let actor = match actor_for_download(&state, &headers, &operation, None).await {
        Ok(actor) => actor,
        Err(e) => return caller::refused(&e),
    };
    match domain::people::import::report(&state.services, &actor, &id).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"import-{}.csv\"",
                        shown.replace('"', "")
                    ),
                ),
            ],
            csv,
        )
            .into_response(),
        Err(DomainError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "import report download failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

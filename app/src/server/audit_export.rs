//! `GET /management/audit/export.csv?…`: Management > Audit's Export CSV, the filtered view as a
//! download. Streamed a thousand events at a time, each chunk one keyset page, so exporting a
//! million events holds one page in memory, not the file.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use domain::DomainError;
use domain::authority::Actor;
use futures_util::{StreamExt, stream};
use http::{HeaderMap, StatusCode, header};
use model::audit::AuditFilter;

use super::AppState;
use super::caller::{self, actor_for_download};

pub const EXPORT_PATH: &str = "/management/audit/export.csv";

const CHUNK: u32 = 1000;

pub async fn export(
    State(state): State<AppState>,
    Query(filter): Query<AuditFilter>,
    headers: HeaderMap,
) -> Response {
    let operation = format!("GET {EXPORT_PATH}");
    let actor = match actor_for_download(&state, &headers, &operation, None).await {
        Ok(actor) => actor,
        Err(e) => return caller::refused(&e),
    };
    // The first chunk before the headers: a bad filter is a 400 with its reason, not a file.
    let first = domain::directory::audit_csv_chunk(&state.services, &actor, &filter, None, CHUNK);
    let (head, next) = match first.await {
        Ok(chunk) => chunk,
        Err(e) => return refused(&e),
    };
    let rest = stream::unfold(
        (state, actor, filter, next),
        |(state, actor, filter, before): (AppState, Actor, AuditFilter, Option<i64>)| async move {
            let before = before?;
            let chunk = domain::directory::audit_csv_chunk(
                &state.services,
                &actor,
                &filter,
                Some(before),
                CHUNK,
            )
            .await;
            match chunk {
                Ok((csv, next)) => Some((Ok(csv), (state, actor, filter, next))),
                Err(e) => {
                    tracing::error!(error = %e, "audit export stopped");
                    Some((
                        Err(std::io::Error::other("audit export stopped")),
                        (state, actor, filter, None),
                    ))
                }
            }
        },
    );
    let body = stream::iter([Ok::<String, std::io::Error>(head)]).chain(rest);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

fn refused(e: &DomainError) -> Response {
    match e {
        DomainError::Forbidden => StatusCode::FORBIDDEN.into_response(),
        DomainError::Invalid(field) => {
            (StatusCode::BAD_REQUEST, field.reason.clone()).into_response()
        }
        other => {
            tracing::error!(error = %other, "audit export failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

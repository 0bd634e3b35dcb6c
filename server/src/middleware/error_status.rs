//! Server functions answer every error with HTTP 500 and the error in the body. This gives the
//! response the status the error itself names (400, 401, 403, 404, 409…), so clients, logs and
//! monitoring see what happened; a rate limit or a busy hasher also says when to come back
//! (`Retry-After`).

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::StatusCode;

use app::AppError;

/// Error bodies are a short JSON value; anything larger is not ours to reinterpret.
const MAX_ERROR_BODY: usize = 16 * 1024;

pub async fn server_fn_status(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_api || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = to_bytes(body, MAX_ERROR_BODY).await.unwrap_or_default();
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let AppError::RateLimited { retry_after }
        | AppError::Busy { retry_after }
        | AppError::StoreUnavailable { retry_after } = error
        {
            parts
                .headers
                .insert(http::header::RETRY_AFTER, retry_after.into());
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

//! Cross-cutting HTTP concerns, each in its own layer.

pub mod error_status;
pub mod form_referer;
pub mod request_log;
pub mod same_origin;
pub mod security_headers;
pub mod signed_form_errors;
pub mod strict_fields;

/// No form or server function needs more; larger bodies are refused before they are read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Import users: the file's own limit (refused with its own message), and room for the form
/// around it.
pub const UPLOAD_MAX_BYTES: usize = domain::people::import::MAX_BYTES + 64 * 1024;

/// A body refused for its size was not read, so the connection cannot carry another request:
/// say so (`Connection: close`), or a client reusing it gets a broken answer to its next one.
pub async fn close_after_refused_body(
    response: axum::response::Response,
) -> axum::response::Response {
    let mut response = response;
    if response.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    response
}

//! Refuses a server-function call that carries a field the function does not take: serde would
//! silently ignore it, and a request that does not mean what its sender thinks must change
//! nothing. The allowed fields come from each function's own argument struct
//! ([`app::server::request_fields`]).

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use std::collections::HashMap;
use std::sync::Arc;

use app::error::AppError;

use super::MAX_BODY_BYTES;

pub type Fields = Arc<HashMap<&'static str, &'static [&'static str]>>;

fn is_form(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

fn refuse(status: StatusCode, error: &AppError) -> Response {
    let body = serde_json::to_string(error).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Whether every name and value of a form body is UTF-8 once percent-decoded. The form parser
/// would otherwise fail deep inside the server-function layer with a 500.
fn is_utf8_form(body: &[u8]) -> bool {
    body.split(|b| *b == b'&')
        .all(|pair| percent_encoding::percent_decode(pair).decode_utf8().is_ok())
}

pub async fn refuse_unknown_fields(
    State(fields): State<Fields>,
    request: Request,
    next: Next,
) -> Response {
    // Other methods are refused further in (405); only a POST carries fields.
    let Some(allowed) = fields
        .get(request.uri().path())
        .copied()
        .filter(|_| request.method() == http::Method::POST)
    else {
        return next.run(request).await;
    };
    // The server-function layer reads the body as a form whatever its declared type, so any
    // other type would slip past the check below.
    if !is_form(&request) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &AppError::invalid(
                "request",
                "Malformed request: send the fields as application/x-www-form-urlencoded.",
            ),
        );
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    if !is_utf8_form(&bytes) {
        return refuse(
            StatusCode::BAD_REQUEST,
            &AppError::invalid(
                "request",
                "Malformed request: the form is not valid UTF-8 text.",
            ),
        );
    }
    let unknown = form_urlencoded::parse(&bytes)
        .map(|(key, _)| key)
        .find(|key| !allowed.contains(&key.as_ref()));
    if let Some(key) = unknown {
        let shown: String = key.chars().take(40).collect();
        return refuse(
            StatusCode::BAD_REQUEST,
            &AppError::invalid(
                "request",
                format!("Malformed request: unknown field \"{shown}\"."),
            ),
        );
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::is_utf8_form;

    #[test]
    fn invalid_utf8_is_found_raw_or_percent_encoded() {
        assert!(is_utf8_form(b"username=ada&password=caf%C3%A9+au+lait"));
        assert!(is_utf8_form(b""));
        assert!(!is_utf8_form(b"username=%FF%FE"));
        assert!(!is_utf8_form(b"username=ada&password=\xff"));
        assert!(!is_utf8_form(b"%C3=x"), "a truncated sequence in a name");
    }
}

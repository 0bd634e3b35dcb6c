//! Plain form posts (no JavaScript) from the reset page come back to it with their error in
//! the address, the way server functions answer forms: by redirecting to the `Referer`. The
//! reset page sends no referrer at all (`Referrer-Policy: no-referrer`), so for its one form the
//! server supplies the address it would have had, built from the configured public URL.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, header};
use std::sync::Arc;

use app::server::WebConfig;

const RESET_FORM: &str = "/api/reset/complete";

pub async fn restore_reset_referer(
    State(web): State<Arc<WebConfig>>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.uri().path() == RESET_FORM
        && !request.headers().contains_key(header::REFERER)
        && let Ok(value) = HeaderValue::from_str(&format!("{}/reset", web.public_url))
    {
        request.headers_mut().insert(header::REFERER, value);
    }
    next.run(request).await
}

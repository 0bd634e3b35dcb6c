//! Headers every response carries: no framing (clickjacking), no MIME sniffing, no referrer
//! leaving the site, and no caching of pages that show people's data.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

/// Static assets are content-hashed or harmless; everything else may show account data.
fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/") || path.starts_with("/favicon")
}

/// Pages that carry, or just carried, a reset token: no referrer at all, whatever they link to.
fn is_reset(path: &str) -> bool {
    path == "/reset" || path.starts_with("/reset/") || path.starts_with("/api/reset/")
}

/// For every response that is not a page (a page sets its own, with its nonce: see
/// `app::server::csp`): nothing may load or run.
const NOT_A_PAGE_POLICY: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The headers that are the same on every response, as layers.
pub fn fixed_headers<S>(router: axum::Router<S>) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(NOT_A_PAGE_POLICY),
        ))
}

/// The headers that depend on the path: which referrer may leave, and what may be cached.
pub async fn add_path_headers(request: Request, next: Next) -> Response {
    let cacheable = is_static(request.uri().path());
    let reset = is_reset(request.uri().path());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(if reset { "no-referrer" } else { "same-origin" }),
    );
    if !cacheable {
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    response
}

//! CSRF defence. Leptos server functions have no CSRF protection of their own, so any request
//! that can change state must come from a page of this site.
//!
//! Browsers label every request with `Sec-Fetch-Site`, and older ones still send `Origin` on
//! every POST; a request with neither did not come from a browser, so it carries no ambient
//! cookie to abuse (the same rule as Go's `CrossOriginProtection`). The session cookie's
//! `SameSite=Strict` is the second line.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, header};
use std::sync::Arc;

use app::AppError;
use app::server::WebConfig;

fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub fn is_same_origin(headers: &HeaderMap, expected_origin: &str) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match (value("sec-fetch-site"), value(header::ORIGIN.as_str())) {
        (Some(site), _) => site == "same-origin" || site == "none",
        (None, Some(origin)) => origin == expected_origin,
        (None, None) => true,
    }
}

pub async fn same_origin_only(
    State(web): State<Arc<WebConfig>>,
    request: Request,
    next: Next,
) -> Response {
    if is_safe_method(request.method()) || is_same_origin(request.headers(), web.origin()) {
        return next.run(request).await;
    }
    tracing::warn!(path = %request.uri().path(), "refused a cross-origin state-changing request");
    let body = serde_json::to_string(&AppError::Forbidden).unwrap_or_default();
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        let site = "http://127.0.0.1:3000";
        assert!(is_same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            site
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            site
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "same-site")]),
            site
        ));
        // Even with a matching Origin, a browser's own cross-site label wins.
        assert!(!is_same_origin(
            &headers(&[
                ("sec-fetch-site", "cross-site"),
                ("origin", "http://127.0.0.1:3000")
            ]),
            site
        ));
    }

    #[test]
    fn origin_decides_for_older_browsers() {
        let site = "http://127.0.0.1:3000";
        assert!(is_same_origin(
            &headers(&[("origin", "http://127.0.0.1:3000")]),
            site
        ));
        assert!(!is_same_origin(
            &headers(&[("origin", "https://evil.example")]),
            site
        ));
        assert!(!is_same_origin(&headers(&[("origin", "null")]), site));
        assert!(is_same_origin(&headers(&[]), site));
    }
}

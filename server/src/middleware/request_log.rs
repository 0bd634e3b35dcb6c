//! One log line per request. Paths that carry a secret (setup and reset links) are logged
//! without it.

use axum::extract::Request;
use tower_http::LatencyUnit;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnRequest, DefaultOnResponse, TraceLayer};
use tracing::{Level, Span};

const SECRET_PATHS: [&str; 2] = ["/setup/", "/reset/"];

pub fn redact(path: &str) -> String {
    for prefix in SECRET_PATHS {
        if path.starts_with(prefix) {
            return format!("{prefix}[redacted]");
        }
    }
    path.to_owned()
}

/// One line per response (method, path with secrets redacted, status, latency), and an error
/// line for a 5xx.
pub fn trace_layer() -> TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    impl Fn(&Request) -> Span + Clone,
    DefaultOnRequest,
    DefaultOnResponse,
> {
    TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %redact(request.uri().path()),
            )
        })
        .on_response(
            DefaultOnResponse::new()
                .level(Level::INFO)
                .latency_unit(LatencyUnit::Millis),
        )
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_in_paths_are_not_logged() {
        assert_eq!(super::redact("/setup/s3cr3t"), "/setup/[redacted]");
        assert_eq!(super::redact("/users"), "/users");
    }
}

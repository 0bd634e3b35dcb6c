//! One log line per request. Paths that carry a secret (setup and reset links) are logged
//! without it.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

const SECRET_PATHS: [&str; 2] = ["/setup/", "/reset/"];

pub fn redact(path: &str) -> String {
    for prefix in SECRET_PATHS {
        if path.starts_with(prefix) {
            return format!("{prefix}[redacted]");
        }
    }
    path.to_owned()
}

pub async fn log_requests(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = redact(request.uri().path());
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_in_paths_are_not_logged() {
        assert_eq!(super::redact("/setup/s3cr3t"), "/setup/[redacted]");
        assert_eq!(super::redact("/users"), "/users");
    }
}

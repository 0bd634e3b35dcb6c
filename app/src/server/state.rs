use axum::extract::FromRef;
use domain::Services;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// How the site is reached from outside.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// The configured public base URL (`https://latchkey.example.com`). Links in emails and the
    /// origin check use it, never the request's Host or X-Forwarded-* headers.
    pub public_url: String,
}

impl WebConfig {
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Served over https: cookies get `Secure` and the `__Host-` prefix, which also pins them
    /// to this host and path `/`.
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// `scheme://host[:port]`, as browsers send it in `Origin`.
    pub fn origin(&self) -> &str {
        let after_scheme = self.public_url.find("://").map_or(0, |i| i + 3);
        match self.public_url[after_scheme..].find('/') {
            Some(i) => &self.public_url[..after_scheme + i],
            None => &self.public_url,
        }
    }
}

/// Everything a handler or server function needs, provided to each request as context.
#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub services: Services,
    pub web: Arc<WebConfig>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_drops_the_path() {
        assert_eq!(
            WebConfig::new("https://id.example.com/latchkey/").origin(),
            "https://id.example.com"
        );
        assert_eq!(
            WebConfig::new("http://127.0.0.1:3000").origin(),
            "http://127.0.0.1:3000"
        );
        assert!(WebConfig::new("https://x.example").is_https());
    }
}

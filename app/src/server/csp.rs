//! Each page's Content-Security-Policy, carrying this response's nonce: the only inline scripts
//! that run are the ones Leptos rendered into this very response (its hydration bootstrap and
//! serialized resources), and nothing at all is loaded from another origin.

use http::HeaderValue;
use http::header::CONTENT_SECURITY_POLICY;
use leptos::nonce::use_nonce;
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

/// The end user's pages run no code of ours: the rendered data scripts, this site's stylesheet
/// and favicon, and forms posting to this site.
fn plain_page(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self'; img-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// The console: its own script and WASM. Progress bars set inline widths, hence the styles'
/// `'unsafe-inline'`.
fn console_page(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// Sets the policy of the page being rendered; `hydrate` when the page loads the WASM.
pub fn set_page_policy(hydrate: bool) {
    let Some(nonce) = use_nonce() else { return };
    let nonce = nonce.to_string();
    let policy = if hydrate {
        console_page(&nonce)
    } else {
        plain_page(&nonce)
    };
    if let (Some(response), Ok(value)) = (
        use_context::<ResponseOptions>(),
        HeaderValue::from_str(&policy),
    ) {
        response.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}

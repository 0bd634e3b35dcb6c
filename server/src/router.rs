//! The HTTP surface: Leptos pages and server functions, static files, and the middleware
//! every request passes through.

use app::server::{AppState, provide_request_context};
use app::{App, PLAIN_PAGES, plain_shell, shell};
use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use leptos::config::LeptosOptions;
use leptos_axum::{AxumRouteListing, LeptosRoutes, file_and_error_handler, generate_route_list};
use std::sync::OnceLock;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::middleware::{
    self, error_status, form_referer, request_log, same_origin, security_headers,
    signed_form_errors, strict_fields,
};

pub fn build(state: AppState) -> Router {
    let (plain, hydrated): (Vec<_>, Vec<_>) = route_list()
        .into_iter()
        .partition(|route| PLAIN_PAGES.contains(&route.path()));
    let context_state = state.clone();
    let options = state.leptos_options.clone();
    let mut router = Router::new();
    for route in plain {
        let context_state = state.clone();
        let options = state.leptos_options.clone();
        let handler = leptos_axum::render_app_async_with_context(
            move || provide_request_context(&context_state),
            move || plain_shell(options.clone()),
        );
        router = router.route(route.path(), axum::routing::get(handler));
    }
    let router = router
        .route(
            "/reset/{token}",
            axum::routing::get(app::server::reset_link::open_reset_link),
        )
        .route(
            "/bulk/{id}/report.csv",
            axum::routing::get(app::server::bulk_report::download_report),
        )
        .route(
            "/users/import/{id}/report.csv",
            axum::routing::get(app::server::import_upload::download_report),
        )
        .route(
            app::server::audit_export::EXPORT_PATH,
            axum::routing::get(app::server::audit_export::export),
        )
        .leptos_routes_with_context(
            &state,
            hydrated,
            move || provide_request_context(&context_state),
            move || shell(options.clone()),
        )
        .nest_service("/pkg", console_files(&state.leptos_options))
        .fallback(file_and_error_handler::<AppState, _>(shell))
        .layer(from_fn_with_state(
            std::sync::Arc::new(app::server::request_fields::request_fields()),
            strict_fields::refuse_unknown_fields,
        ))
        .layer(from_fn(error_status::server_fn_status))
        .layer(RequestBodyLimitLayer::new(middleware::MAX_BODY_BYTES))
        // The one route that takes a file: its own limit, and every check below.
        .merge(
            Router::new()
                .route(
                    app::server::import_upload::UPLOAD_PATH,
                    axum::routing::post(app::server::import_upload::upload),
                )
                .layer(RequestBodyLimitLayer::new(middleware::UPLOAD_MAX_BYTES))
                .layer(axum::extract::DefaultBodyLimit::max(
                    middleware::UPLOAD_MAX_BYTES,
                )),
        )
        .layer(axum::middleware::map_response(
            middleware::close_after_refused_body,
        ))
        .layer(from_fn_with_state(
            state.services.keys.clone(),
            signed_form_errors::sign_form_errors,
        ))
        .layer(from_fn_with_state(
            state.web.clone(),
            form_referer::restore_reset_referer,
        ))
        .layer(from_fn_with_state(
            state.web.clone(),
            same_origin::same_origin_only,
        ))
        .layer(from_fn(security_headers::add_path_headers));
    security_headers::fixed_headers(router)
        .layer(compress_pages())
        .layer(request_log::trace_layer())
        .with_state(state)
}

/// The app's routes, generated once per process. While Leptos generates them it holds back
/// every resource that starts loading anywhere in the process, for good (a process-wide flag,
/// leptos-rs/leptos#4773): a page another router in this process was rendering at that moment
/// would never finish. The binary builds one router, but the tests start a server each, in
/// parallel.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The console's WASM, JS and CSS: the `.br` or `.gz` the build wrote beside each when the
/// browser takes it, and, when the build named them by content hash, cached for a year (a new
/// version has a new name).
fn console_files(options: &LeptosOptions) -> axum::Router {
    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let caching = if app::server::assets::names_are_hashed(options) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    axum::Router::new()
        .fallback_service(ServeDir::new(dir).precompressed_br().precompressed_gzip())
        .layer(SetResponseHeaderLayer::overriding(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static(caching),
        ))
}

/// HTML pages compressed on the fly (brotli or gzip, as the browser asks). Not the server
/// functions' answers: some carry a secret shown once (a temporary password, a link), and a
/// compressed secret beside text an attacker chose can leak through its length (BREACH).
fn compress_pages() -> CompressionLayer<impl Predicate> {
    let html =
        |_: http::StatusCode, _: http::Version, headers: &http::HeaderMap, _: &http::Extensions| {
            headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/html"))
        };
    CompressionLayer::new()
        .br(true)
        .gzip(true)
        .compress_when(DefaultPredicate::new().and(html))
}

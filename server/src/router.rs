//! The HTTP surface: Leptos pages and server functions, static files, and the middleware
//! every request passes through.

use app::server::AppState;
use app::{App, PLAIN_PAGES, plain_shell, shell};
use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, file_and_error_handler, generate_route_list};
use tower_http::limit::RequestBodyLimitLayer;

use crate::middleware::{
    self, error_status, form_referer, request_log, same_origin, security_headers,
    signed_form_errors, strict_fields,
};

pub fn build(state: AppState) -> Router {
    let (plain, hydrated): (Vec<_>, Vec<_>) = generate_route_list(App)
        .into_iter()
        .partition(|route| PLAIN_PAGES.contains(&route.path()));
    let context_state = state.clone();
    let options = state.leptos_options.clone();
    let mut router = Router::new();
    for route in plain {
        let context_state = state.clone();
        let options = state.leptos_options.clone();
        let handler = leptos_axum::render_app_async_with_context(
            move || provide_context(context_state.clone()),
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
            move || provide_context(context_state.clone()),
            move || shell(options.clone()),
        )
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
        .layer(request_log::trace_layer())
        .with_state(state)
}

//! The HTTP surface: Leptos pages and server functions, static files, and the middleware
//! every request passes through.

use app::server::AppState;
use app::{App, shell};
use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, file_and_error_handler, generate_route_list};
use tower_http::limit::RequestBodyLimitLayer;

use crate::middleware::{error_status, request_log, same_origin, security_headers};

/// No form or server function needs more; larger bodies are refused before they are read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn build(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let options = state.leptos_options.clone();
    Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            move || shell(options.clone()),
        )
        .fallback(file_and_error_handler::<AppState, _>(shell))
        .layer(from_fn(error_status::server_fn_status))
        .layer(from_fn_with_state(
            state.web.clone(),
            same_origin::same_origin_only,
        ))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(from_fn(security_headers::add_security_headers))
        .layer(from_fn(request_log::log_requests))
        .with_state(state)
}

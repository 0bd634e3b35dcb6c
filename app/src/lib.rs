#![recursion_limit = "256"]
//! Latchkey's Leptos application: routes, pages and components, and the `#[server]` functions
//! they call. Compiled twice: with `ssr` into the server, with `hydrate` into the browser.

pub mod api;
pub mod app;
pub mod auth;
pub mod components;
pub mod error;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
pub use app::load_before_hydrating;
pub use app::{App, PLAIN_PAGES, mark_hydrated, plain_shell, shell};
pub use error::AppError;

#![recursion_limit = "256"]
//! The `latchkey` server: configuration, the router and its middleware, and the commands of
//! the binary. Domain rules live in `domain`; pages and server functions in `app`.

pub mod config;
pub mod middleware;
pub mod router;
pub mod users_cli;

use app::server::{AppState, WebConfig};
use domain::{Db, Hasher, Services};
use std::sync::Arc;

/// Connects to the database (creating and migrating it) and assembles the shared state.
pub async fn build_state(config: &config::Config) -> anyhow_free::Result<AppState> {
    let db = Db::connect(&config.database_url).await?;
    let keys = config.secret_key.load()?;
    domain::outbox::adopt_secret_key(&db, &keys).await?;
    let sealed = domain::outbox::seal_plain_bodies(&db, &keys).await?;
    if sealed > 0 {
        tracing::info!(
            sealed,
            "sealed queued email bodies written before sealing existed"
        );
    }
    let hasher = Hasher::for_this_machine()?;
    let mut services = Services::new(db, hasher, &config.public_url, keys);
    services.settings = domain::settings::Live::new(config.settings.clone());
    services.email = domain::email_config::Live::new(config.email.clone());
    Ok(AppState {
        leptos_options: config.leptos.clone(),
        services,
        web: Arc::new(WebConfig::new(&config.public_url)),
    })
}

/// A small boxed-error result for start-up paths, where the only thing to do with an error is
/// to report it and exit.
pub mod anyhow_free {
    pub type Error = Box<dyn std::error::Error + Send + Sync>;
    pub type Result<T> = std::result::Result<T, Error>;
}

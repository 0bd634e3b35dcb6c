//! Configuration from the environment (and `Leptos.toml` for the Leptos runtime options).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | `sqlite://data/latchkey.db` | `sqlite://…` or `postgres://…` |
//! | `LATCHKEY_PUBLIC_URL` | `http://<site-addr>` | the address people use; links and the origin check use it |
//! | `LATCHKEY_LEPTOS_CONFIG` | `Leptos.toml` | Leptos runtime options; `LEPTOS_*` variables override them |

use leptos::config::{LeptosOptions, get_configuration};
use std::path::Path;

use crate::anyhow_free::Result;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/latchkey.db";

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub public_url: String,
    pub leptos: LeptosOptions,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    pub fn from_env() -> Result<Self> {
        let leptos_file = env("LATCHKEY_LEPTOS_CONFIG").unwrap_or_else(|| "Leptos.toml".into());
        let leptos = if Path::new(&leptos_file).exists() {
            get_configuration(Some(&leptos_file))?.leptos_options
        } else {
            get_configuration(None)?.leptos_options
        };
        let public_url =
            env("LATCHKEY_PUBLIC_URL").unwrap_or_else(|| format!("http://{}", leptos.site_addr));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err("LATCHKEY_PUBLIC_URL must start with http:// or https://".into());
        }
        Ok(Self {
            database_url: env("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            public_url,
            leptos,
        })
    }
}

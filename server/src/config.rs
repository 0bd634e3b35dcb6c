//! Configuration from the environment (and `Leptos.toml` for the Leptos runtime options).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | `sqlite://data/latchkey.db` | `sqlite://…` or `postgres://…` |
//! | `LATCHKEY_PUBLIC_URL` | `http://<site-addr>` | the address people use; links and the origin check use it |
//! | `LATCHKEY_LEPTOS_CONFIG` | `Leptos.toml` | Leptos runtime options; `LEPTOS_*` variables override them |
//! | `LATCHKEY_SMTP_HOST` | (none) | fixes the SMTP server (with the four below) over Management > Email Configuration; unset, the page decides, and with no host there emails are written as `.eml` files |
//! | `LATCHKEY_SMTP_PORT` | 587, 465 or 25 by TLS mode | |
//! | `LATCHKEY_SMTP_TLS` | `starttls` | `starttls`, `tls` (implicit, port 465) or `none` (loopback relays only) |
//! | `LATCHKEY_SMTP_USERNAME`, `LATCHKEY_SMTP_PASSWORD` | (none) | SMTP AUTH credentials |
//! | `LATCHKEY_MAIL_FROM` | (none) | fixes the sender over Management > Email Configuration (`Name <address>`) |
//! | `LATCHKEY_MAIL_DIR` | `data/mail` | where `.eml` files go when no SMTP server is configured |
//! | `LATCHKEY_PASSWORD_MIN_LENGTH`, `LATCHKEY_TEMPORARY_PASSWORD_HOURS`, `LATCHKEY_ALLOW_EMAILED_PASSWORDS`, `LATCHKEY_SESSION_IDLE_MINUTES`, `LATCHKEY_SESSION_ABSOLUTE_HOURS` | (none) | fix that field of Management > Password Policy, over what is saved there (`domain::settings::VARIABLES`) |
//! | `LATCHKEY_SECRET_KEY` | (none) | 32 bytes in base64: seals queued emails; wins over the key file |
//! | `LATCHKEY_SECRET_KEY_FILE` | `data/secret.key` | created (0600) on first start when there is no key |

use domain::email_config::{Connection, EmailEnv};
use domain::mail::{MailConfig, RetryPolicy};
use domain::settings::EnvOverrides;
use leptos::config::{LeptosOptions, get_configuration};
use model::email::{EmailSettings, Security};
use model::secret::Secret;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::anyhow_free::Result;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/latchkey.db";

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub public_url: String,
    pub leptos: LeptosOptions,
    pub mail: MailConfig,
    /// What the environment fixes of Management > Email Configuration.
    pub email: EmailEnv,
    /// Fields of Management > Password Policy the environment fixes.
    pub settings: EnvOverrides,
    pub secret_key: KeySource,
}

/// Where the secret key comes from. It is never in the database: a copy of the database must
/// not hold what opens the links and passwords queued in it.
#[derive(Clone, Debug)]
pub enum KeySource {
    Value(Secret),
    File(PathBuf),
}

impl KeySource {
    pub fn load(&self) -> Result<domain::Keyring> {
        Ok(match self {
            KeySource::Value(text) => domain::Keyring::from_base64(text.expose())
                .map_err(|e| format!("LATCHKEY_SECRET_KEY: {e}"))?,
            KeySource::File(path) => domain::Keyring::load_or_create(path)?,
        })
    }
}

/// Every setting, as a command-line option or (as deployments set them) an environment
/// variable; `latchkey --help` lists them. Values are checked below with messages that name
/// the variable, and an empty variable counts as unset.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Settings {
    /// `sqlite://…` (created and migrated on start) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// The address people use: links in email and the origin check use it.
    #[arg(long, env = "LATCHKEY_PUBLIC_URL", global = true)]
    public_url: Option<String>,
    /// Leptos runtime options (address, site root); `LEPTOS_*` variables override them.
    #[arg(long, env = "LATCHKEY_LEPTOS_CONFIG", global = true)]
    leptos_config: Option<String>,
    /// The SMTP server; without it emails are written as `.eml` files.
    #[arg(long, env = "LATCHKEY_SMTP_HOST", global = true)]
    smtp_host: Option<String>,
    /// 587, 465 or 25 by TLS mode.
    #[arg(long, env = "LATCHKEY_SMTP_PORT", global = true)]
    smtp_port: Option<String>,
    /// `starttls` (default), `tls` (implicit) or `none` (a relay on loopback only).
    #[arg(long, env = "LATCHKEY_SMTP_TLS", global = true)]
    smtp_tls: Option<String>,
    /// SMTP AUTH user.
    #[arg(long, env = "LATCHKEY_SMTP_USERNAME", global = true)]
    smtp_username: Option<String>,
    /// SMTP AUTH password (prefer the environment: a command line is visible to other users).
    #[arg(
        long,
        env = "LATCHKEY_SMTP_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    smtp_password: Option<String>,
    /// The sender of every email.
    #[arg(long, env = "LATCHKEY_MAIL_FROM", global = true)]
    mail_from: Option<String>,
    /// Where `.eml` files go without SMTP.
    #[arg(long, env = "LATCHKEY_MAIL_DIR", global = true)]
    mail_dir: Option<String>,
    /// The secret key, 32 bytes in base64 (prefer the environment or the key file).
    #[arg(
        long,
        env = "LATCHKEY_SECRET_KEY",
        hide_env_values = true,
        global = true
    )]
    secret_key: Option<String>,
    /// The key file, created owner-only on first start (default `data/secret.key`).
    #[arg(long, env = "LATCHKEY_SECRET_KEY_FILE", global = true)]
    secret_key_file: Option<String>,
}

/// A setting's value, an empty one counting as unset.
fn set(value: &Option<String>) -> Option<String> {
    value.clone().filter(|v| !v.trim().is_empty())
}

impl Config {
    pub fn from_settings(settings: &Settings) -> Result<Self> {
        let leptos_file = set(&settings.leptos_config).unwrap_or_else(|| "Leptos.toml".into());
        let leptos = if Path::new(&leptos_file).exists() {
            get_configuration(Some(&leptos_file))?.leptos_options
        } else {
            get_configuration(None)?.leptos_options
        };
        let public_url =
            set(&settings.public_url).unwrap_or_else(|| format!("http://{}", leptos.site_addr));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err("LATCHKEY_PUBLIC_URL must start with http:// or https://".into());
        }
        Ok(Self {
            public_url,
            database_url: set(&settings.database_url)
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            leptos,
            mail: MailConfig {
                retry: RetryPolicy::default(),
                poll: Duration::from_secs(5),
            },
            email: email_env(settings)?,
            settings: EnvOverrides::read(|name| std::env::var(name).ok())?,
            secret_key: match set(&settings.secret_key) {
                Some(value) => KeySource::Value(Secret::new(value)),
                None => KeySource::File(PathBuf::from(
                    set(&settings.secret_key_file).unwrap_or_else(|| "data/secret.key".into()),
                )),
            },
        })
    }
}

/// The part of Management > Email Configuration the environment fixes: the whole SMTP
/// connection when `LATCHKEY_SMTP_HOST` is set, the sender when `LATCHKEY_MAIL_FROM` is.
fn email_env(settings: &Settings) -> Result<EmailEnv> {
    let connection = match set(&settings.smtp_host) {
        Some(host) => {
            let security = match set(&settings.smtp_tls) {
                None => Security::StartTls,
                Some(value) => Security::parse(&value).ok_or_else(|| {
                    format!("LATCHKEY_SMTP_TLS must be starttls, tls or none, not {value:?}")
                })?,
            };
            let port = match set(&settings.smtp_port) {
                None => security.default_port(),
                Some(value) => value.parse().map_err(|_| {
                    format!("LATCHKEY_SMTP_PORT must be a port number, not {value:?}")
                })?,
            };
            let connection = Connection {
                host: host.trim().to_ascii_lowercase(),
                port,
                security,
                username: set(&settings.smtp_username).unwrap_or_default(),
                password: set(&settings.smtp_password).map(Secret::new),
            };
            // The page's bounds hold for the environment too: above all, no password in the
            // clear to another machine.
            let as_page = EmailSettings {
                host: connection.host.clone(),
                port: connection.port,
                security: connection.security,
                username: connection.username.clone(),
                ..EmailSettings::default()
            };
            if let Some(problem) = as_page.problems().into_iter().next() {
                let variable = match problem.field.as_str() {
                    "port" => "LATCHKEY_SMTP_PORT",
                    "security" => "LATCHKEY_SMTP_TLS",
                    "username" => "LATCHKEY_SMTP_USERNAME",
                    _ => "LATCHKEY_SMTP_HOST",
                };
                return Err(format!("{variable}: {}", problem.reason).into());
            }
            Some(connection)
        }
        None => None,
    };
    let from = set(&settings.mail_from)
        .map(|value| EmailEnv::parse_from(&value))
        .transpose()?;
    Ok(EmailEnv {
        connection,
        from,
        mail_dir: PathBuf::from(set(&settings.mail_dir).unwrap_or_else(|| "data/mail".into())),
    })
}

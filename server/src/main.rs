#![recursion_limit = "256"]
//! `latchkey`: serve the console (the default), seed demo users, or migrate the database.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

use server::anyhow_free::Result;
use server::config::{Config, Settings};

/// jemalloc, not glibc's malloc: a page's rows are allocated on SQLite's worker threads and
/// freed on the request threads, and glibc serialises such frees on the first thread's arena
/// lock. Under load that lock, and malloc itself, took about a third of the server's time.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Self-hosted password management for administrators"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    settings: Settings,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the console (the default).
    Serve,
    /// Insert realistic demo users (without passwords) for demos and benchmarks.
    Seed {
        /// How many users to add.
        #[arg(long, default_value_t = 1000)]
        users: u64,
    },
    /// Create or update the database schema, then exit.
    Migrate,
    /// Add users, import them from CSV, or send one a password change link.
    Users {
        #[command(subcommand)]
        command: server::users_cli::UsersCommand,
    },
    /// After the secret key was lost: adopt the current one. Emails still queued were sealed
    /// with the lost key and cannot be read; they are withdrawn (send their resets again).
    ReplaceSecretKey,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,leptos_axum=warn")),
        )
        .init();
    let cli = Cli::parse();
    if let Err(e) = run(cli.command.unwrap_or(Command::Serve), &cli.settings).await {
        eprintln!("latchkey: {e}");
        std::process::exit(1);
    }
}

async fn run(command: Command, settings: &Settings) -> Result<()> {
    let config = Config::from_settings(settings)?;
    match command {
        Command::Serve => serve(config).await,
        Command::Seed { users } => {
            let db = domain::Db::connect(&config.database_url).await?;
            let started = std::time::Instant::now();
            let inserted = domain::seed::seed_users(&db, users).await?;
            println!(
                "Inserted {inserted} demo users in {:.1} s.",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Migrate => {
            domain::Db::connect(&config.database_url).await?;
            println!("Database is up to date.");
            Ok(())
        }
        Command::Users { command } => {
            let state = server::build_state(&config).await?;
            server::users_cli::run(&state.services, command).await
        }
        Command::ReplaceSecretKey => {
            let db = domain::Db::connect(&config.database_url).await?;
            let keys = config.secret_key.load()?;
            let now = model::time::Timestamp::now();
            let withdrawn = domain::outbox::replace_secret_key(&db, &keys, now).await?;
            println!(
                "The database now expects this secret key (fingerprint {}). {withdrawn} queued \
                 email(s) were withdrawn.",
                keys.fingerprint()
            );
            Ok(())
        }
    }
}

async fn serve(config: Config) -> Result<()> {
    let state = server::build_state(&config).await?;
    if let Some(token) = domain::setup::issue_token_if_needed(&state.services.db).await? {
        // Printed, not logged: this console line is how the person who started the server
        // becomes its first administrator.
        println!(
            "\nNo administrator exists yet. Open this one-time link to create the first one \
             (valid for 24 hours):\n\n    {}/setup/{}\n",
            state.web.public_url,
            token.expose()
        );
    }
    spawn_session_purger(state.services.db.clone());
    let mailer = domain::mail::Mailer::new(&state.services, &config.mail);
    match &config.email.connection {
        Some(smtp) => tracing::info!(
            host = %smtp.host,
            port = smtp.port,
            "the SMTP server is set by LATCHKEY_SMTP_HOST"
        ),
        None if config.public_url.starts_with("https://") => tracing::info!(
            "email goes where Management > Email Configuration says; until an SMTP server is \
             set there, emails (with their links and passwords) are written to {}",
            config.email.mail_dir.display()
        ),
        None => tracing::info!(
            "email goes where Management > Email Configuration says; without an SMTP server \
             there, to {}",
            config.email.mail_dir.display()
        ),
    }
    mailer.spawn();
    domain::bulk::spawn_runner(state.services.clone())?;
    domain::people::import::spawn_resumer(state.services.clone())?;
    let addr: SocketAddr = config.leptos.site_addr;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(
        "Latchkey listening on http://{addr} (public URL {})",
        state.web.public_url
    );
    axum::serve(
        listener,
        server::router::build(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    Ok(())
}

fn spawn_session_purger(db: domain::Db) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            let now = model::time::Timestamp::now();
            if let Err(e) = domain::sessions::purge_expired(&db, now).await {
                tracing::warn!(error = %e, "could not purge expired sessions");
            }
            if let Err(e) = domain::throttle::purge(&db).await {
                tracing::warn!(error = %e, "could not purge old rate-limit counters");
            }
        }
    });
}

/// Ctrl-C, or SIGTERM as systemd and container runtimes send it.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

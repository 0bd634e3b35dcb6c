//! `latchkey users …`: what the console's Add user, Import users and Send Password Change Link
//! do, for scripts. Nothing secret is printed unless asked for (`--show`, or a temporary
//! password chosen as the way in); every error exits non-zero with the reason.

use clap::{Subcommand, ValueEnum};
use domain::authority::Actor;
use domain::people::import;
use domain::people::{self, NewPerson};
use domain::resets::{LinkDelivery, LinkRequest};
use domain::{DomainError, Services};
use model::Role;
use model::people::Access;
use std::io::Write;
use std::path::PathBuf;

use crate::anyhow_free::Result;

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Add one user, and say how they first get in.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
        /// Optional; needed for the welcome email.
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long, value_enum, default_value_t = RoleArg::User)]
        role: RoleArg,
        /// Create the account inactive: it cannot sign in or receive email.
        #[arg(long)]
        inactive: bool,
        /// welcome-link emails a link to choose a password; temporary-password prints one
        /// (shown once); nothing leaves the account without a password for now.
        #[arg(long, value_enum, default_value_t = AccessArg::WelcomeLink)]
        access: AccessArg,
        /// How long the welcome link works, in minutes (5 to 1440).
        #[arg(long, default_value_t = model::reset::LINK_MINUTES_MAX)]
        link_minutes: i64,
    },
    /// Import users from a CSV file (a header line naming username, display_name, email,
    /// role, active). Idempotent by username: new users are added, changed ones updated.
    Import {
        file: PathBuf,
        /// Email new users a welcome link to choose their password.
        #[arg(long)]
        send_links: bool,
        /// Show what the import would do, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Where to write the report (one line per row); default FILE.report.csv.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Send Password Change Link to a user (by username or email).
    ResetLink {
        user: String,
        /// How long the link works, in minutes (5 to 1440).
        #[arg(long, default_value_t = model::reset::LINK_MINUTES_DEFAULT)]
        minutes: i64,
        /// Print the link instead of emailing it. Anyone with it can set the password.
        #[arg(long)]
        show: bool,
        /// Turn the current password off now, not when the link is used.
        #[arg(long)]
        invalidate: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    User,
    PasswordManager,
    Administrator,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AccessArg {
    WelcomeLink,
    TemporaryPassword,
    Nothing,
}

/// The operator, as the audit trail names them.
fn operator() -> Actor {
    let who = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "operator".into());
    Actor::command_line(&who)
}

/// A domain error as a person at a terminal should read it.
fn plain(e: DomainError) -> crate::anyhow_free::Error {
    match e {
        DomainError::Invalid(field) => format!("{}: {}", field.field, field.reason).into(),
        DomainError::Policy(v) => v
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
            .into(),
        other => other.to_string().into(),
    }
}

pub async fn run(services: &Services, command: UsersCommand) -> Result<()> {
    let actor = operator();
    match command {
        UsersCommand::Add {
            username,
            display_name,
            email,
            role,
            inactive,
            access,
            link_minutes,
        } => {
            let person = NewPerson {
                username,
                display_name,
                email,
                role: match role {
                    RoleArg::User => Role::User,
                    RoleArg::PasswordManager => Role::PasswordManager,
                    RoleArg::Administrator => Role::Administrator,
                },
                active: !inactive,
                access: match access {
                    AccessArg::WelcomeLink => Access::WelcomeLink,
                    AccessArg::TemporaryPassword => Access::TemporaryPassword,
                    AccessArg::Nothing => Access::Nothing,
                },
                link_minutes,
            };
            let added = people::add(services, &actor, person).await.map_err(plain)?;
            println!("Added {}.", added.username);
            if let Some(at) = added.link_expires_at {
                println!(
                    "A welcome email is queued (the running server sends it); its link expires at {at}."
                );
            }
            if let Some(temporary) = added.temporary {
                println!(
                    "Temporary password (works for one sign-in, until {}): {}",
                    temporary.expires_at,
                    temporary.password.expose()
                );
            }
            Ok(())
        }
        UsersCommand::Import {
            file,
            send_links,
            dry_run,
            report,
        } => import_file(services, &actor, file, send_links, dry_run, report).await,
        UsersCommand::ResetLink {
            user,
            minutes,
            show,
            invalidate,
        } => {
            let found = domain::users::find_by_login_name(&services.db, &user)
                .await?
                .ok_or_else(|| format!("no user is named {user:?}"))?;
            let request = LinkRequest {
                minutes,
                invalidate_password: invalidate,
                delivery: if show {
                    LinkDelivery::Shown
                } else {
                    LinkDelivery::Email
                },
            };
            let issued = domain::resets::send_link(services, &actor, &found.id, request)
                .await
                .map_err(plain)?;
            match issued.link {
                Some(link) => println!("{}", link.expose()),
                None => println!(
                    "Password change link for {} queued for email (the running server sends \
                     it); it expires at {}.",
                    found.username, issued.expires_at
                ),
            }
            Ok(())
        }
    }
}

async fn import_file(
    services: &Services,
    actor: &Actor,
    file: PathBuf,
    send_links: bool,
    dry_run: bool,
    report: Option<PathBuf>,
) -> Result<()> {
    let size = std::fs::metadata(&file)
        .map_err(|e| format!("{}: {e}", file.display()))?
        .len();
    import::check_size(size).map_err(plain)?;
    let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let rows = import::parse(&bytes).map_err(plain)?;
    let plan = import::plan(services, actor, &rows).await.map_err(plain)?;
    let count = |label: &str| plan.iter().filter(|p| p.verdict.label() == label).count();
    println!(
        "{} rows: {} new, {} updated, {} unchanged, {} with errors.",
        plan.len(),
        count("new"),
        count("updated"),
        count("unchanged"),
        count("error")
    );
    for p in plan
        .iter()
        .filter(|p| p.verdict.label() == "error")
        .take(20)
    {
        println!("  line {}: {}: {}", p.line, p.username, p.verdict.detail());
    }
    if dry_run {
        println!("Dry run: nothing was changed.");
        return Ok(());
    }
    let total = plan.len();
    let started = std::time::Instant::now();
    let results = import::apply(services, actor, &plan, send_links, |done| {
        eprint!("\rImported {done} of {total} rows");
        let _ = std::io::stderr().flush();
    })
    .await
    .map_err(plain)?;
    eprintln!();
    let path = report.unwrap_or_else(|| file.with_extension("report.csv"));
    std::fs::write(&path, import::report_csv(&results))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let failed = results
        .iter()
        .filter(|r| matches!(r.result, "error" | "failed"))
        .count();
    println!(
        "Done in {:.1} s. Report: {}",
        started.elapsed().as_secs_f64(),
        path.display()
    );
    if failed > 0 {
        return Err(format!("{failed} row(s) were not imported; see the report").into());
    }
    Ok(())
}

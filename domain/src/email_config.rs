//! Management > Email Configuration: the SMTP server, the sender and the sending rate, stored in
//! the database and read again by every instance within seconds, so a change needs no restart.
//! The environment wins where it is set (`LATCHKEY_SMTP_*` fix the whole connection,
//! `LATCHKEY_MAIL_FROM` the sender), and the page shows those fields as fixed.
//!
//! The SMTP password is write-only: sealed under the secret key kept outside the database, never
//! sent back to the browser, and only ever handed to the server it was saved for.

use std::path::PathBuf;
use std::sync::Arc;

use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use model::email::{EmailSettings, EmailView, QueueEta, Security, TestAnswer, is_address};
use model::fields::FieldError;
use model::secret::Secret;
use model::settings::Overridden;
use model::time::Timestamp;
use model::user::Permission;
use serde::{Deserialize, Serialize};

use crate::Services;
use crate::audit::{self, AuditAction, AuditEvent, Outcome};
use crate::authority::Actor;
use crate::error::{DomainError, DomainResult};
use crate::fresh::Fresh;
use crate::keys::Keyring;
use crate::store::db::Db;
use crate::store::outbox;
use crate::store::settings as store;

/// The row in the settings table.
const SECTION: &str = "email";
/// What the stored password is sealed to: this row's purpose and the server and login it was
/// typed for, so a host changed in the database behind the page's back does not open it.
fn password_context(settings: &EmailSettings) -> String {
    format!(
        "settings/email/smtp_password/{}/{}/{}/{}",
        settings.host,
        settings.port,
        settings.security.as_str(),
        settings.username
    )
}

/// How to reach one SMTP server.
#[derive(Clone, Debug)]
pub struct Connection {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    pub password: Option<Secret>,
}

impl Connection {
    /// Whether `other` is the same server with the same login (a pooled transport is kept
    /// while this holds).
    pub fn same_as(&self, other: &Connection) -> bool {
        self.host == other.host
            && self.port == other.port
            && self.security == other.security
            && self.username == other.username
            && self.password.as_ref().map(Secret::expose)
                == other.password.as_ref().map(Secret::expose)
    }

    /// A transport to this server, pooled, with a bounded wait for its answers.
    pub fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let builder = match self.security {
            Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host),
            Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host)
                .map_err(|e| format!("SMTP server {:?}: {e}", self.host))?,
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host)
                .map_err(|e| format!("SMTP server {:?}: {e}", self.host))?,
        };
        let builder = builder
            .port(self.port)
            .timeout(Some(std::time::Duration::from_secs(20)));
        let builder = match &self.password {
            Some(password) if !self.username.is_empty() => builder.credentials(Credentials::new(
                self.username.clone(),
                password.expose().to_owned(),
            )),
            _ => builder,
        };
        Ok(builder.build())
    }
}

/// What the environment fixes, read once at start.
#[derive(Clone, Debug)]
pub struct EmailEnv {
    /// `LATCHKEY_SMTP_HOST` and the rest: the whole connection, when the host is set.
    pub connection: Option<Connection>,
    /// `LATCHKEY_MAIL_FROM`: the sender's name and address.
    pub from: Option<(String, String)>,
    /// Where emails are written without an SMTP server (`LATCHKEY_MAIL_DIR`).
    pub mail_dir: PathBuf,
}

impl Default for EmailEnv {
    fn default() -> Self {
        Self {
            connection: None,
            from: None,
            mail_dir: PathBuf::from("data/mail"),
        }
    }
}

impl EmailEnv {
    /// A plain SMTP server on loopback: for tests, which deliver to a real server there.
    pub fn loopback_smtp(port: u16) -> Self {
        Self {
            connection: Some(Connection {
                host: "127.0.0.1".into(),
                port,
                security: Security::None,
                username: String::new(),
                password: None,
            }),
            from: Some(("Latchkey".into(), "latchkey@example.com".into())),
            ..Self::default()
        }
    }

    /// Parses `Name <address>` or a bare address, as `LATCHKEY_MAIL_FROM` holds it.
    pub fn parse_from(value: &str) -> Result<(String, String), String> {
        let mailbox: Mailbox = value
            .parse()
            .map_err(|e| format!("LATCHKEY_MAIL_FROM is not an address ({e}): {value:?}"))?;
        Ok((mailbox.name.unwrap_or_default(), mailbox.email.to_string()))
    }

    fn overridden(&self) -> Vec<Overridden> {
        let mut fixed = Vec::new();
        let mut add = |field: &str, variable: &str| {
            fixed.push(Overridden {
                field: field.into(),
                variable: variable.into(),
            });
        };
        if self.connection.is_some() {
            add("host", "LATCHKEY_SMTP_HOST");
            add("port", "LATCHKEY_SMTP_PORT");
            add("security", "LATCHKEY_SMTP_TLS");
            add("username", "LATCHKEY_SMTP_USERNAME");
            add("password", "LATCHKEY_SMTP_PASSWORD");
        }
        if self.from.is_some() {
            add("from_name", "LATCHKEY_MAIL_FROM");
            add("from_address", "LATCHKEY_MAIL_FROM");
        }
        fixed
    }

    fn apply(&self, stored: Stored, keys: &Keyring) -> Effective {
        let mut settings = stored.settings;
        let mut password = stored.password.and_then(|sealed| {
            match keys.open(&password_context(&settings), &sealed) {
                Ok(password) => Some(Secret::new(password)),
                Err(_) => {
                    tracing::warn!(
                        "the stored SMTP password does not open with this secret key and \
                         server; type it again in Management > Email Configuration"
                    );
                    None
                }
            }
        });
        if let Some(fixed) = &self.connection {
            settings.host = fixed.host.clone();
            settings.port = fixed.port;
            settings.security = fixed.security;
            settings.username = fixed.username.clone();
            password = fixed.password.clone();
        }
        if let Some((name, address)) = &self.from {
            settings.from_name = name.clone();
            settings.from_address = address.clone();
        }
        Effective {
            settings,
            password,
            mail_dir: self.mail_dir.clone(),
        }
    }
}

/// The row as stored: the settings and the sealed password.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Stored {
    settings: EmailSettings,
    password: Option<String>,
}

/// The email configuration in force.
#[derive(Clone, Debug)]
pub struct Effective {
    pub settings: EmailSettings,
    pub password: Option<Secret>,
    pub mail_dir: PathBuf,
}

impl Effective {
    /// The SMTP server, or `None`: emails are written to [`Effective::mail_dir`].
    pub fn connection(&self) -> Option<Connection> {
        let s = &self.settings;
        (!s.host.is_empty()).then(|| Connection {
            host: s.host.clone(),
            port: s.port,
            security: s.security,
            username: s.username.clone(),
            password: self.password.clone(),
        })
    }

    pub fn sender(&self) -> Result<Mailbox, String> {
        sender(&self.settings).map_err(|e| e.reason)
    }
}

/// The From header of `settings`, built (not parsed from text), so a name with a comma or quotes
/// is quoted rather than refused by the mailer after every email has been queued.
pub fn sender(settings: &EmailSettings) -> Result<Mailbox, FieldError> {
    let address = settings.from_address.parse().map_err(|e| {
        FieldError::new(
            "from_address",
            format!("The mail server would refuse this address ({e})."),
        )
    })?;
    let name = Some(settings.from_name.clone()).filter(|n| !n.is_empty());
    Ok(Mailbox::new(name, address))
}

/// This instance's view: the environment's part, fixed at start, and the stored row, read again
/// when older than a few seconds.
#[derive(Clone, Debug, Default)]
pub struct Live {
    env: Arc<EmailEnv>,
    cached: Fresh<Arc<Effective>>,
}

impl Live {
    pub fn new(env: EmailEnv) -> Self {
        Self {
            env: Arc::new(env),
            cached: Fresh::default(),
        }
    }

    pub async fn current(&self, db: &Db, keys: &Keyring) -> DomainResult<Arc<Effective>> {
        self.cached
            .get_or_load(|| async { Ok(Arc::new(self.env.apply(stored(db).await?, keys))) })
            .await
    }
}

async fn stored(db: &Db) -> DomainResult<Stored> {
    let Some(json) = store::get(db, SECTION).await? else {
        return Ok(Stored::default());
    };
    Ok(serde_json::from_str::<Stored>(&json)
        .ok()
        .filter(|s| s.settings.problems().is_empty())
        .unwrap_or_else(|| {
            tracing::warn!(
                "stored email settings do not parse or are out of bounds; defaults used"
            );
            Stored::default()
        }))
}

/// Management > Email Configuration as the page shows it.
pub async fn view(services: &Services, actor: &Actor) -> DomainResult<EmailView> {
    actor.must_hold(Permission::UserManagement)?;
    let effective = services.email.current(&services.db, &services.keys).await?;
    let env = &services.email.env;
    let queued = u64::try_from(outbox::waiting(&services.db).await?).unwrap_or(0);
    let (_, sent_today) = outbox::recent_sends(&services.db, Timestamp::now()).await?;
    let settings = effective.settings.clone();
    Ok(EmailView {
        queue: QueueEta::estimate(
            queued,
            u64::try_from(sent_today).unwrap_or(0),
            settings.per_minute,
            settings.per_day,
        ),
        settings,
        password_set: effective.password.is_some(),
        overridden: env.overridden(),
        public_url: services.public_url.clone(),
        mail_dir: env.mail_dir.display().to_string(),
    })
}

/// The form of the page taken apart: the settings' fields, and what to do with the password.
struct Submitted<'a> {
    fields: Vec<(&'a str, &'a str)>,
    password: Option<&'a str>,
    forget_password: bool,
}

fn split_form<'a>(form: &[(&'a str, &'a str)]) -> Submitted<'a> {
    let mut submitted = Submitted {
        fields: Vec::new(),
        password: None,
        forget_password: false,
    };
    for (field, value) in form {
        match *field {
            "password" => submitted.password = Some(value).filter(|v| !v.is_empty()).copied(),
            "forget_password" => submitted.forget_password = *value == "true",
            _ => submitted.fields.push((field, value)),
        }
    }
    submitted
}

/// Saves the page. The stored password is kept only while the server and login it was saved
/// for stay the same: sent to another host, it would hand that host the password.
pub async fn save(
    services: &Services,
    actor: &Actor,
    form: &[(&str, &str)],
) -> DomainResult<EmailView> {
    let result = try_save(services, actor, form).await;
    audit::audited(
        &services.db,
        actor,
        None,
        AuditAction::SettingsChanged,
        result,
    )
    .await?;
    view(services, actor).await
}

async fn try_save(services: &Services, actor: &Actor, form: &[(&str, &str)]) -> DomainResult<()> {
    actor.must_hold(Permission::UserManagement)?;
    actor.must_be_confirmed()?;
    let submitted = split_form(form);
    if submitted
        .password
        .is_some_and(|p| p.len() > 1024 || p.chars().any(char::is_control))
    {
        return Err(DomainError::Invalid(FieldError::new(
            "password",
            "Enter the SMTP password on one line.",
        )));
    }
    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    let before: Stored = match store::get_in(&mut tx, SECTION).await? {
        Some(json) => serde_json::from_str(&json).unwrap_or_default(),
        None => Stored::default(),
    };
    let settings = before
        .settings
        .clone()
        .with_form(submitted.fields.iter().copied())
        .map_err(DomainError::Invalid)?;
    if let Some(problem) = settings.problems().into_iter().next() {
        return Err(DomainError::Invalid(problem));
    }
    let same_server =
        settings.host == before.settings.host && settings.username == before.settings.username;
    let (password, password_change) = match (submitted.password, submitted.forget_password) {
        (Some(new), _) => (
            Some(services.keys.seal(&password_context(&settings), new)),
            Some("password set"),
        ),
        (None, true) => (None, before.password.as_ref().map(|_| "password removed")),
        (None, false) if same_server => (before.password.clone(), None),
        (None, false) => (
            None,
            before
                .password
                .as_ref()
                .map(|_| "password forgotten (another server or username)"),
        ),
    };
    let mut changes = crate::settings::differences(&before.settings, &settings);
    changes.extend(password_change.map(str::to_owned));
    if !changes.is_empty() {
        let detail = format!("Email Configuration: {}", changes.join("; "));
        let stored = Stored { settings, password };
        crate::settings::put_audited(
            &mut tx,
            actor,
            SECTION,
            &stored,
            AuditAction::SettingsChanged,
            detail,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    services.email.cached.forget();
    services.mail.wake();
    Ok(())
}

/// **Send test email**: the form's values, saved or not, tried against the server they name,
/// with the server's own answer. The stored password goes only to the server it was saved for;
/// to try another, type its password.
pub async fn send_test(
    services: &Services,
    actor: &Actor,
    form: &[(&str, &str)],
    to: &str,
) -> DomainResult<TestAnswer> {
    let result = try_send_test(services, actor, form, to).await;
    let answer = audit::audited(&services.db, actor, None, AuditAction::EmailTest, result).await?;
    let event = AuditEvent {
        at: Timestamp::now(),
        actor: Some(actor.party()),
        target: None,
        action: AuditAction::EmailTest,
        outcome: if answer.delivered {
            Outcome::Success
        } else {
            Outcome::Failure
        },
        ip: actor.ip().map(str::to_owned),
        detail: Some(format!("to {}: {}", to.trim(), answer.answer)),
    };
    audit::record(services.db.pool(), &event).await?;
    Ok(answer)
}

async fn try_send_test(
    services: &Services,
    actor: &Actor,
    form: &[(&str, &str)],
    to: &str,
) -> DomainResult<TestAnswer> {
    actor.must_hold(Permission::UserManagement)?;
    // It may use the stored password and reach any server: as guarded as saving.
    actor.must_be_confirmed()?;
    let to = to.trim();
    if !is_address(to) {
        return Err(DomainError::Invalid(FieldError::new(
            "to",
            "Enter the email address to send the test to.",
        )));
    }
    let current = services.email.current(&services.db, &services.keys).await?;
    let submitted = split_form(form);
    let fixed = &services.email.env;
    let settings = current
        .settings
        .clone()
        .with_form(submitted.fields.iter().copied())
        .map_err(DomainError::Invalid)?;
    if let Some(problem) = settings.problems().into_iter().next() {
        return Err(DomainError::Invalid(problem));
    }
    let same_server = settings.same_login(&current.settings);
    let stored = Stored {
        settings,
        password: None,
    };
    let mut trial = fixed.apply(stored, &services.keys);
    trial.password = match submitted.password {
        Some(typed) if fixed.connection.is_none() => Some(Secret::new(typed)),
        _ if same_server || fixed.connection.is_some() => current.password.clone(),
        _ => None,
    };
    let sender = trial
        .sender()
        .map_err(|e| DomainError::Invalid(FieldError::new("from_address", e)))?;
    let message = Message::builder()
        .from(sender)
        .to(to
            .parse()
            .map_err(|_| DomainError::Invalid(FieldError::new("to", "Enter one email address.")))?)
        .subject("Latchkey test email")
        .body(format!(
            "This is a test email from Latchkey, sent by {} from Management > Email \
             Configuration at {}.\n\nIf you can read it, password emails will reach people \
             through this server.\n",
            actor.username(),
            Timestamp::now()
        ))
        .map_err(|e| DomainError::Internal(format!("could not build the test email: {e}")))?;
    let Some(connection) = trial.connection() else {
        let name = format!("test-{}", uuid::Uuid::new_v4().simple());
        let answer =
            crate::mail_folder::write_eml(&trial.mail_dir, &name, &message.formatted()).await;
        return Ok(TestAnswer {
            delivered: answer.is_ok(),
            answer: match answer {
                Ok(path) => format!(
                    "No SMTP server is set: the email was written to {}.",
                    path.display()
                ),
                Err(e) => e,
            },
        });
    };
    let transport = connection
        .transport()
        .map_err(|e| DomainError::Invalid(FieldError::new("host", e)))?;
    Ok(match transport.send(message).await {
        Ok(response) => TestAnswer {
            delivered: true,
            answer: plain_answer(&format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
        },
        Err(e) => TestAnswer {
            delivered: false,
            answer: plain_answer(&e.to_string()),
        },
    })
}

/// A server's answer as the page and the audit trail show it: one line, no control characters,
/// at most 300 characters (whatever a server sends back).
fn plain_answer(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 300 {
        format!("{}…", line.chars().take(300).collect::<String>())
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_answer_is_one_bounded_line() {
        assert_eq!(
            plain_answer("535 5.7.8\r\nAuthentication\tfailed"),
            "535 5.7.8 Authentication failed"
        );
        assert_eq!(plain_answer(&"x".repeat(1000)).chars().count(), 301);
    }

    #[test]
    fn a_sender_name_with_a_comma_is_quoted_not_refused() {
        let settings = EmailSettings {
            from_name: "Contoso, IT \"Desk\"".into(),
            ..EmailSettings::default()
        };
        let mailbox = sender(&settings).unwrap();
        assert_eq!(mailbox.name.as_deref(), Some("Contoso, IT \"Desk\""));
    }

    #[test]
    fn the_environment_fixes_the_whole_connection_and_the_sender() {
        let keys = Keyring::ephemeral();
        let env = EmailEnv {
            connection: Some(Connection {
                host: "relay.example.com".into(),
                port: 2525,
                security: Security::StartTls,
                username: "env-user".into(),
                password: Some(Secret::new("env-secret")),
            }),
            from: Some(EmailEnv::parse_from("IT Helpdesk <it@example.com>").unwrap()),
            ..EmailEnv::default()
        };
        let stored = Stored {
            settings: EmailSettings {
                host: "smtp.example.org".into(),
                username: "db-user".into(),
                per_minute: 5,
                ..EmailSettings::default()
            },
            password: Some(keys.seal(
                &password_context(&EmailSettings {
                    host: "smtp.example.org".into(),
                    username: "db-user".into(),
                    per_minute: 5,
                    ..EmailSettings::default()
                }),
                "db-secret",
            )),
        };
        let effective = env.apply(stored.clone(), &keys);
        assert_eq!(effective.settings.host, "relay.example.com");
        assert_eq!(effective.settings.username, "env-user");
        assert_eq!(effective.password.as_ref().unwrap().expose(), "env-secret");
        assert_eq!(effective.settings.sender(), "IT Helpdesk <it@example.com>");
        assert_eq!(effective.settings.per_minute, 5, "not fixed: stored wins");
        let fields: Vec<_> = env.overridden().into_iter().map(|o| o.field).collect();
        assert!(fields.contains(&"password".to_owned()));

        let unfixed = EmailEnv::default().apply(stored, &keys);
        assert_eq!(unfixed.settings.host, "smtp.example.org");
        assert_eq!(unfixed.password.unwrap().expose(), "db-secret");
    }

    #[test]
    fn a_password_sealed_elsewhere_does_not_open() {
        let keys = Keyring::ephemeral();
        let stored = Stored {
            settings: EmailSettings::default(),
            password: Some(keys.seal("another purpose", "secret")),
        };
        assert!(EmailEnv::default().apply(stored, &keys).password.is_none());
        // Sealed for one server, then the row's host changed behind the page's back.
        let typed_for = EmailSettings {
            host: "smtp.example.org".into(),
            ..EmailSettings::default()
        };
        let moved = Stored {
            settings: EmailSettings {
                host: "attacker.example".into(),
                ..typed_for.clone()
            },
            password: Some(keys.seal(&password_context(&typed_for), "secret")),
        };
        assert!(EmailEnv::default().apply(moved, &keys).password.is_none());
    }
}

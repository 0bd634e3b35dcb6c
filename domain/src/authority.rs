//! Who may act, as a value only this crate can make. An [`Actor`] is minted by [`authorize`]
//! from a live session and a permission the caller's role holds; its fields are private, so no
//! code outside the domain can write "an administrator" into one. Every operation that reads or
//! changes another person's data takes an `&Actor`, so it cannot be called without the check.

use model::time::Timestamp;
use model::user::{Permission, Role, UserId};
use tokio::sync::OnceCell;

use crate::Services;
use crate::audit::{self, Party};
use crate::error::{DomainError, DomainResult};
use crate::sessions::{self, Purpose, Session};
use crate::tokens::SecretToken;

/// The authority of one signed-in person, for one request (or one bulk job, which acts with the
/// authority of whoever started it and re-checks it before each batch).
#[derive(Clone, Debug)]
pub struct Actor {
    id: UserId,
    username: String,
    role: Role,
    ip: Option<String>,
    /// When the person last typed their password in this session.
    verified_at: Timestamp,
}

/// How long a typed password vouches for the dangerous operations (GitHub's "sudo mode"):
/// after that a borrowed or stolen console session must know the password to do them.
pub const CONFIRMATION_MINUTES: i64 = 15;

impl Actor {
    pub fn id(&self) -> &UserId {
        &self.id
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }

    pub(crate) fn party(&self) -> Party {
        Party {
            id: self.id.clone(),
            name: self.username.clone(),
        }
    }

    /// Refuses, inside an operation, what this authority does not cover.
    pub(crate) fn must_hold(&self, permission: Permission) -> DomainResult<()> {
        if self.role.has(permission) {
            Ok(())
        } else {
            Err(DomainError::Forbidden)
        }
    }

    /// Refuses a dangerous operation (Bulk Change, roles, adding, deleting and importing
    /// people, another administrator's password) when the password was last typed more than
    /// [`CONFIRMATION_MINUTES`] ago.
    pub(crate) fn must_be_confirmed(&self) -> DomainResult<()> {
        let fresh_from = Timestamp::now().plus_seconds(-CONFIRMATION_MINUTES * 60);
        if self.verified_at >= fresh_from {
            Ok(())
        } else {
            Err(DomainError::ConfirmationRequired)
        }
    }

    /// A stored job's authority, as its creator had it; the runner re-checks it before each
    /// batch against the creator's current row. Starting the job needed a confirmed password,
    /// so its batches do not ask again.
    pub(crate) fn restored(id: UserId, username: String, role: Role, ip: Option<String>) -> Self {
        Self {
            id,
            username,
            role,
            ip,
            verified_at: Timestamp::now(),
        }
    }

    /// The operator at the server's command line (`latchkey users …`). Whoever can run the
    /// binary against the database already holds everything in it, so the command line acts
    /// as an administrator, named in the audit trail by the system account that ran it.
    pub fn command_line(system_user: &str) -> Self {
        Self {
            id: UserId("command-line".into()),
            username: format!("{system_user} (command line)"),
            role: Role::Administrator,
            ip: None,
            verified_at: Timestamp::now(),
        }
    }

    /// Whether this is the operator at the command line, who has no account of their own.
    pub(crate) fn is_command_line(&self) -> bool {
        self.id.0 == "command-line" && self.ip.is_none()
    }

    /// For tests and benchmarks only: an authority without a session.
    #[cfg(feature = "test-support")]
    pub fn for_tests(id: UserId, username: &str, role: Role) -> Self {
        Self {
            id,
            username: username.to_owned(),
            role,
            ip: Some("192.0.2.1".into()),
            verified_at: Timestamp::now(),
        }
    }

    /// For tests only: the same authority, with the password last typed at `at`.
    #[cfg(feature = "test-support")]
    pub fn confirmed_at(self, at: Timestamp) -> Self {
        Self {
            verified_at: at,
            ..self
        }
    }
}

/// Mints an [`Actor`] for `permission` from the session `token` names, or refuses:
/// `Unauthenticated` without a live session, `Forbidden` (recorded as `access.denied`, with
/// `operation` and what was lacking) when the session's role or purpose does not allow it. A
/// helpdesk account probing what it may not do is the audit trail's business. A session opened
/// by a password that must be changed may do nothing but change it, whatever the role.
///
/// It starts from the token, not from a user the caller describes, so no code outside the
/// domain can present someone else's authority.
pub async fn authorize(
    services: &Services,
    token: &SecretToken,
    permission: Permission,
    operation: &str,
    ip: Option<String>,
) -> DomainResult<Actor> {
    let session = live_session(services, token)
        .await?
        .ok_or(DomainError::Unauthenticated)?;
    admit(services, &session, permission, operation, ip).await
}

async fn live_session(services: &Services, token: &SecretToken) -> DomainResult<Option<Session>> {
    let policy = services.session_policy().await?;
    sessions::authenticate(&services.db, token, &policy, Timestamp::now()).await
}

/// The session cookie one request presents, looked up at most once however many times the
/// request asks: a console page asks who is signed in, then mints an [`Actor`] for each thing
/// it loads. Like [`authorize`] it starts from the token, and its session cannot be set from
/// outside, so it vouches for nothing the token does not.
pub struct Presented {
    token: SecretToken,
    session: OnceCell<Option<Session>>,
}

impl Presented {
    pub fn new(token: SecretToken) -> Self {
        Self {
            token,
            session: OnceCell::new(),
        }
    }

    /// The live session of the token, or `None` (expired, ended, or never valid).
    pub async fn session(&self, services: &Services) -> DomainResult<Option<&Session>> {
        let session = self
            .session
            .get_or_try_init(|| live_session(services, &self.token))
            .await?;
        Ok(session.as_ref())
    }

    /// [`authorize`], from the session already looked up for this request if there is one.
    pub async fn authorize(
        &self,
        services: &Services,
        permission: Permission,
        operation: &str,
        ip: Option<String>,
    ) -> DomainResult<Actor> {
        let session = self
            .session(services)
            .await?
            .ok_or(DomainError::Unauthenticated)?;
        admit(services, session, permission, operation, ip).await
    }
}

/// The [`Actor`] of `session` for `permission`, or `Forbidden`, recorded.
async fn admit(
    services: &Services,
    session: &Session,
    permission: Permission,
    operation: &str,
    ip: Option<String>,
) -> DomainResult<Actor> {
    let user = &session.user;
    let refusal = if session.purpose == Purpose::PasswordChange {
        Some("the session may only set a new password")
    } else if !user.active {
        Some("the account is disabled")
    } else if !user.role.has(permission) {
        Some(permission.needed())
    } else {
        None
    };
    let who = Party {
        id: user.id.clone(),
        name: user.username.clone(),
    };
    if let Some(reason) = refusal {
        audit::record_refused_request(&services.db, who, ip, operation, reason).await;
        return Err(DomainError::Forbidden);
    }
    Ok(Actor {
        id: user.id.clone(),
        username: user.username.clone(),
        role: user.role,
        ip,
        verified_at: session.verified_at,
    })
}

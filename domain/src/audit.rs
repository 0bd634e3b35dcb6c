//! The append-only audit trail: who did what to whom, when, from where, and how it ended.
//! Rows never hold a password or a token; the schema refuses updates and deletes.

use model::time::Timestamp;
use model::user::{AuditEntry, UserId};
use sqlx::{Any, Executor};

use crate::authority::Actor;
use crate::db::Db;
use crate::error::{DomainError, DomainResult};
use crate::store;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// Every kind of event the audit trail records. The database keeps [`AuditAction::as_str`], so
/// names never change once written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditAction {
    SignIn,
    SignOut,
    /// A signed-in caller refused at the door: the role or the session did not allow it.
    AccessDenied,
    FirstAdministrator,
    ForceReset,
    PasswordSet,
    OwnPasswordChanged,
    ResetLinkIssued,
    ResetRevoked,
    ResetRequested,
    ResetCompleted,
    TemporaryPassword,
    GeneratedPassword,
    AccountUnlocked,
    BulkPreviewed,
    BulkStarted,
    BulkStopped,
    /// Sudo mode: the signed-in person typed their password again.
    PasswordConfirmed,
    UserCreated,
    UserEdited,
    UserDeleted,
    RoleChanged,
    UsersImported,
    /// A password change link was followed to its page.
    ResetLinkOpened,
    /// A used, expired, revoked or unknown link was followed.
    ResetLinkRefused,
    /// Management > Password Policy saved.
    SettingsChanged,
    /// Failed sign-ins in a row locked the account.
    AccountLocked,
    /// The mailer handed an email to the SMTP server, or gave up on it.
    EmailSent,
    EmailFailed,
    /// Send test email on Management > Email Configuration, with the server's answer.
    EmailTest,
    /// Management > Templates: a template saved, or brought back to the shipped one.
    TemplateChanged,
    TemplateRestored,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SignIn => "sign_in",
            AuditAction::SignOut => "sign_out",
            AuditAction::AccessDenied => "access.denied",
            AuditAction::FirstAdministrator => "setup.first_administrator",
            AuditAction::ForceReset => "password.force_reset",
            AuditAction::PasswordSet => "password.set",
            AuditAction::OwnPasswordChanged => "password.change_own",
            AuditAction::ResetLinkIssued => "password.reset_link",
            AuditAction::ResetRevoked => "password.reset_revoked",
            AuditAction::ResetRequested => "password.reset_requested",
            AuditAction::ResetCompleted => "password.reset_completed",
            AuditAction::TemporaryPassword => "password.temporary",
            AuditAction::GeneratedPassword => "password.generated",
            AuditAction::AccountUnlocked => "account.unlocked",
            AuditAction::BulkPreviewed => "bulk.previewed",
            AuditAction::BulkStarted => "bulk.started",
            AuditAction::BulkStopped => "bulk.stopped",
            AuditAction::PasswordConfirmed => "session.password_confirmed",
            AuditAction::UserCreated => "user.created",
            AuditAction::UserEdited => "user.edited",
            AuditAction::UserDeleted => "user.deleted",
            AuditAction::RoleChanged => "user.role_changed",
            AuditAction::UsersImported => "user.imported",
            AuditAction::ResetLinkOpened => "password.reset_link_opened",
            AuditAction::ResetLinkRefused => "password.reset_link_refused",
            AuditAction::SettingsChanged => "settings.changed",
            AuditAction::AccountLocked => "account.locked",
            AuditAction::EmailSent => "email.sent",
            AuditAction::EmailFailed => "email.failed",
            AuditAction::EmailTest => "email.test",
            AuditAction::TemplateChanged => "template.changed",
            AuditAction::TemplateRestored => "template.restored",
        }
    }
}

/// A person in an audit row, by id and by the name they had at the time.
#[derive(Clone, Debug)]
pub struct Party {
    pub id: UserId,
    pub name: String,
}

#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub at: Timestamp,
    pub actor: Option<Party>,
    pub target: Option<Party>,
    pub action: AuditAction,
    pub outcome: Outcome,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

impl AuditEvent {
    /// A successful action by `actor` on `target`, without further detail.
    pub fn success(
        at: Timestamp,
        action: AuditAction,
        actor: Party,
        target: Party,
        ip: Option<String>,
    ) -> Self {
        Self {
            at,
            actor: Some(actor),
            target: Some(target),
            action,
            outcome: Outcome::Success,
            ip,
            detail: None,
        }
    }

    pub fn with_detail(mut self, detail: Option<String>) -> Self {
        self.detail = detail;
        self
    }
}

/// Appends one event, in the caller's transaction or on its own.
pub async fn record<'e>(
    exec: impl Executor<'e, Database = Any>,
    event: &AuditEvent,
) -> DomainResult<()> {
    store::audit::insert(exec, event).await
}

/// A request refused at the door: the caller is signed in but their role (or a session that
/// may only change its own password) does not allow `operation`. Recorded outside any
/// transaction, because nothing else happens; a failure to record is logged, and the refusal
/// stands either way.
pub async fn record_refused_request(
    db: &Db,
    caller: Party,
    ip: Option<String>,
    operation: &str,
    reason: &str,
) {
    let event = AuditEvent {
        at: Timestamp::now(),
        actor: Some(caller),
        target: None,
        action: AuditAction::AccessDenied,
        outcome: Outcome::Denied,
        ip,
        detail: Some(format!("{operation}: {reason}")),
    };
    if let Err(e) = record(db.pool(), &event).await {
        tracing::warn!(error = %e, "could not record a refused request");
    }
}

/// Hands back an operation's result unchanged, after recording it in the audit trail if it
/// was refused (`denied`) or failed: a refused reset is the trail's business as much as a done
/// one. Successes record themselves, inside their own transaction. Every public operation on
/// another person's account ends here, so no caller can forget it.
pub(crate) async fn audited<T>(
    db: &Db,
    actor: &Actor,
    target: Option<&UserId>,
    action: AuditAction,
    result: DomainResult<T>,
) -> DomainResult<T> {
    let Err(error) = &result else {
        return result;
    };
    // Refused by a rule (who may, to whom, in what state) is `denied`; bad input or a fault
    // is a `failure`.
    let outcome = match error {
        DomainError::Forbidden | DomainError::ConfirmationRequired | DomainError::Conflict(_) => {
            Outcome::Denied
        }
        _ => Outcome::Failure,
    };
    // What the administrator was told, never the database's own text.
    let detail = match error {
        DomainError::Database(_) | DomainError::Internal(_) => "internal error".to_owned(),
        DomainError::Unavailable(_) => "database unavailable".to_owned(),
        DomainError::Invalid(field) => field.reason.clone(),
        other => other.to_string(),
    };
    let target = match target {
        Some(id) => crate::users::get(db.pool(), id)
            .await
            .ok()
            .flatten()
            .map(|user| Party {
                id: user.id,
                name: user.username,
            }),
        None => None,
    };
    let event = AuditEvent {
        at: Timestamp::now(),
        actor: Some(actor.party()),
        target,
        action,
        outcome,
        ip: actor.ip().map(str::to_owned),
        detail: Some(detail),
    };
    if let Err(e) = record(db.pool(), &event).await {
        tracing::warn!(action = action.as_str(), error = %e, "could not record a refused operation");
    }
    result
}

/// The newest events about one user (as target or actor), newest first.
pub async fn for_user(db: &Db, user: &UserId, limit: u32) -> DomainResult<Vec<AuditEntry>> {
    store::audit::for_user(db, user, limit).await
}

//! First start: while no administrator exists, a one-time setup link (printed on the console,
//! never served) lets the person who runs the server create the first one.

use model::time::Timestamp;
use model::user::{Role, UserId};
use model::{PolicyContext, fields::FieldError};

use crate::audit::{self, AuditAction, AuditEvent, Outcome, Party};
use crate::db::Db;
use crate::error::{DomainError, DomainResult};
use crate::hashing::Password;
use crate::tokens::SecretToken;
use crate::users::{self, NewUser};
use crate::{Services, store};

const SETUP_LINK_HOURS: i64 = 24;

/// A fresh setup token if the server has no active administrator yet. Each instance that
/// starts without one prints its own link; whichever is used first wins and voids the rest.
pub async fn issue_token_if_needed(db: &Db) -> DomainResult<Option<SecretToken>> {
    if users::count_administrators(db.pool()).await? > 0 {
        return Ok(None);
    }
    let now = Timestamp::now();
    let token = SecretToken::generate();
    let expires_at = now.plus_seconds(SETUP_LINK_HOURS * 3600);
    store::setup::insert(db, &token.digest(), now, expires_at).await?;
    Ok(Some(token))
}

pub struct FirstAdmin<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub email: &'a str,
    pub password: &'a Password,
    pub confirm: &'a Password,
}

/// Whether a setup link is still good, so the page can say so before anyone types a password.
pub async fn token_is_valid(db: &Db, token: &SecretToken) -> DomainResult<bool> {
    store::setup::is_valid(db, &token.digest(), Timestamp::now()).await
}

pub async fn create_first_admin(
    services: &Services,
    token: &SecretToken,
    form: FirstAdmin<'_>,
    ip: Option<String>,
) -> DomainResult<UserId> {
    // The setup token is the secret; this keeps anyone from guessing at it, or from spending
    // argon2 work on it, without end.
    crate::throttle::admit(
        &services.db,
        crate::throttle::Gate::SetupFromAddress,
        ip.as_deref(),
    )
    .await?;
    let new = NewUser::new(
        form.username,
        form.display_name,
        form.email,
        Role::Administrator,
    )?;
    if !model::policy::confirms(form.password.as_str(), form.confirm.as_str()) {
        return Err(FieldError::new("confirm", model::policy::MISMATCH).into());
    }
    let ctx = PolicyContext {
        username: new.username.clone(),
        email: new.email.clone(),
        display_name: new.display_name.clone(),
    };
    services
        .security()
        .await?
        .policy()
        .check(form.password.as_str(), &ctx, &crate::blocklist::Shipped)
        .map_err(DomainError::Policy)?;
    let digest = services.hasher.hash(form.password).await?;

    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    // Consuming the token and checking for an administrator happen in the transaction that
    // creates one, so two tabs racing with the same link cannot both succeed.
    let consumed = store::setup::consume(&mut tx, &token.digest(), now).await?;
    if !consumed || users::count_administrators(&mut *tx).await? > 0 {
        return Err(DomainError::Conflict(
            "This setup link is no longer valid. Restart the server while no administrator \
             exists to get a new one."
                .into(),
        ));
    }
    let id = users::insert(&mut tx, &new, Some(&digest), now).await?;
    store::setup::delete_all(&mut tx).await?;
    let admin = Party {
        id: id.clone(),
        name: new.username.clone(),
    };
    audit::record(
        &mut *tx,
        &AuditEvent {
            at: now,
            actor: Some(admin.clone()),
            target: Some(admin),
            action: AuditAction::FirstAdministrator,
            outcome: Outcome::Success,
            ip,
            detail: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

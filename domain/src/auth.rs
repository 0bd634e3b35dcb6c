//! Signing in: one answer for every failure, the same argon2 work whether or not the account
//! exists, and a lock after repeated failures.

use model::fields::FieldError;
use model::policy::MAX_LENGTH_CEILING;
use model::settings::SecuritySettings;
use model::time::Timestamp;
use tracing::info;

use crate::Services;
use crate::audit::{self, AuditAction, AuditEvent, Outcome, Party};
use crate::credentials;
use crate::db::Tx;
use crate::error::{DomainError, DomainResult};
use crate::hashing::Password;
use crate::sessions::{self, ClientInfo, Purpose};
use crate::throttle::{self, Gate};
use crate::tokens::SecretToken;
use crate::users::{self, Lockout, User};

/// The last active administrator locks only after this many failures in a row: anyone who
/// knows the name could otherwise lock the only person who can unlock everyone. The address
/// limits stop a guesser long before, and a lock never blocks "Forgot your password?".
pub const LAST_ADMINISTRATOR_THRESHOLD: i64 = 100;

/// The lockout for `user`: the policy's (each lock in a row lasts longer, so a patient guesser
/// gets a few dozen tries a day, not hundreds), unless they are the last active administrator.
/// Read in the caller's transaction, which holds SQLite's write lock.
async fn lockout_of(
    tx: &mut Tx,
    user: &User,
    settings: &SecuritySettings,
) -> DomainResult<Lockout> {
    let lockout = Lockout::from(settings);
    if user.role == model::Role::Administrator
        && user.active
        && users::count_administrators(&mut **tx).await? <= 1
    {
        return Ok(Lockout {
            threshold: LAST_ADMINISTRATOR_THRESHOLD.max(lockout.threshold),
            ..lockout
        });
    }
    Ok(lockout)
}

/// Counts a failed password and, when it starts a lock, records the lock in the audit trail.
async fn record_failure(
    tx: &mut Tx,
    user: &User,
    settings: &SecuritySettings,
    client: &ClientInfo,
    now: Timestamp,
) -> DomainResult<()> {
    let lockout = lockout_of(tx, user, settings).await?;
    let Some(until) = users::record_failed_sign_in(tx, &user.id, lockout, now).await? else {
        return Ok(());
    };
    let me = Party {
        id: user.id.clone(),
        name: user.username.clone(),
    };
    let event = AuditEvent {
        at: now,
        actor: None,
        target: Some(me),
        action: AuditAction::AccountLocked,
        outcome: Outcome::Success,
        ip: client.ip.clone(),
        detail: Some(format!(
            "{} failed sign-ins in a row; locked until {until}",
            lockout.threshold
        )),
    };
    audit::record(&mut **tx, &event).await
}

pub struct SignedIn {
    pub token: SecretToken,
    pub user: User,
    pub purpose: Purpose,
}

/// Why a sign-in failed, for the audit trail only: the person is told the same thing each time.
fn refusal(user: &User, password_ok: bool, now: Timestamp) -> Option<&'static str> {
    if !user.active {
        Some("account disabled")
    } else if user.source == model::UserSource::External {
        Some("external account")
    } else if user.is_locked(now) {
        Some("account locked")
    } else if !password_ok {
        Some("wrong password")
    } else if user.password_expires_at.is_some_and(|at| at <= now) {
        Some("temporary password expired or already used")
    } else {
        None
    }
}

pub async fn sign_in(
    services: &Services,
    login_name: &str,
    password: &Password,
    client: &ClientInfo,
) -> DomainResult<SignedIn> {
    // Refused before any hashing: an enormous password would otherwise buy an attacker a
    // costly argon2 run per request. The bound is the largest maximum a policy may set, so a
    // password set under an earlier, longer maximum still signs in.
    let raw = password.as_str();
    if raw.is_empty() || raw.len() > MAX_LENGTH_CEILING * 4 {
        return Err(DomainError::Unauthenticated);
    }
    // In a storm, turned away before the rate-limit writes and the account read.
    services.hasher.ensure_room()?;
    // Limited before any argon2 work, and the same way whether or not the account exists.
    let address = client.ip.as_deref();
    throttle::check(&services.db, Gate::FailuresFromAddress, address).await?;
    throttle::admit_all(
        &services.db,
        &[
            (Gate::SignInFromAddress, address),
            (Gate::SignInToAccount, Some(login_name)),
        ],
    )
    .await?;
    let user = users::find_by_login_name(&services.db, login_name).await?;
    let password_ok = services
        .hasher
        .verify(
            password,
            user.as_ref().and_then(|u| u.password_hash.as_ref()),
        )
        .await?;
    let now = Timestamp::now();
    let Some(user) = user else {
        throttle::record(&services.db, Gate::FailuresFromAddress, address).await?;
        info!("sign-in failed: unknown account");
        return Err(DomainError::Unauthenticated);
    };
    let target = Party {
        id: user.id.clone(),
        name: user.username.clone(),
    };
    let refused = refusal(&user, password_ok, now);
    if refused.is_some() {
        // Outside the transaction: it is a write of its own.
        throttle::record(&services.db, Gate::FailuresFromAddress, address).await?;
    }
    let settings = services.security().await?;
    let mut tx = services.db.begin().await?;
    if let Some(reason) = refused {
        if reason == "wrong password" {
            record_failure(&mut tx, &user, &settings, client, now).await?;
        }
        audit::record(
            &mut *tx,
            &AuditEvent {
                at: now,
                actor: None,
                target: Some(target),
                action: AuditAction::SignIn,
                outcome: Outcome::Failure,
                ip: client.ip.clone(),
                detail: Some(reason.to_owned()),
            },
        )
        .await?;
        tx.commit().await?;
        info!(reason, "sign-in refused");
        return Err(DomainError::Unauthenticated);
    }
    // With the user's row locked, a reset cannot commit between the re-read below and this
    // sign-in's commit: either the reset sees this session and ends it, or this sign-in sees
    // the reset and is refused. Everything the session depends on is read from the re-read
    // row: a Force Password Reset that committed during the argon2 check leaves the hash
    // alone but must still restrict this session.
    users::lock_row(&mut tx, &user.id).await?;
    users::clear_failed_sign_ins(&mut tx, &user.id, now).await?;
    // The row must still be the one the password was checked against, temporary-password
    // expiry included: a concurrent sign-in that spent the temporary password changed it.
    let current = users::get(&mut *tx, &user.id).await?;
    let Some(user) = current.filter(|c| {
        c.password_hash == user.password_hash
            && c.active
            && c.password_expires_at == user.password_expires_at
    }) else {
        info!("sign-in refused: the account changed while the password was being checked");
        return Err(DomainError::Unauthenticated);
    };
    let purpose = if user.must_change_password {
        Purpose::PasswordChange
    } else {
        Purpose::Full
    };
    if let Some(expires_at) = user.password_expires_at
        && !credentials::spend_temporary_password(&mut tx, &user.id, expires_at, now).await?
    {
        info!("sign-in refused: temporary password already used");
        return Err(DomainError::Unauthenticated);
    }
    let token =
        sessions::create(&mut tx, &user.id, purpose, &(&settings).into(), client, now).await?;
    audit::record(
        &mut *tx,
        &AuditEvent {
            at: now,
            actor: Some(target.clone()),
            target: Some(target),
            action: AuditAction::SignIn,
            outcome: Outcome::Success,
            ip: client.ip.clone(),
            detail: (purpose == Purpose::PasswordChange)
                .then(|| "password change required".to_owned()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(SignedIn {
        token,
        user,
        purpose,
    })
}

/// Sudo mode: the signed-in person types their password again, and for
/// [`crate::authority::CONFIRMATION_MINUTES`] this session may do the dangerous operations.
/// A wrong password counts as a failed sign-in, so a stolen session cannot guess it freely.
pub async fn confirm_password(
    services: &Services,
    token: &SecretToken,
    password: &Password,
    client: &ClientInfo,
) -> DomainResult<()> {
    let now = Timestamp::now();
    let settings = services.security().await?;
    let session = sessions::authenticate(&services.db, token, &(&settings).into(), now)
        .await?
        .ok_or(DomainError::Unauthenticated)?;
    let user = &session.user;
    // The lock stops a guesser too, but the last administrator locks only after a hundred.
    throttle::admit(&services.db, Gate::SignInToAccount, Some(&user.username)).await?;
    let me = Party {
        id: user.id.clone(),
        name: user.username.clone(),
    };
    if session.purpose != Purpose::Full {
        let reason = "the session may only set a new password";
        audit::record_refused_request(
            &services.db,
            me,
            client.ip.clone(),
            "confirm password",
            reason,
        )
        .await;
        return Err(DomainError::Forbidden);
    }
    let too_long = password.as_str().len() > MAX_LENGTH_CEILING * 4;
    let ok = !too_long
        && !user.is_locked(now)
        && services
            .hasher
            .verify(password, user.password_hash.as_ref())
            .await?;
    let mut tx = services.db.begin().await?;
    if ok {
        sessions::mark_verified(&mut tx, token, now).await?;
    } else if !user.is_locked(now) {
        record_failure(&mut tx, user, &settings, client, now).await?;
    }
    let event = AuditEvent {
        at: now,
        actor: Some(me.clone()),
        target: Some(me),
        action: AuditAction::PasswordConfirmed,
        outcome: if ok {
            Outcome::Success
        } else {
            Outcome::Failure
        },
        ip: client.ip.clone(),
        detail: (!ok).then(|| "wrong password or account locked".to_owned()),
    };
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    if ok {
        Ok(())
    } else if user.is_locked(now) {
        Err(DomainError::Conflict(
            "Your account is locked after too many failed attempts. Try again later.".into(),
        ))
    } else {
        Err(FieldError::new("password", "That is not your password.").into())
    }
}

/// Ends the session a token names and records it.
pub async fn sign_out(
    services: &Services,
    token: &SecretToken,
    user: &User,
    client: &ClientInfo,
) -> DomainResult<()> {
    sessions::revoke(&services.db, token).await?;
    let me = Party {
        id: user.id.clone(),
        name: user.username.clone(),
    };
    audit::record(
        services.db.pool(),
        &AuditEvent {
            at: Timestamp::now(),
            actor: Some(me.clone()),
            target: Some(me),
            action: AuditAction::SignOut,
            outcome: Outcome::Success,
            ip: client.ip.clone(),
            detail: None,
        },
    )
    .await
}

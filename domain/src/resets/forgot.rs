//! "Forgot your password?": a link the user asks for, answered the same way for every
//! account or none.

use model::reset::ResetKind;
use model::time::Timestamp;

use super::status;
use crate::Services;
use crate::audit::{self, AuditAction, AuditEvent};
use crate::credentials::{party, void_user_requested};
use crate::emails;
use crate::error::{DomainError, DomainResult};
use crate::hashing::Password;
use crate::sessions::ClientInfo;
use crate::store::{self, outbox};
use crate::throttle::{self, Gate};
use crate::tokens::SecretToken;
use crate::users;

/// The shortest time a "Forgot your password?" request takes, whatever the account: the
/// answer's timing must not tell an attacker whether it exists.
const FORGOT_FLOOR: std::time::Duration = std::time::Duration::from_millis(600);

/// "Forgot your password?": emails a link to the address stored for the account named by
/// `login_name` (username or email), if there is an active, local account with an address, no
/// administrator's reset is outstanding for it (a stranger must not be able to void what the
/// helpdesk sent), and no link was sent to it in the last 15 minutes. The current password keeps
/// working.
///
/// The work runs in the background and the caller is answered after a fixed time, whatever
/// the account: neither the answer, its timing, nor a database error tells whether it exists.
/// Refused only when the address or the typed name has asked too often, which is counted the
/// same way for every name.
pub async fn request_by_user(
    services: &Services,
    login_name: &str,
    client: &ClientInfo,
) -> DomainResult<()> {
    throttle::admit_all(
        &services.db,
        &[
            (Gate::ForgotFromAddress, client.ip.as_deref()),
            (Gate::ForgotForAccount, Some(login_name)),
        ],
    )
    .await?;
    let answer_at = tokio::time::Instant::now() + FORGOT_FLOOR;
    let (services, login_name, client) = (services.clone(), login_name.to_owned(), client.clone());
    let work = tokio::spawn(async move {
        if let Err(e) = process_request(&services, &login_name, &client).await {
            tracing::warn!(error = %e, "a password reset request could not be handled");
        }
    });
    // Usually done well before the answer is due; if not, it goes on in the background.
    let _ = tokio::time::timeout_at(answer_at, work).await;
    tokio::time::sleep_until(answer_at).await;
    Ok(())
}

/// The work behind [`request_by_user`], without its fixed answer time: for tests, which must
/// see the outcome rather than the answer.
#[cfg(feature = "test-support")]
pub async fn handle_request(
    services: &Services,
    login_name: &str,
    client: &ClientInfo,
) -> DomainResult<()> {
    process_request(services, login_name, client).await
}

async fn process_request(
    services: &Services,
    login_name: &str,
    client: &ClientInfo,
) -> DomainResult<()> {
    let user = users::find_by_login_name(&services.db, login_name).await?;
    // The same argon2 work on every path, as for a sign-in.
    services
        .hasher
        .verify(&Password::new(login_name), None)
        .await?;
    let Some(user) =
        user.filter(|u| u.active && u.source == model::UserSource::Local && u.email.is_some())
    else {
        tracing::info!("password reset requested for no eligible account");
        return Ok(());
    };
    let now = Timestamp::now();
    if let Some(latest) = status(&services.db, &user.id).await?
        && latest.is_outstanding(now)
    {
        // Anyone may type a username here; only the helpdesk may undo what the helpdesk sent.
        if latest.created_by.is_some() {
            tracing::info!("password reset requested while an administrator's is outstanding");
            return Ok(());
        }
        if !latest.may_resend(now) {
            tracing::info!("password reset requested again within the cooldown; not sent");
            return Ok(());
        }
    }
    let link_minutes = services.security().await?.link_minutes;
    let mut tx = services.db.begin().await?;
    let token = SecretToken::generate();
    let expires_at = now.plus_seconds(link_minutes * 60);
    let link = services.reset_url(&token);
    // Checked above, but an administrator may have reset meanwhile: theirs stays, and the
    // index that allows one open reset per user then refuses this one.
    void_user_requested(&mut tx, &user.id, "superseded by a newer request", now).await?;
    let email = emails::requested_link(&user, &link, expires_at)
        .ok_or_else(|| DomainError::Internal("no address after the check".into()))?;
    let email_id = outbox::enqueue(&mut tx, &services.keys, &email, now).await?;
    store::resets::insert(
        &mut tx,
        store::resets::NewReset {
            user: &user.id,
            kind: ResetKind::Link,
            token: Some(token.digest()),
            actor: None,
            expires_at,
            email_id: Some(email_id),
            invalidated_password: false,
        },
        now,
    )
    .await?;
    let event = AuditEvent {
        at: now,
        actor: None,
        target: Some(party(&user)),
        action: AuditAction::ResetRequested,
        outcome: audit::Outcome::Success,
        ip: client.ip.clone(),
        detail: Some("link emailed to the address on file".into()),
    };
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    services.mail.wake();
    Ok(())
}

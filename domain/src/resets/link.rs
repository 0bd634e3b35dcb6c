//! The end user's side of a link: looked up without being spent, then spent once by the
//! reset page's form.

use model::time::Timestamp;
use sqlx::{Any, Executor};

use crate::Services;
use crate::audit::{self, AuditAction, AuditEvent, Outcome};
use crate::credentials::{
    NewPasswordState, check_new_password, load, party, refuse_reuse, write_password,
};
use crate::emails;
use crate::error::{DomainError, DomainResult};
use crate::hashing::Password;
use crate::sessions::{self, ClientInfo};
use crate::store::{self, outbox};
use crate::tokens::SecretToken;
use crate::users::{self, User};

/// What the reset page may show about the link's holder before they choose a password.
#[derive(Clone, Debug)]
pub struct LinkHolder {
    pub user: User,
    pub expires_at: Timestamp,
}

/// Looks a link up without consuming it: opening the page (or a mail scanner's GET or HEAD)
/// leaves it usable. `None` for an unknown, used, voided or expired link alike.
pub async fn check_link<'e, E>(
    executor: E,
    token: &SecretToken,
    now: Timestamp,
) -> DomainResult<Option<LinkHolder>>
where
    E: Executor<'e, Database = Any> + Copy,
{
    let Some((user_id, expires_at)) =
        store::resets::find_valid_link(executor, &token.digest(), now).await?
    else {
        return Ok(None);
    };
    let user = users::get(executor, &user_id).await?;
    Ok(user
        .filter(|u| u.active && u.source == model::UserSource::Local)
        .map(|user| LinkHolder { user, expires_at }))
}

/// Records a followed link: `opened` when it still works, `refused` (saying why) when it was
/// used, revoked or has expired, so an administrator sees whether the email arrived and was
/// acted on. A token that matches no link names nobody and is not recorded.
pub async fn record_opened(
    services: &Services,
    token: &SecretToken,
    ip: Option<String>,
) -> DomainResult<()> {
    let now = Timestamp::now();
    let Some((user_id, state)) =
        store::resets::link_state(&services.db, &token.digest(), now).await?
    else {
        return Ok(());
    };
    let Some(user) = users::get(services.db.pool(), &user_id).await? else {
        return Ok(());
    };
    let (action, outcome, detail) = if state == "valid" {
        (AuditAction::ResetLinkOpened, Outcome::Success, None)
    } else {
        (
            AuditAction::ResetLinkRefused,
            Outcome::Failure,
            Some(state.to_owned()),
        )
    };
    let event = AuditEvent {
        at: now,
        actor: None,
        target: Some(party(&user)),
        action,
        outcome,
        ip,
        detail,
    };
    audit::record(services.db.pool(), &event).await
}

/// The POST of the reset page: the only thing that consumes a link. The new password is
/// checked before the link is spent, so a typo costs nothing; then one conditional update
/// decides which of any racing requests wins.
pub async fn complete_link(
    services: &Services,
    token: &SecretToken,
    password: &Password,
    confirm: &Password,
    client: &ClientInfo,
) -> DomainResult<()> {
    let holder = check_link(services.db.pool(), token, Timestamp::now())
        .await?
        .ok_or(DomainError::LinkInvalid)?;
    let settings = services.security().await?;
    check_new_password(&settings, &holder.user, password, confirm).await?;
    refuse_reuse(services, &settings, &holder.user, password).await?;
    let digest = services.hasher.hash(password).await?;

    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    let Some(user_id) = store::resets::consume_link(&mut tx, &token.digest(), now).await? else {
        return Err(DomainError::LinkInvalid);
    };
    let user = load(&mut tx, &user_id).await?;
    if !user.active || user.source != model::UserSource::Local {
        return Err(DomainError::LinkInvalid);
    }
    write_password(
        &mut tx,
        &user.id,
        &digest,
        NewPasswordState::FINAL,
        &settings,
        now,
    )
    .await?;
    let ended = sessions::revoke_all_for_user(&mut tx, &user.id).await?;
    if let Some(email) = emails::password_changed(&*services.templates().await?, &user, now) {
        outbox::enqueue(&mut tx, &services.keys, &email, now).await?;
    }
    let event = AuditEvent::success(
        now,
        AuditAction::ResetCompleted,
        party(&user),
        party(&user),
        client.ip.clone(),
    );
    let detail = format!("set through a password change link; {ended} session(s) ended");
    audit::record(&mut *tx, &event.with_detail(Some(detail))).await?;
    tx.commit().await?;
    services.mail.wake();
    Ok(())
}

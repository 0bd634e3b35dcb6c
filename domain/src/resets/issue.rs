//! Issuing resets: Send Password Change Link and Copy link, Generate Temporary Password and
//! Generate New Password, Revoke and Resend Email on the status card.

use model::bulk::SkipReason;
use model::eligibility::{Operation, refusal};
use model::reset::ResetKind;
use model::secret::Secret;
use model::time::Timestamp;
use model::user::UserId;

use super::{IssuedLink, LinkDelivery, LinkRequest, ResetSettings, TemporaryPassword, status};
use crate::Services;
use crate::audit::{self, AuditAction, AuditEvent};
use crate::authority::Actor;
use crate::credentials::{
    NewPasswordState, end_sessions_and_record, end_sessions_and_record_each, load, must_apply,
    notify_owner, notify_owners, party, policy_context, remember_current_of, target_of,
    void_outstanding, void_outstanding_of, write_password,
};
use crate::db::Tx;
use crate::emails::{self, CredentialChange};
use crate::error::{DomainError, DomainResult};
use crate::generate::readable_password;
use crate::store::{self, outbox};
use crate::tokens::SecretToken;
use crate::users::{self, User};

/// Send Password Change Link (or Copy link).
pub async fn send_link(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    request: LinkRequest,
) -> DomainResult<IssuedLink> {
    let result = try_send_link(services, actor, target, request).await;
    audit::audited(
        &services.db,
        actor,
        Some(target),
        AuditAction::ResetLinkIssued,
        result,
    )
    .await
}

/// The steps, unaudited: the public function records how they ended.
async fn try_send_link(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    request: LinkRequest,
) -> DomainResult<IssuedLink> {
    model::reset::check_link_minutes(request.minutes)?;
    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    let user = load(&mut tx, target).await?;
    let emailed = request.delivery == LinkDelivery::Email;
    must_apply(actor, Operation::IssueReset { emailed }, &user)?;
    let text = LinkText::Reset { note: "" };
    let issued = issue_link(&mut tx, services, actor, &user, request, text, now).await?;
    tx.commit().await?;
    if issued.email_id.is_some() || issued.notified {
        services.mail.wake();
    }
    Ok(IssuedLink {
        expires_at: issued.expires_at,
        link: (request.delivery == LinkDelivery::Shown).then_some(issued.link),
    })
}

/// Which text an emailed link goes out with, and what the audit row adds to its note.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkText<'a> {
    /// Send Password Change Link (and Bulk Change, with its note).
    Reset { note: &'a str },
    /// Add user's welcome email: the person's first password.
    Welcome,
}

pub(crate) struct LinkInTx {
    pub link: Secret,
    pub expires_at: Timestamp,
    pub email_id: Option<String>,
    /// A notice of the change was queued (besides the link's own email, if any).
    pub notified: bool,
}

/// A link, inside the caller's transaction, for a user already checked as resettable: earlier
/// resets voided, the password killed if asked, the email queued, the reset recorded, every
/// session ended and one audit event written.
pub(crate) async fn issue_link(
    tx: &mut Tx,
    services: &Services,
    actor: &Actor,
    user: &User,
    request: LinkRequest,
    text: LinkText<'_>,
    now: Timestamp,
) -> DomainResult<LinkInTx> {
    let issued = issue_links(
        tx,
        services,
        actor,
        std::slice::from_ref(user),
        request,
        text,
        now,
    )
    .await?;
    issued
        .into_iter()
        .next()
        .ok_or_else(|| DomainError::Internal("a link was not issued".into()))
}

/// The same steps for many users already checked, a few statements in all: Bulk Change's
/// batch. One link per user, in order.
pub(crate) async fn issue_links(
    tx: &mut Tx,
    services: &Services,
    actor: &Actor,
    users: &[User],
    request: LinkRequest,
    text: LinkText<'_>,
    now: Timestamp,
) -> DomainResult<Vec<LinkInTx>> {
    let ids: Vec<UserId> = users.iter().map(|u| u.id.clone()).collect();
    void_outstanding_of(tx, &ids, "superseded by a newer reset", now).await?;
    if request.invalidate_password {
        // The password removed (perhaps a compromised one) may not come back through the link.
        let settings = services.security().await?;
        let keep = settings.password_history;
        remember_current_of(tx, &ids, &settings, keep, now).await?;
        users::invalidate_passwords(tx, &ids, now).await?;
    }
    users::clear_failed_sign_ins_of(tx, &ids, now).await?;

    let expires_at = now.plus_seconds(request.minutes * 60);
    let tokens: Vec<SecretToken> = users.iter().map(|_| SecretToken::generate()).collect();
    let links: Vec<String> = tokens.iter().map(|t| services.reset_url(t)).collect();
    let email_ids: Vec<Option<String>> = match request.delivery {
        LinkDelivery::Email => {
            let templates = services.templates().await?;
            let emails = users
                .iter()
                .zip(&links)
                .map(|(user, link)| {
                    match text {
                        LinkText::Reset { .. } => {
                            emails::reset_link(&templates, user, link, expires_at)
                        }
                        LinkText::Welcome => {
                            emails::welcome_link(&templates, user, link, expires_at)
                        }
                    }
                    .ok_or_else(|| DomainError::Internal("no address after the check".into()))
                })
                .collect::<DomainResult<Vec<_>>>()?;
            let ids = outbox::enqueue_all(tx, &services.keys, &emails, now).await?;
            ids.into_iter().map(Some).collect()
        }
        LinkDelivery::Shown => vec![None; users.len()],
    };
    let resets: Vec<store::resets::NewReset> = users
        .iter()
        .zip(&tokens)
        .zip(&email_ids)
        .map(|((user, token), email_id)| store::resets::NewReset {
            user: &user.id,
            kind: ResetKind::Link,
            token: Some(token.digest()),
            actor: Some(actor),
            expires_at,
            email_id: email_id.clone(),
            invalidated_password: request.invalidate_password,
        })
        .collect();
    store::resets::insert_all(tx, &resets, now).await?;
    let note = link_note(request, text);
    end_sessions_and_record_each(tx, actor, users, AuditAction::ResetLinkIssued, &note, now)
        .await?;
    // An emailed link tells the user itself; a link handed over by the helpdesk that killed
    // the password does not.
    let notify = request.delivery == LinkDelivery::Shown && request.invalidate_password;
    let change = CredentialChange::PasswordInvalidated;
    let notified =
        notify && notify_owners(tx, &services.keys, actor, users, change, now).await? > 0;
    Ok(links
        .into_iter()
        .zip(email_ids)
        .map(|(link, email_id)| LinkInTx {
            link: Secret::new(link),
            expires_at,
            email_id,
            notified,
        })
        .collect())
}

/// What the audit row of an issued link says of it.
fn link_note(request: LinkRequest, text: LinkText<'_>) -> String {
    let note_suffix = match text {
        LinkText::Reset { note } => note,
        LinkText::Welcome => "welcome email",
    };
    format!(
        "{}; valid {} min; {}{note_suffix}",
        match request.delivery {
            LinkDelivery::Email => "link emailed",
            LinkDelivery::Shown => "link shown to administrator",
        },
        request.minutes,
        if request.invalidate_password {
            "current password invalidated; "
        } else {
            "current password kept until the link is used; "
        }
    )
}

/// Generate Temporary Password: shown once to the administrator, and optionally emailed.
pub async fn generate_temporary(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    email_user: bool,
) -> DomainResult<TemporaryPassword> {
    let result = try_generate_temporary(services, actor, target, email_user).await;
    audit::audited(
        &services.db,
        actor,
        Some(target),
        AuditAction::TemporaryPassword,
        result,
    )
    .await
}

/// The steps, unaudited: the public function records how they ended.
async fn try_generate_temporary(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    email_user: bool,
) -> DomainResult<TemporaryPassword> {
    let kind = ResetKind::TemporaryPassword;
    issue_generated(services, actor, target, kind, email_user).await
}

/// Generate New Password: emailed to the user, never shown to the administrator.
pub async fn generate_emailed(
    services: &Services,
    actor: &Actor,
    target: &UserId,
) -> DomainResult<Timestamp> {
    let result = try_generate_emailed(services, actor, target).await;
    audit::audited(
        &services.db,
        actor,
        Some(target),
        AuditAction::GeneratedPassword,
        result,
    )
    .await
}

/// The steps, unaudited: the public function records how they ended.
async fn try_generate_emailed(
    services: &Services,
    actor: &Actor,
    target: &UserId,
) -> DomainResult<Timestamp> {
    ResetSettings::from(&services.security().await?).may_email_passwords()?;
    let kind = ResetKind::EmailedPassword;
    let issued = issue_generated(services, actor, target, kind, true).await?;
    Ok(issued.expires_at)
}

async fn issue_generated(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    kind: ResetKind,
    email_user: bool,
) -> DomainResult<TemporaryPassword> {
    let user = users::get(services.db.pool(), target)
        .await?
        .ok_or(DomainError::NotFound)?;
    let operation = Operation::IssueReset {
        emailed: email_user,
    };
    must_apply(actor, operation, &user)?;
    let settings = services.security().await?;
    if email_user {
        ResetSettings::from(&settings).may_email_passwords()?;
    }
    let password = readable_password(&settings.policy(), &policy_context(&user));
    let digest = services.hasher.hash(&password).await?;

    let now = Timestamp::now();
    let expires_at = now.plus_seconds(settings.temporary_password_hours * 3600);
    let mut tx = services.db.begin().await?;
    let user = load(&mut tx, target).await?;
    must_apply(actor, operation, &user)?;
    let state = NewPasswordState {
        must_change: true,
        expires_at: Some(expires_at),
    };
    write_password(&mut tx, target, &digest, state, &settings, now).await?;
    let sign_in = format!("{}/login", services.public_url);
    let email_id = if email_user {
        let templates = services.templates().await?;
        let email = emails::access_info(&templates, &user, password.as_str(), &sign_in, expires_at)
            .ok_or_else(|| DomainError::Internal("no address after the check".into()))?;
        Some(outbox::enqueue(&mut tx, &services.keys, &email, now).await?)
    } else {
        None
    };
    store::resets::insert(
        &mut tx,
        store::resets::NewReset {
            user: target,
            kind,
            token: None,
            actor: Some(actor),
            expires_at,
            email_id: email_id.clone(),
            invalidated_password: true,
        },
        now,
    )
    .await?;
    let (action, note) = match (kind, email_user) {
        (ResetKind::EmailedPassword, _) => {
            (AuditAction::GeneratedPassword, "emailed to the user; ")
        }
        (_, true) => (
            AuditAction::TemporaryPassword,
            "shown once; access info emailed; ",
        ),
        (_, false) => (AuditAction::TemporaryPassword, "shown once; "),
    };
    end_sessions_and_record(&mut tx, actor, &user, action, note, now).await?;
    let notified = email_id.is_none()
        && notify_owner(
            &mut tx,
            &services.keys,
            actor,
            &user,
            CredentialChange::TemporaryPassword,
            now,
        )
        .await?;
    tx.commit().await?;
    if email_id.is_some() || notified {
        services.mail.wake();
    }
    Ok(TemporaryPassword {
        password: Secret::new(password.as_str()),
        expires_at,
    })
}

/// Revoke on the reset status card: the link or temporary password stops working now, and an
/// email not yet sent is withdrawn.
pub async fn revoke(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    reset_id: &str,
) -> DomainResult<()> {
    let result = try_revoke(services, actor, target, reset_id).await;
    audit::audited(
        &services.db,
        actor,
        Some(target),
        AuditAction::ResetRevoked,
        result,
    )
    .await
}

/// The steps, unaudited: the public function records how they ended.
async fn try_revoke(
    services: &Services,
    actor: &Actor,
    target: &UserId,
    reset_id: &str,
) -> DomainResult<()> {
    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    let user = load(&mut tx, target).await?;
    // Revoking only makes an account safer: it stays allowed on a disabled account, or once
    // a reset is pending; who may manage the user is the rule's to say.
    let manage = refusal(
        actor.role(),
        Operation::IssueReset { emailed: false },
        &target_of(actor, &user),
    );
    if let Some(reason @ (SkipReason::Yourself | SkipReason::External | SkipReason::NotPermitted)) =
        manage
    {
        return Err(match reason {
            SkipReason::NotPermitted => DomainError::Forbidden,
            _ => DomainError::Conflict(reason.sentence().into()),
        });
    }
    let Some(email_id) = store::resets::live_email_of(&mut tx, reset_id, target, now).await? else {
        return Err(DomainError::Conflict(
            "This reset has already been used, revoked or has expired.".into(),
        ));
    };
    if let Some(email_id) = email_id {
        outbox::cancel(&mut tx, &email_id, now).await?;
    }
    let reason = format!("revoked by {}", actor.username());
    void_outstanding(&mut tx, target, &reason, now).await?;
    let event = AuditEvent::success(
        now,
        AuditAction::ResetRevoked,
        actor.party(),
        party(&user),
        actor.ip().map(str::to_owned),
    );
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(())
}

/// Resend Email: a new link (the earlier one stops working), offered after the cooldown or at
/// once when the last email failed.
pub async fn resend(
    services: &Services,
    actor: &Actor,
    target: &UserId,
) -> DomainResult<IssuedLink> {
    let result = try_resend(services, actor, target).await;
    audit::audited(
        &services.db,
        actor,
        Some(target),
        AuditAction::ResetLinkIssued,
        result,
    )
    .await
}

/// The steps, unaudited: the public function records how they ended.
async fn try_resend(
    services: &Services,
    actor: &Actor,
    target: &UserId,
) -> DomainResult<IssuedLink> {
    let now = Timestamp::now();
    let latest = status(&services.db, target).await?;
    let Some((latest, at)) = latest.and_then(|r| r.resend_available_at(now).map(|at| (r, at)))
    else {
        return Err(DomainError::Conflict(
            "There is no emailed password change link to resend.".into(),
        ));
    };
    if at > now {
        return Err(DomainError::Conflict(format!(
            "The last email went out less than 15 minutes ago. Resend Email is available from \
             {at}."
        )));
    }
    let minutes = (latest.expires_at.millis() - latest.created_at.millis()) / 60_000;
    let request = LinkRequest {
        minutes: minutes.clamp(
            model::reset::LINK_MINUTES_MIN,
            model::reset::LINK_MINUTES_MAX,
        ),
        invalidate_password: latest.invalidated_password,
        delivery: LinkDelivery::Email,
    };
    send_link(services, actor, target, request).await
}

//! Add user: the account, and how the person first gets in, in one transaction.

use model::PolicyContext;
use model::fields::FieldError;
use model::people::{Access, access_refusal};
use model::reset::ResetKind;
use model::secret::Secret;
use model::time::Timestamp;
use model::user::{Permission, Role, UserId};

use super::{event_by, send_welcome};
use crate::Services;
use crate::audit::{self, AuditAction};
use crate::authority::Actor;
use crate::credentials::{NewPasswordState, write_password};
use crate::error::{DomainError, DomainResult};
use crate::generate::readable_password;
use crate::resets::TemporaryPassword;
use crate::store;
use crate::users::{self, NewUser};

/// The Add user form, as typed.
#[derive(Clone, Debug)]
pub struct NewPerson {
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    pub active: bool,
    pub access: Access,
    /// How long a welcome link works.
    pub link_minutes: i64,
}

/// What Add user hands back: the new id, and the temporary password to show once.
#[derive(Debug)]
pub struct Added {
    pub id: UserId,
    pub username: String,
    pub temporary: Option<TemporaryPassword>,
    /// When the welcome link expires, if one was queued.
    pub link_expires_at: Option<Timestamp>,
}

/// Add user. Administrators, with a recently confirmed password.
pub async fn add(services: &Services, actor: &Actor, person: NewPerson) -> DomainResult<Added> {
    let result = try_add(services, actor, person).await;
    audit::audited(&services.db, actor, None, AuditAction::UserCreated, result).await
}

/// Refuses a username or email another account has (ignoring case), naming the field.
async fn must_be_free(
    exec: impl sqlx::Executor<'_, Database = sqlx::Any>,
    new: &NewUser,
) -> DomainResult<()> {
    let (username_taken, email_taken) =
        users::taken(exec, Some(&new.username), new.email.as_deref(), None).await?;
    if username_taken {
        return Err(FieldError::new("username", "Another user already has that username.").into());
    }
    if email_taken {
        return Err(
            FieldError::new("email", "Another user already has that email address.").into(),
        );
    }
    Ok(())
}

/// Every field checked, in form order, each refusal naming its field; whether the name and
/// address are free is asked of the database between the fields and the way in.
async fn validate(services: &Services, person: &NewPerson) -> DomainResult<NewUser> {
    let mut new = NewUser::new(
        &person.username,
        &person.display_name,
        &person.email,
        person.role,
    )?;
    new.active = person.active;
    must_be_free(services.db.pool(), &new).await?;
    if let Some((field, reason)) = access_refusal(person.access, new.email.is_some(), person.active)
    {
        return Err(FieldError::new(field, reason).into());
    }
    if person.access == Access::WelcomeLink {
        model::reset::check_link_minutes(person.link_minutes)?;
    }
    Ok(new)
}

async fn try_add(services: &Services, actor: &Actor, person: NewPerson) -> DomainResult<Added> {
    actor.must_hold(Permission::UserManagement)?;
    actor.must_be_confirmed()?;
    let new = validate(services, &person).await?;
    let settings = services.security().await?;
    let temporary = if person.access == Access::TemporaryPassword {
        let ctx = PolicyContext {
            username: new.username.clone(),
            email: new.email.clone(),
            display_name: new.display_name.clone(),
        };
        let password = readable_password(&settings.policy(), &ctx);
        let digest = services.hasher.hash(&password).await?;
        Some((password, digest))
    } else {
        None
    };

    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    // Asked again where it counts: another administrator may have added them meanwhile.
    must_be_free(&mut *tx, &new).await?;
    let id = users::insert(&mut tx, &new, None, now).await?;
    let user = users::get(&mut *tx, &id)
        .await?
        .ok_or_else(|| DomainError::Internal("the new user vanished".into()))?;
    let event = event_by(actor, AuditAction::UserCreated, &user, now);
    let detail = format!(
        "{}; {}; {}",
        user.role.label(),
        if user.active { "active" } else { "inactive" },
        person.access.label()
    );
    audit::record(&mut *tx, &event.with_detail(Some(detail))).await?;

    let mut added = Added {
        id: id.clone(),
        username: user.username.clone(),
        temporary: None,
        link_expires_at: None,
    };
    match (person.access, temporary) {
        (Access::WelcomeLink, _) => {
            let minutes = person.link_minutes;
            let expires = send_welcome(&mut tx, services, actor, &user, minutes, now).await?;
            added.link_expires_at = Some(expires);
        }
        (Access::TemporaryPassword, Some((password, digest))) => {
            let expires_at = now.plus_seconds(settings.temporary_password_hours * 3600);
            let state = NewPasswordState {
                must_change: true,
                expires_at: Some(expires_at),
            };
            write_password(&mut tx, &id, &digest, state, &settings, now).await?;
            store::resets::insert(
                &mut tx,
                store::resets::NewReset {
                    user: &id,
                    kind: ResetKind::TemporaryPassword,
                    token: None,
                    actor: Some(actor),
                    expires_at,
                    email_id: None,
                    invalidated_password: true,
                },
                now,
            )
            .await?;
            added.temporary = Some(TemporaryPassword {
                password: Secret::new(password.as_str()),
                expires_at,
            });
        }
        _ => {}
    }
    tx.commit().await?;
    if added.link_expires_at.is_some() {
        services.mail.wake();
    }
    Ok(added)
}

//! Reset links, temporary and generated passwords, and their emails through a real SMTP server
//! on loopback, on SQLite and PostgreSQL.

mod common;

use common::*;
use domain::mail::{Mailer, RetryPolicy};
use domain::passwords::AfterSet;
use domain::resets::{self, LinkDelivery, LinkRequest};
use domain::sessions::Purpose;
use domain::smtp_sink::SmtpSink;
use domain::tokens::SecretToken;
use domain::{Db, DomainError, Password, Services, both_engines, passwords};
use model::reset::{DeliveryState, ResetKind};
use model::secret::Secret;
use model::time::Timestamp;
use model::user::{Role, UserId};
use std::time::Duration;

const LINK: LinkRequest = LinkRequest {
    minutes: 60,
    invalidate_password: true,
    delivery: LinkDelivery::Email,
};

/// Long enough that a deferred email is not retried within the same delivery round.
const RETRY_AFTER: Duration = Duration::from_millis(400);

fn mailer(s: &Services, port: u16) -> Mailer {
    let retry = RetryPolicy {
        max_attempts: 2,
        first_delay: RETRY_AFTER,
        factor: 1,
    };
    mailer_with(s, port, retry)
}

/// Sends the queued email through the sink and returns the link it carried.
async fn emailed_link(s: &Services, sink: &SmtpSink, to: &str) -> String {
    mailer(s, sink.port).deliver_due().await.unwrap();
    sink.wait_for_link(to)
        .await
        .reset_link()
        .expect("a reset link in the email")
}

fn token_of(link: &str) -> SecretToken {
    SecretToken::from_client(link.rsplit('/').next().unwrap())
}

async fn complete(s: &Services, token: &SecretToken, password: &str) -> Result<(), DomainError> {
    resets::complete_link(
        s,
        token,
        &Password::new(password),
        &Password::new(password),
        &client(),
    )
    .await
}

/// Moves a user's resets back past Resend Email's 15-minute cooldown.
async fn past_the_cooldown(s: &Services, id: &UserId) {
    sqlx::query("UPDATE password_resets SET created_at = $2 WHERE user_id = $1")
        .bind(&id.0)
        .bind(Timestamp::now().millis() - 16 * 60_000)
        .execute(s.db.pool())
        .await
        .unwrap();
}

async fn status(s: &Services, id: &UserId) -> model::reset::ResetStatus {
    resets::status(&s.db, id).await.unwrap().expect("a reset")
}

both_engines!(
    an_emailed_link_resets_once_and_ends_the_old_password,
    |db: Db| async move {
        let s = services(db);
        let sink = SmtpSink::start().await;
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        signs_in(&s, "ada", OLD).await;

        resets::send_link(&s, &admin, &ada, LINK).await.unwrap();
        assert_eq!(sessions_of(&s, &ada).await, 0);
        assert_eq!(
            signs_in(&s, "ada", OLD).await,
            None,
            "Invalidate current password now"
        );
        let link = emailed_link(&s, &sink, "ada@example.com").await;
        assert!(
            link.starts_with("https://latchkey.example.com/reset/"),
            "{link}"
        );
        assert_eq!(
            status(&s, &ada).await.email.unwrap().state,
            DeliveryState::Sent
        );

        // Looking at the link (the page's GET, a scanner's HEAD) does not spend it.
        let token = token_of(&link);
        for _ in 0..3 {
            assert!(
                resets::check_link(s.db.pool(), &token, Timestamp::now())
                    .await
                    .unwrap()
                    .is_some()
            );
        }
        complete(&s, &token, NEW).await.unwrap();
        assert!(matches!(
            complete(&s, &token, "another fine password 42").await,
            Err(DomainError::LinkInvalid)
        ));
        assert_eq!(signs_in(&s, "ada", NEW).await, Some(Purpose::Full));
        assert_eq!(last_action(&s).await.0, "sign_in");
        assert!(status(&s, &ada).await.used_at.is_some());
        // The owner hears of the change, and the trail records the delivery.
        mailer(&s, sink.port).deliver_due().await.unwrap();
        let notice = sink.wait_for("ada@example.com").await;
        assert!(notice.data.contains("Your password was changed"));
        assert_eq!(last_action(&s).await.0, "email.sent");
    }
);

both_engines!(
    without_invalidation_the_old_password_works_until_the_link_is_used,
    |db: Db| async move {
        let s = services(db);
        let sink = SmtpSink::start().await;
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        let keep = LinkRequest {
            invalidate_password: false,
            ..LINK
        };
        resets::send_link(&s, &admin, &ada, keep).await.unwrap();
        assert_eq!(signs_in(&s, "ada", OLD).await, Some(Purpose::Full));
        let link = emailed_link(&s, &sink, "ada@example.com").await;
        complete(&s, &token_of(&link), NEW).await.unwrap();
        assert_eq!(signs_in(&s, "ada", OLD).await, None);
    }
);

both_engines!(
    a_bad_new_password_leaves_the_link_usable,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        let shown = LinkRequest {
            delivery: LinkDelivery::Shown,
            ..LINK
        };
        let issued = resets::send_link(&s, &admin, &ada, shown).await.unwrap();
        let token = token_of(issued.link.as_ref().map(Secret::expose).unwrap());
        assert!(matches!(
            complete(&s, &token, "short").await,
            Err(DomainError::Policy(_))
        ));
        let mismatch = resets::complete_link(
            &s,
            &token,
            &Password::new(NEW),
            &Password::new("not the same at all 1234"),
            &client(),
        )
        .await;
        assert!(matches!(mismatch, Err(DomainError::Invalid(f)) if f.field == "confirm"));
        complete(&s, &token, NEW).await.unwrap();
    }
);

both_engines!(
    expired_superseded_and_tampered_links_are_all_just_invalid,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        let shown = LinkRequest {
            delivery: LinkDelivery::Shown,
            ..LINK
        };
        let link = |i: resets::IssuedLink| token_of(i.link.unwrap().expose());

        // Superseded by a newer link.
        let first = link(resets::send_link(&s, &admin, &ada, shown).await.unwrap());
        let second = link(resets::send_link(&s, &admin, &ada, shown).await.unwrap());
        assert!(matches!(
            complete(&s, &first, NEW).await,
            Err(DomainError::LinkInvalid)
        ));

        // Tampered: one character changed.
        let mut raw = second.expose().to_owned();
        let last = if raw.ends_with('A') { "B" } else { "A" };
        raw.replace_range(raw.len() - 1.., last);
        assert!(matches!(
            complete(&s, &SecretToken::from_client(&raw), NEW).await,
            Err(DomainError::LinkInvalid)
        ));

        // Expiry edge: a link is good strictly before expires_at.
        let at = status(&s, &ada).await.expires_at;
        let before = Timestamp(at.millis() - 1);
        assert!(
            resets::check_link(s.db.pool(), &second, before)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            resets::check_link(s.db.pool(), &second, at)
                .await
                .unwrap()
                .is_none()
        );
        sqlx::query("UPDATE password_resets SET expires_at = $1")
            .bind(Timestamp::now().millis() - 1)
            .execute(s.db.pool())
            .await
            .unwrap();
        assert!(matches!(
            complete(&s, &second, NEW).await,
            Err(DomainError::LinkInvalid)
        ));

        // Voided by any later password change.
        let third = link(resets::send_link(&s, &admin, &ada, shown).await.unwrap());
        let new = Password::new(NEW);
        passwords::set_password(&s, &admin, &ada, &new, &new, AfterSet::Keep)
            .await
            .unwrap();
        assert!(matches!(
            complete(&s, &third, "another fine password 42").await,
            Err(DomainError::LinkInvalid)
        ));
        assert_eq!(
            status(&s, &ada).await.void_reason.as_deref(),
            Some("password changed")
        );
    }
);

both_engines!(
    thirty_racing_requests_spend_a_link_once,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        let shown = LinkRequest {
            delivery: LinkDelivery::Shown,
            ..LINK
        };
        let issued = resets::send_link(&s, &admin, &ada, shown).await.unwrap();
        let raw = issued.link.unwrap().expose().to_owned();
        let attempts = (0..30).map(|i| {
            let s = s.clone();
            let token = token_of(&raw);
            tokio::spawn(async move {
                let password = format!("racing password number {i:02}");
                complete(&s, &token, &password).await.map(|()| password)
            })
        });
        let mut won = Vec::new();
        for attempt in attempts {
            match attempt.await.unwrap() {
                Ok(password) => won.push(password),
                Err(DomainError::LinkInvalid) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(won.len(), 1, "exactly one request may use the link");
        assert_eq!(signs_in(&s, "ada", &won[0]).await, Some(Purpose::Full));
    }
);

both_engines!(
    a_temporary_password_opens_one_restricted_session,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        let temp = resets::generate_temporary(&s, &admin, &ada, false)
            .await
            .unwrap();
        let temp = temp.password.expose().to_owned();
        assert_eq!(signs_in(&s, "ada", OLD).await, None);
        assert_eq!(status(&s, &ada).await.kind, ResetKind::TemporaryPassword);

        let signed = domain::auth::sign_in(&s, "ada", &Password::new(&temp), &client())
            .await
            .unwrap();
        assert_eq!(signed.purpose, Purpose::PasswordChange);
        assert!(status(&s, &ada).await.used_at.is_some());
        assert_eq!(
            signs_in(&s, "ada", &temp).await,
            None,
            "first use spends it"
        );

        // It cannot become the new password.
        let same = Password::new(&temp);
        let reuse = passwords::change_own(
            &s,
            &signed.user,
            Purpose::PasswordChange,
            None,
            &same,
            &same,
            &client(),
        )
        .await;
        assert!(matches!(reuse, Err(DomainError::Invalid(f)) if f.field == "password"));
        let new = Password::new(NEW);
        passwords::change_own(
            &s,
            &signed.user,
            Purpose::PasswordChange,
            None,
            &new,
            &new,
            &client(),
        )
        .await
        .unwrap();
        assert_eq!(signs_in(&s, "ada", NEW).await, Some(Purpose::Full));
    }
);

both_engines!(a_temporary_password_expires_unused, |db: Db| async move {
    let s = services(db);
    let admin = actor(&s, "admin", Role::Administrator).await;
    let ada = create(&s, "ada", Role::User).await;
    let temp = resets::generate_temporary(&s, &admin, &ada, false)
        .await
        .unwrap();
    sqlx::query("UPDATE users SET password_expires_at = $1 WHERE id = $2")
        .bind(Timestamp::now().millis() - 1)
        .bind(&ada.0)
        .execute(s.db.pool())
        .await
        .unwrap();
    assert_eq!(signs_in(&s, "ada", temp.password.expose()).await, None);
});

both_engines!(
    a_generated_password_is_emailed_never_returned,
    |db: Db| async move {
        let mut s = services(db);
        let sink = SmtpSink::start().await;
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        resets::generate_emailed(&s, &admin, &ada).await.unwrap();
        assert_eq!(
            signs_in(&s, "ada", OLD).await,
            None,
            "the old password is dead at once"
        );
        mailer(&s, sink.port).deliver_due().await.unwrap();
        let email = sink.wait_for("ada@example.com").await.text();
        let password = email
            .lines()
            .find_map(|l| l.strip_prefix("Temporary password: "))
            .expect("the password in the email")
            .trim()
            .to_owned();
        assert_eq!(
            signs_in(&s, "ada", &password).await,
            Some(Purpose::PasswordChange)
        );
        // Delivered, so the outbox no longer holds it.
        let (body,): (Option<String>,) = sqlx::query_as("SELECT body FROM email_outbox")
            .fetch_one(s.db.pool())
            .await
            .unwrap();
        assert_eq!(body, None);

        s.settings = domain::settings::Live::new(domain::settings::EnvOverrides::fixed(&[(
            "allow_emailed_passwords",
            false.into(),
        )]));
        assert!(matches!(
            resets::generate_emailed(&s, &admin, &ada).await,
            Err(DomainError::Conflict(_))
        ));
    }
);

both_engines!(
    smtp_answers_decide_between_retry_and_failure,
    |db: Db| async move {
        let s = services(db);
        let sink = SmtpSink::start().await;
        let admin = actor(&s, "admin", Role::Administrator).await;
        for name in ["tempfail", "permfail"] {
            let id = create(&s, name, Role::User).await;
            resets::send_link(&s, &admin, &id, LINK).await.unwrap();
        }
        let temp = UserId(
            sqlx::query_as::<_, (String,)>("SELECT id FROM users WHERE username = 'tempfail'")
                .fetch_one(s.db.pool())
                .await
                .unwrap()
                .0,
        );
        let perm = UserId(
            sqlx::query_as::<_, (String,)>("SELECT id FROM users WHERE username = 'permfail'")
                .fetch_one(s.db.pool())
                .await
                .unwrap()
                .0,
        );
        let mailer = mailer(&s, sink.port);
        mailer.deliver_due().await.unwrap();

        let deferred = status(&s, &temp).await.email.unwrap();
        assert_eq!(deferred.state, DeliveryState::Queued, "4xx is retried");
        assert!(deferred.last_error.unwrap().contains("451"));
        let failed = status(&s, &perm).await.email.unwrap();
        assert_eq!(failed.state, DeliveryState::Failed, "5xx is not retried");
        assert!(failed.last_error.unwrap().contains("550"));
        // A failed email makes Resend Email available at once.
        assert!(status(&s, &perm).await.may_resend(Timestamp::now()));

        // The second (last) attempt of the temporary failure, once due, gives up visibly.
        let given_up = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if mailer.deliver_due().await.unwrap() > 0 {
                    return status(&s, &temp).await.email.unwrap();
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the retry came due");
        assert_eq!(given_up.state, DeliveryState::Failed);
        assert_eq!(given_up.attempts, 2);
        assert!(sink.received().is_empty());
    }
);

both_engines!(
    an_unreachable_server_is_a_temporary_failure,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        resets::send_link(&s, &admin, &ada, LINK).await.unwrap();
        // Nothing listens on port 9 of loopback: connection refused.
        mailer(&s, 9).deliver_due().await.unwrap();
        let email = status(&s, &ada).await.email.unwrap();
        assert_eq!(email.state, DeliveryState::Queued);
        assert!(email.last_error.is_some());
    }
);

both_engines!(refused_requests_change_nothing, |db: Db| async move {
    let s = services(db);
    let admin = actor(&s, "admin", Role::Administrator).await;
    let ada = create(&s, "ada", Role::User).await;
    let too_short = LinkRequest { minutes: 4, ..LINK };
    assert!(matches!(
        resets::send_link(&s, &admin, &ada, too_short).await,
        Err(DomainError::Invalid(f)) if f.field == "minutes"
    ));
    sqlx::query("UPDATE users SET email = NULL, email_key = NULL WHERE id = $1")
        .bind(&ada.0)
        .execute(s.db.pool())
        .await
        .unwrap();
    assert!(matches!(
        resets::send_link(&s, &admin, &ada, LINK).await,
        Err(DomainError::Conflict(_))
    ));
    sqlx::query("UPDATE users SET active = 0 WHERE id = $1")
        .bind(&ada.0)
        .execute(s.db.pool())
        .await
        .unwrap();
    let shown = LinkRequest {
        delivery: LinkDelivery::Shown,
        ..LINK
    };
    assert!(matches!(
        resets::send_link(&s, &admin, &ada, shown).await,
        Err(DomainError::Conflict(_))
    ));
    let helpdesk = actor(&s, "helpdesk", Role::PasswordManager).await;
    let boss = create(&s, "boss", Role::Administrator).await;
    assert!(matches!(
        resets::send_link(&s, &helpdesk, &boss, LINK).await,
        Err(DomainError::Forbidden)
    ));
    assert!(resets::status(&s.db, &ada).await.unwrap().is_none());
    let (queued,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM email_outbox")
        .fetch_one(s.db.pool())
        .await
        .unwrap();
    assert_eq!(queued, 0);
    assert_eq!(signs_in(&s, "boss", OLD).await, Some(Purpose::Full));
});

both_engines!(
    revoke_withdraws_the_email_and_kills_the_link,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        let keep = LinkRequest {
            invalidate_password: false,
            ..LINK
        };
        resets::send_link(&s, &admin, &ada, keep).await.unwrap();
        let reset = status(&s, &ada).await;
        resets::revoke(&s, &admin, &ada, &reset.id).await.unwrap();
        let after = status(&s, &ada).await;
        assert!(after.voided_at.is_some());
        assert_eq!(after.email.unwrap().state, DeliveryState::Cancelled);
        assert_eq!(last_action(&s).await.0, "password.reset_revoked");
        assert!(matches!(
            resets::revoke(&s, &admin, &ada, &reset.id).await,
            Err(DomainError::Conflict(_))
        ));
        // Resend is refused within the cooldown, unless the last one failed.
        resets::send_link(&s, &admin, &ada, keep).await.unwrap();
        assert!(matches!(
            resets::resend(&s, &admin, &ada).await,
            Err(DomainError::Conflict(_))
        ));
    }
);

both_engines!(
    email_password_to_user_sends_it_and_forces_a_change,
    |db: Db| async move {
        let s = services(db);
        let sink = SmtpSink::start().await;
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        let new = Password::new(NEW);
        passwords::set_password(&s, &admin, &ada, &new, &new, AfterSet::EmailAndMustReset)
            .await
            .unwrap();
        mailer(&s, sink.port).deliver_due().await.unwrap();
        let email = sink.wait_for("ada@example.com").await.text();
        assert!(email.contains(&format!("Password: {NEW}")), "{email}");
        // No reset card covers this email: the panel's email list shows where it went.
        let listed = domain::outbox::recent_for_user(s.db.pool(), &ada, 5)
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].status.state, DeliveryState::Sent);
        assert_eq!(listed[0].status.to, "ada@example.com");
        assert_eq!(
            signs_in(&s, "ada", NEW).await,
            Some(Purpose::PasswordChange)
        );

        let set = |after| {
            let (s, admin, ada) = (s.clone(), admin.clone(), ada.clone());
            async move {
                let other = Password::new("another fine password 42");
                passwords::set_password(&s, &admin, &ada, &other, &other, after).await
            }
        };
        // A disabled account is refused any password change (the eligibility rule)...
        sqlx::query("UPDATE users SET active = 0 WHERE id = $1")
            .bind(&ada.0)
            .execute(s.db.pool())
            .await
            .unwrap();
        assert!(matches!(
            set(AfterSet::EmailAndMustReset).await,
            Err(DomainError::Conflict(m)) if m.contains("disabled")
        ));
        assert!(matches!(
            set(AfterSet::Keep).await,
            Err(DomainError::Conflict(_))
        ));
        // ...and without an address only the emailing is refused, beside its check box.
        sqlx::query("UPDATE users SET active = 1, email = NULL, email_key = NULL WHERE id = $1")
            .bind(&ada.0)
            .execute(s.db.pool())
            .await
            .unwrap();
        assert!(matches!(
            set(AfterSet::EmailAndMustReset).await,
            Err(DomainError::Invalid(f)) if f.field == "email_user"
        ));
        assert_eq!(
            signs_in(&s, "ada", NEW).await,
            Some(Purpose::PasswordChange)
        );
    }
);

both_engines!(
    reset_clears_failed_sign_ins_for_whoever_may_manage_the_user,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let helpdesk = actor(&s, "helpdesk", Role::PasswordManager).await;
        let ada = create(&s, "ada", Role::User).await;
        assert!(matches!(
            passwords::unlock(&s, &admin, &ada).await,
            Err(DomainError::Conflict(_))
        ));
        for _ in 0..lock_threshold() {
            signs_in(&s, "ada", "wrong password, quite long").await;
        }
        assert_eq!(signs_in(&s, "ada", OLD).await, None, "locked");
        // The helpdesk may reset a plain user's lock (seed 004), not an administrator's.
        let boss = create(&s, "boss", Role::Administrator).await;
        signs_in(&s, "boss", "wrong password, quite long").await;
        assert!(matches!(
            passwords::unlock(&s, &helpdesk, &boss).await,
            Err(DomainError::Forbidden)
        ));
        passwords::unlock(&s, &helpdesk, &ada).await.unwrap();
        assert_eq!(last_action(&s).await.0, "account.unlocked");
        assert_eq!(signs_in(&s, "ada", OLD).await, Some(Purpose::Full));
        // One failure, no lock: Reset is offered all the same and sets the count to 0.
        signs_in(&s, "ada", "wrong password, quite long").await;
        passwords::unlock(&s, &admin, &ada).await.unwrap();
        let failures: (i64,) = sqlx::query_as("SELECT failed_logins FROM users WHERE id = $1")
            .bind(&ada.0)
            .fetch_one(s.db.pool())
            .await
            .unwrap();
        assert_eq!(failures.0, 0);
    }
);

both_engines!(
    a_strangers_forgot_request_never_undoes_an_administrators_reset,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        let temporary = resets::generate_temporary(&s, &admin, &ada, false)
            .await
            .unwrap();
        resets::handle_request(&s, "ada", &client()).await.unwrap();
        let reset = status(&s, &ada).await;
        assert_eq!(reset.kind, ResetKind::TemporaryPassword);
        assert!(reset.is_outstanding(Timestamp::now()));
        assert_eq!(
            signs_in(&s, "ada", temporary.password.expose()).await,
            Some(Purpose::PasswordChange),
            "the password read out over the phone still works"
        );

        // A link the helpdesk emailed an hour ago, past the resend cooldown, stays good too.
        resets::send_link(&s, &admin, &ada, LINK).await.unwrap();
        sqlx::query("UPDATE password_resets SET created_at = created_at - $2 WHERE user_id = $1")
            .bind(&ada.0)
            .bind(3_600_000_i64)
            .execute(s.db.pool())
            .await
            .unwrap();
        resets::handle_request(&s, "ada@example.com", &client())
            .await
            .unwrap();
        let reset = status(&s, &ada).await;
        assert_eq!(reset.created_by.as_deref(), Some("admin"));
        assert!(reset.is_outstanding(Timestamp::now()));
        let (open,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM password_resets WHERE user_id = $1 AND voided_at IS NULL",
        )
        .bind(&ada.0)
        .fetch_one(s.db.pool())
        .await
        .unwrap();
        assert_eq!(
            open, 2,
            "the used temporary password and the link; no second link"
        );
    }
);

both_engines!(
    an_expired_administrators_reset_does_not_block_forgot_for_ever,
    |db: Db| async move {
        let s = services(db);
        let sink = SmtpSink::start().await;
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        resets::generate_temporary(&s, &admin, &ada, false)
            .await
            .unwrap();
        sqlx::query("UPDATE password_resets SET expires_at = $2 WHERE user_id = $1")
            .bind(&ada.0)
            .bind(Timestamp::now().millis() - 1)
            .execute(s.db.pool())
            .await
            .unwrap();

        resets::handle_request(&s, "ada", &client()).await.unwrap();
        let link = emailed_link(&s, &sink, "ada@example.com").await;
        let reset = status(&s, &ada).await;
        assert_eq!(reset.created_by, None, "the user's own link");
        assert!(reset.is_outstanding(Timestamp::now()));
        complete(&s, &token_of(&link), NEW).await.unwrap();
        assert_eq!(signs_in(&s, "ada", NEW).await, Some(Purpose::Full));
    }
);

both_engines!(
    a_revoked_or_overtaken_link_is_never_resent,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        let nothing_to_resend = |r: Result<_, DomainError>| matches!(r, Err(DomainError::Conflict(m)) if m.contains("no emailed"));

        resets::send_link(&s, &admin, &ada, LINK).await.unwrap();
        past_the_cooldown(&s, &ada).await;
        let reset = status(&s, &ada).await;
        resets::revoke(&s, &admin, &ada, &reset.id).await.unwrap();
        assert!(nothing_to_resend(resets::resend(&s, &admin, &ada).await));

        // The password an administrator set after the link must survive a Resend Email.
        resets::send_link(&s, &admin, &ada, LINK).await.unwrap();
        past_the_cooldown(&s, &ada).await;
        let new = Password::new(NEW);
        passwords::set_password(&s, &admin, &ada, &new, &new, AfterSet::Keep)
            .await
            .unwrap();
        assert!(nothing_to_resend(resets::resend(&s, &admin, &ada).await));
        assert_eq!(signs_in(&s, "ada", NEW).await, Some(Purpose::Full));
    }
);

both_engines!(
    resend_email_sends_a_new_link_and_voids_the_old_one,
    |db: Db| async move {
        let s = services(db);
        let sink = SmtpSink::start().await;
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        resets::send_link(&s, &admin, &ada, LINK).await.unwrap();
        let first = emailed_link(&s, &sink, "ada@example.com").await;
        // Within the cooldown, refused with the time it becomes available.
        assert!(matches!(
            resets::resend(&s, &admin, &ada).await,
            Err(DomainError::Conflict(m)) if m.contains("available from")
        ));

        past_the_cooldown(&s, &ada).await;
        let issued = resets::resend(&s, &admin, &ada).await.unwrap();
        assert!(issued.link.is_none(), "emailed, not shown");
        mailer(&s, sink.port).deliver_due().await.unwrap();
        let received = sink.received();
        assert_eq!(received.len(), 2, "{received:?}");
        let second = received[1]
            .reset_link()
            .expect("a link in the second email");
        assert_ne!(first, second);
        let reset = status(&s, &ada).await;
        assert!(
            reset.invalidated_password,
            "the first link's choice carries over"
        );
        assert_eq!(reset.email.unwrap().state, DeliveryState::Sent);

        assert!(matches!(
            complete(&s, &token_of(&first), NEW).await,
            Err(DomainError::LinkInvalid)
        ));
        complete(&s, &token_of(&second), NEW).await.unwrap();
        assert_eq!(signs_in(&s, "ada", NEW).await, Some(Purpose::Full));

        // A Copy link reached no mailbox: there is nothing to resend.
        resets::send_link(
            &s,
            &admin,
            &ada,
            LinkRequest {
                delivery: LinkDelivery::Shown,
                ..LINK
            },
        )
        .await
        .unwrap();
        assert!(matches!(
            resets::resend(&s, &admin, &ada).await,
            Err(DomainError::Conflict(m)) if m.contains("no emailed")
        ));
    }
);

both_engines!(
    the_security_setting_stops_every_emailed_password,
    |db: Db| async move {
        let mut s = services(db);
        s.settings = domain::settings::Live::new(domain::settings::EnvOverrides::fixed(&[(
            "allow_emailed_passwords",
            false.into(),
        )]));
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        let off = |r: Result<_, DomainError>| matches!(r, Err(DomainError::Conflict(m)) if m.contains("turned off"));
        assert!(off(resets::generate_emailed(&s, &admin, &ada)
            .await
            .map(|_| ())));
        assert!(off(resets::generate_temporary(&s, &admin, &ada, true)
            .await
            .map(|_| ())));
        let new = Password::new(NEW);
        assert!(off(passwords::set_password(
            &s,
            &admin,
            &ada,
            &new,
            &new,
            AfterSet::EmailAndMustReset
        )
        .await));
        // Nothing changed, nothing was queued; links and shown passwords still work.
        assert_eq!(signs_in(&s, "ada", OLD).await, Some(Purpose::Full));
        let (queued,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM email_outbox")
            .fetch_one(s.db.pool())
            .await
            .unwrap();
        assert_eq!(queued, 0);
        resets::generate_temporary(&s, &admin, &ada, false)
            .await
            .unwrap();
        resets::send_link(&s, &admin, &ada, LINK).await.unwrap();
    }
);

/// Failed sign-ins in a row that lock an account under the default policy.
fn lock_threshold() -> i64 {
    model::settings::SecuritySettings::default().lock_threshold
}

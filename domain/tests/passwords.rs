//! Administrators' and users' password operations, on SQLite and PostgreSQL.

mod common;

use common::*;
use domain::both_engines;
use domain::db::Db;
use domain::passwords::AfterSet;
use domain::sessions::Purpose;
use domain::{DomainError, Password};
use domain::{auth, passwords};
use model::user::{Role, UserId};

both_engines!(
    force_reset_ends_sessions_and_restricts_the_old_password,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        signs_in(&s, "ada", OLD).await;
        assert_eq!(sessions_of(&s, &ada).await, 1);

        passwords::force_reset(&s, &admin, &ada).await.unwrap();
        assert_eq!(sessions_of(&s, &ada).await, 0);
        assert_eq!(
            last_action(&s).await,
            ("password.force_reset".into(), Some("admin".into()))
        );
        assert_eq!(
            signs_in(&s, "ada", OLD).await,
            Some(Purpose::PasswordChange)
        );
        // Already pending: a clear conflict, nothing written.
        assert!(matches!(
            passwords::force_reset(&s, &admin, &ada).await,
            Err(DomainError::Conflict(_))
        ));
    }
);

both_engines!(
    a_set_password_replaces_the_old_one_at_once,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        signs_in(&s, "ada", OLD).await;
        passwords::set_password(
            &s,
            &admin,
            &ada,
            &Password::new(NEW),
            &Password::new(NEW),
            AfterSet::Keep,
        )
        .await
        .unwrap();
        assert_eq!(sessions_of(&s, &ada).await, 0);
        assert_eq!(
            signs_in(&s, "ada", OLD).await,
            None,
            "the old password is dead"
        );
        assert_eq!(signs_in(&s, "ada", NEW).await, Some(Purpose::Full));

        // With "Must Reset Password at Next Login" the new password opens only the change page.
        passwords::set_password(
            &s,
            &admin,
            &ada,
            &Password::new(OLD),
            &Password::new(OLD),
            AfterSet::MustReset,
        )
        .await
        .unwrap();
        assert_eq!(
            signs_in(&s, "ada", OLD).await,
            Some(Purpose::PasswordChange)
        );
    }
);

both_engines!(bad_new_passwords_change_nothing, |db: Db| async move {
    let s = services(db);
    let admin = actor(&s, "admin", Role::Administrator).await;
    let ada = create(&s, "ada", Role::User).await;
    let attempts = [
        (NEW, "a different confirmation"),
        ("too short", "too short"),
        ("ada is my name, really", "ada is my name, really"),
    ];
    for (password, confirm) in attempts {
        let result = passwords::set_password(
            &s,
            &admin,
            &ada,
            &Password::new(password),
            &Password::new(confirm),
            AfterSet::Keep,
        )
        .await;
        assert!(
            matches!(
                result,
                Err(DomainError::Invalid(_) | DomainError::Policy(_))
            ),
            "{password:?} was accepted"
        );
    }
    assert_eq!(signs_in(&s, "ada", OLD).await, Some(Purpose::Full));
    assert!(matches!(
        passwords::set_password(
            &s,
            &admin,
            &UserId("missing".into()),
            &Password::new(NEW),
            &Password::new(NEW),
            AfterSet::Keep
        )
        .await,
        Err(DomainError::NotFound)
    ));
});

both_engines!(
    helpdesk_sets_only_plain_local_users_passwords,
    |db: Db| async move {
        let s = services(db);
        let helpdesk = actor(&s, "helpdesk", Role::PasswordManager).await;
        let admin = create(&s, "boss", Role::Administrator).await;
        let peer = create(&s, "peer", Role::PasswordManager).await;
        let ada = create(&s, "ada", Role::User).await;
        let new = Password::new(NEW);
        for target in [&admin, &peer] {
            assert!(matches!(
                passwords::set_password(&s, &helpdesk, target, &new, &new, AfterSet::Keep).await,
                Err(DomainError::Forbidden)
            ));
        }
        for target in [&admin, &peer] {
            assert!(matches!(
                passwords::force_reset(&s, &helpdesk, target).await,
                Err(DomainError::Forbidden)
            ));
        }
        passwords::set_password(&s, &helpdesk, &ada, &new, &new, AfterSet::MustReset)
            .await
            .unwrap();
        assert_eq!(
            signs_in(&s, "ada", NEW).await,
            Some(Purpose::PasswordChange)
        );

        sqlx::query("UPDATE users SET source = 'external' WHERE id = $1")
            .bind(&ada.0)
            .execute(s.db.pool())
            .await
            .unwrap();
        assert!(matches!(
            passwords::set_password(&s, &helpdesk, &ada, &new, &new, AfterSet::Keep).await,
            Err(DomainError::Conflict(_))
        ));
    }
);

both_engines!(
    a_required_change_must_pick_a_new_password,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        passwords::force_reset(&s, &admin, &ada).await.unwrap();
        let signed = auth::sign_in(&s, "ada", &Password::new(OLD), &client())
            .await
            .unwrap();
        assert_eq!(signed.purpose, Purpose::PasswordChange);
        let same = Password::new(OLD);
        let result = passwords::change_own(
            &s,
            &signed.user,
            signed.purpose,
            None,
            &same,
            &same,
            &client(),
        )
        .await;
        assert!(matches!(result, Err(DomainError::Invalid(ref e)) if e.field == "password"));

        let new = Password::new(NEW);
        passwords::change_own(
            &s,
            &signed.user,
            signed.purpose,
            None,
            &new,
            &new,
            &client(),
        )
        .await
        .unwrap();
        assert_eq!(
            sessions_of(&s, &ada).await,
            1,
            "only the fresh session remains"
        );
        assert_eq!(signs_in(&s, "ada", NEW).await, Some(Purpose::Full));
        assert_eq!(signs_in(&s, "ada", OLD).await, None);
    }
);

both_engines!(
    changing_your_own_password_needs_the_current_one,
    |db: Db| async move {
        let s = services(db);
        create(&s, "ada", Role::User).await;
        let signed = auth::sign_in(&s, "ada", &Password::new(OLD), &client())
            .await
            .unwrap();
        let new = Password::new(NEW);
        for current in [None, Some(Password::new("not my password at all"))] {
            let result = passwords::change_own(
                &s,
                &signed.user,
                Purpose::Full,
                current.as_ref(),
                &new,
                &new,
                &client(),
            )
            .await;
            assert!(matches!(result, Err(DomainError::Invalid(ref e)) if e.field == "current"));
        }
        passwords::change_own(
            &s,
            &signed.user,
            Purpose::Full,
            Some(&Password::new(OLD)),
            &new,
            &new,
            &client(),
        )
        .await
        .unwrap();
        assert_eq!(signs_in(&s, "ada", NEW).await, Some(Purpose::Full));
    }
);

both_engines!(
    a_refused_operation_audits_itself_without_the_password,
    |db: Db| async move {
        let s = services(db);
        let helpdesk = actor(&s, "helpdesk", Role::PasswordManager).await;
        let admin = actor(&s, "admin", Role::Administrator).await;
        let boss = create(&s, "boss", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        let new = Password::new(NEW);
        let refused =
            passwords::set_password(&s, &helpdesk, &boss, &new, &new, AfterSet::Keep).await;
        assert!(matches!(refused, Err(DomainError::Forbidden)));

        let mismatch = Password::new("a different fine password");
        let bad = passwords::set_password(&s, &admin, &ada, &new, &mismatch, AfterSet::Keep).await;
        assert!(matches!(bad, Err(DomainError::Invalid(_))));

        let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT actor_name, target_name, outcome, detail FROM audit_events \
             WHERE outcome <> 'success' ORDER BY id",
        )
        .fetch_all(s.db.pool())
        .await
        .unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(
            (rows[0].0.as_str(), rows[0].1.as_str(), rows[0].2.as_str()),
            ("helpdesk", "boss", "denied")
        );
        assert_eq!(rows[1].2, "failure");
        assert_eq!(
            rows[1].3.as_deref(),
            Some("The two passwords do not match.")
        );
        for row in &rows {
            let text = format!("{row:?}");
            assert!(
                !text.contains(NEW) && !text.contains("different fine"),
                "{text}"
            );
        }
        assert_eq!(
            signs_in(&s, "ada", OLD).await,
            Some(Purpose::Full),
            "nothing changed"
        );
    }
);

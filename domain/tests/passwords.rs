//! Administrators' and users' password operations, on SQLite and PostgreSQL.

use domain::auth;
use domain::both_engines;
use domain::db::Db;
use domain::passwords::{self, Actor};
use domain::sessions::{ClientInfo, Purpose};
use domain::users::{self, NewUser};
use domain::{DomainError, Hasher, Password, Services};
use model::time::Timestamp;
use model::user::{Role, UserId};
use std::sync::OnceLock;

const OLD: &str = "correct horse battery staple";
const NEW: &str = "violet tractor mirror lantern";

fn services(db: Db) -> Services {
    static HASHER: OnceLock<Hasher> = OnceLock::new();
    Services::new(db, HASHER.get_or_init(|| Hasher::new(4).unwrap()).clone())
}

fn client() -> ClientInfo {
    ClientInfo {
        ip: Some("192.0.2.7".into()),
        user_agent: None,
    }
}

async fn create(s: &Services, username: &str, role: Role) -> UserId {
    let new = NewUser::new(username, username, &format!("{username}@example.com"), role).unwrap();
    let digest = s.hasher.hash(&Password::new(OLD)).await.unwrap();
    let mut tx = s.db.begin().await.unwrap();
    let id = users::insert(&mut tx, &new, Some(&digest), Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn actor(s: &Services, username: &str, role: Role) -> Actor {
    let id = create(s, username, role).await;
    Actor {
        id,
        username: username.into(),
        role,
        ip: Some("192.0.2.1".into()),
    }
}

async fn signs_in(s: &Services, username: &str, password: &str) -> Option<Purpose> {
    auth::sign_in(s, username, &Password::new(password), &client())
        .await
        .ok()
        .map(|signed| signed.purpose)
}

async fn sessions_of(s: &Services, id: &UserId) -> i64 {
    domain::sessions::count_for_user(&s.db, id).await.unwrap()
}

async fn last_action(s: &Services) -> (String, Option<String>) {
    sqlx::query_as("SELECT action, actor_name FROM audit_events ORDER BY id DESC LIMIT 1")
        .fetch_one(s.db.pool())
        .await
        .unwrap()
}

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
            false,
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
            true,
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
            false,
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
            false
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
                passwords::set_password(&s, &helpdesk, target, &new, &new, false).await,
                Err(DomainError::Forbidden)
            ));
        }
        assert!(matches!(
            passwords::force_reset(&s, &helpdesk, &ada).await,
            Err(DomainError::Forbidden)
        ));
        passwords::set_password(&s, &helpdesk, &ada, &new, &new, true)
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
            passwords::set_password(&s, &helpdesk, &ada, &new, &new, false).await,
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

//! Authority is minted by the domain from a live session and a permission, and every read or
//! change of another person's data demands it; refusals and failures audit themselves.

mod common;

use common::*;
use domain::authority::{Presented, authorize};
use domain::bulk::{JobOptions, Selection};
use domain::sessions::{self, Purpose};
use domain::tokens::SecretToken;
use domain::{Db, DomainError, both_engines, bulk, directory};
use model::bulk::BulkKind;
use model::time::Timestamp;
use model::user::{Permission, Role, UserId};

async fn denied(s: &domain::Services) -> Vec<(String, String)> {
    sqlx::query_as("SELECT action, detail FROM audit_events WHERE outcome = 'denied' ORDER BY id")
        .fetch_all(s.db.pool())
        .await
        .unwrap()
}

/// A live session for `user`, as a sign-in makes it.
async fn session_of(s: &domain::Services, user: &UserId, purpose: Purpose) -> SecretToken {
    let mut tx = s.db.begin().await.unwrap();
    let token = sessions::create(
        &mut tx,
        user,
        purpose,
        &s.session_policy().await.unwrap(),
        &client(),
        Timestamp::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    token
}

both_engines!(
    authority_comes_only_from_a_permitted_session,
    |db: Db| async move {
        let s = services(db);
        let admin = create(&s, "admin", Role::Administrator).await;
        let helpdesk = create(&s, "helpdesk", Role::PasswordManager).await;
        let ip = || Some("192.0.2.9".to_owned());

        let token = session_of(&s, &admin, Purpose::Full).await;
        let minted = authorize(&s, &token, Permission::UserManagement, "op", ip())
            .await
            .unwrap();
        assert_eq!(minted.username(), "admin");
        let token = session_of(&s, &helpdesk, Purpose::Full).await;
        authorize(&s, &token, Permission::SetPasswords, "op", ip())
            .await
            .unwrap();

        let refusals = [
            (&helpdesk, Purpose::Full, Permission::UserManagement),
            (&admin, Purpose::PasswordChange, Permission::SetPasswords),
        ];
        for (user, purpose, permission) in refusals {
            let token = session_of(&s, user, purpose).await;
            let refused = authorize(&s, &token, permission, "/api/x", ip()).await;
            assert!(matches!(refused, Err(DomainError::Forbidden)));
        }
        let rows = denied(&s).await;
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(rows.iter().all(|(action, _)| action == "access.denied"));
        assert!(rows[1].1.contains("may only set a new password"));

        // A token that names no live session is no authority, and nothing to audit.
        let forged = SecretToken::from_client("not-a-session-token-at-all-not-one-at-all-x");
        let refused = authorize(&s, &forged, Permission::SetPasswords, "/api/x", ip()).await;
        assert!(matches!(refused, Err(DomainError::Unauthenticated)));
        assert_eq!(denied(&s).await.len(), 2);
    }
);

both_engines!(
    one_request_looks_its_session_up_once_and_is_refused_the_same,
    |db: Db| async move {
        let s = services(db);
        let admin = create(&s, "admin", Role::Administrator).await;
        let helpdesk = create(&s, "helpdesk", Role::PasswordManager).await;
        let ip = || Some("192.0.2.9".to_owned());

        let request = Presented::new(session_of(&s, &helpdesk, Purpose::Full).await);
        let caller = request.session(&s).await.unwrap().unwrap();
        assert_eq!(caller.user.username, "helpdesk");
        let minted = request
            .authorize(&s, Permission::SetPasswords, "op", ip())
            .await
            .unwrap();
        assert_eq!(minted.username(), "helpdesk");
        // What the role lacks is refused and recorded, as `authorize` does.
        let refused = request
            .authorize(&s, Permission::UserManagement, "/api/x", ip())
            .await;
        assert!(matches!(refused, Err(DomainError::Forbidden)));
        assert_eq!(denied(&s).await.len(), 1);

        // Looked up once: the same request keeps the session it found, so a page's pieces
        // agree on who is calling. The next request sees the session ended.
        let token = session_of(&s, &admin, Purpose::Full).await;
        let request = Presented::new(SecretToken::from_client(token.expose()));
        request.session(&s).await.unwrap().unwrap();
        sessions::revoke(&s.db, &token).await.unwrap();
        request
            .authorize(&s, Permission::UserManagement, "op", ip())
            .await
            .unwrap();
        let next = Presented::new(token);
        assert!(next.session(&s).await.unwrap().is_none());
        assert!(matches!(
            next.authorize(&s, Permission::UserManagement, "op", ip())
                .await,
            Err(DomainError::Unauthenticated)
        ));

        // A token that names no live session finds none, and is nothing to audit.
        let forged = Presented::new(SecretToken::from_client(
            "not-a-session-token-at-all-not-one-at-all-x",
        ));
        assert!(forged.session(&s).await.unwrap().is_none());
        assert_eq!(denied(&s).await.len(), 1);
    }
);

both_engines!(
    reads_and_bulk_demand_the_right_authority,
    |db: Db| async move {
        let s = services(db);
        let helpdesk = actor(&s, "helpdesk", Role::PasswordManager).await;
        let ada = create(&s, "ada", Role::User).await;

        // A Password Manager may find and read users, not their audit trail or Bulk Change.
        directory::list_users(&s, &helpdesk, "", None, 10)
            .await
            .unwrap();
        directory::user_details(&s, &helpdesk, &ada).await.unwrap();
        assert!(matches!(
            directory::activity(&s, &helpdesk, &ada, 10).await,
            Err(DomainError::Forbidden)
        ));
        let options = JobOptions {
            kind: BulkKind::ForceReset,
            link_minutes: 60,
            invalidate_password: false,
        };
        let all = Selection::Search(String::new());
        assert!(matches!(
            bulk::preview(&s.db, &helpdesk, options.kind, &all).await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            bulk::create_job(&s, &helpdesk, options, &all, "key").await,
            Err(DomainError::Forbidden)
        ));
        // The domain recorded both bulk refusals itself.
        let actions: Vec<String> = denied(&s).await.into_iter().map(|(a, _)| a).collect();
        assert_eq!(actions, ["bulk.previewed", "bulk.started"]);
    }
);

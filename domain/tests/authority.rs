//! Authority is minted by the domain from a live session and a permission, and every read or
//! change of another person's data demands it; refusals and failures audit themselves.

mod common;

use common::*;
use domain::authority::{Session, authorize};
use domain::bulk::{JobOptions, Selection};
use domain::sessions::Purpose;
use domain::{Db, DomainError, both_engines, bulk, directory, users};
use model::bulk::BulkKind;
use model::user::{Permission, Role};

async fn denied(s: &domain::Services) -> Vec<(String, String)> {
    sqlx::query_as("SELECT action, detail FROM audit_events WHERE outcome = 'denied' ORDER BY id")
        .fetch_all(s.db.pool())
        .await
        .unwrap()
}

both_engines!(
    authority_comes_only_from_a_permitted_session,
    |db: Db| async move {
        let s = services(db);
        let admin_id = create(&s, "admin", Role::Administrator).await;
        let helpdesk_id = create(&s, "helpdesk", Role::PasswordManager).await;
        let admin = users::get(s.db.pool(), &admin_id).await.unwrap().unwrap();
        let helpdesk = users::get(s.db.pool(), &helpdesk_id)
            .await
            .unwrap()
            .unwrap();
        let session = |user, purpose| Session {
            user,
            purpose,
            ip: Some("192.0.2.9".into()),
        };

        let minted = authorize(
            &s,
            session(&admin, Purpose::Full),
            Permission::UserManagement,
            "op",
        )
        .await
        .unwrap();
        assert_eq!(minted.username(), "admin");
        authorize(
            &s,
            session(&helpdesk, Purpose::Full),
            Permission::SetPasswords,
            "op",
        )
        .await
        .unwrap();

        let refusals = [
            (&helpdesk, Purpose::Full, Permission::UserManagement),
            (&admin, Purpose::PasswordChange, Permission::SetPasswords),
        ];
        for (user, purpose, permission) in refusals {
            let refused = authorize(&s, session(user, purpose), permission, "/api/x").await;
            assert!(matches!(refused, Err(DomainError::Forbidden)));
        }
        let rows = denied(&s).await;
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(rows.iter().all(|(action, _)| action == "access.denied"));
        assert!(rows[1].1.contains("may only set a new password"));
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

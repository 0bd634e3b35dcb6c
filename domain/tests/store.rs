//! The domain against real databases: every test runs on SQLite and on PostgreSQL.

use domain::auth;
use domain::both_engines;
use domain::db::Db;
use domain::sessions::{self, ClientInfo, Purpose};
use domain::setup::{self, FirstAdmin};
use domain::tokens::SecretToken;
use domain::users::{self, NewUser};
use domain::{DomainError, Hasher, Password, Services};
use model::time::Timestamp;
use model::user::{Role, UserId};
use std::sync::OnceLock;

const GOOD: &str = "correct horse battery staple";

/// One hasher for the whole binary: its dummy hash costs an argon2 run to make.
fn hasher() -> Hasher {
    static HASHER: OnceLock<Hasher> = OnceLock::new();
    HASHER.get_or_init(|| Hasher::new(4).unwrap()).clone()
}

fn services(db: Db) -> Services {
    Services::new(
        db,
        hasher(),
        "https://latchkey.example.com",
        domain::Keyring::ephemeral(),
    )
}

fn client() -> ClientInfo {
    ClientInfo {
        ip: Some("127.0.0.1".into()),
        user_agent: Some("tests".into()),
    }
}

async fn create_user(s: &Services, username: &str, email: &str, role: Role) -> UserId {
    let new = NewUser::new(username, &format!("{username} Test"), email, role).unwrap();
    let digest = s.hasher.hash(&Password::new(GOOD)).await.unwrap();
    let mut tx = s.db.begin().await.unwrap();
    let id = users::insert(&mut tx, &new, Some(&digest), Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn audit_actions(db: &Db) -> Vec<(String, String)> {
    sqlx::query_as("SELECT action, outcome FROM audit_events ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap()
}

both_engines!(
    signs_in_by_username_or_email_in_any_case,
    |db: Db| async move {
        let s = services(db);
        create_user(&s, "Ada", "Ada@Example.com", Role::User).await;
        for name in ["ada", "ADA", "ada@example.com", " Ada@EXAMPLE.com "] {
            let signed = auth::sign_in(&s, name, &Password::new(GOOD), &client())
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(signed.user.username, "Ada");
            assert_eq!(signed.purpose, Purpose::Full);
        }
    }
);

both_engines!(every_failure_gets_the_same_answer, |db: Db| async move {
    let s = services(db);
    let id = create_user(&s, "grace", "grace@example.com", Role::User).await;
    let wrong = auth::sign_in(
        &s,
        "grace",
        &Password::new("not the password at all"),
        &client(),
    )
    .await;
    let unknown = auth::sign_in(&s, "nobody", &Password::new(GOOD), &client()).await;
    let huge = auth::sign_in(&s, "grace", &Password::new("x".repeat(10_000)), &client()).await;
    for result in [wrong, unknown, huge] {
        assert!(matches!(result, Err(DomainError::Unauthenticated)));
    }
    let user = users::get(s.db.pool(), &id).await.unwrap().unwrap();
    assert_eq!(
        user.failed_logins, 1,
        "only the real attempt on a real account counts"
    );
    assert_eq!(
        audit_actions(&s.db).await,
        vec![("sign_in".into(), "failure".into())]
    );
});

both_engines!(repeated_failures_lock_the_account, |db: Db| async move {
    let s = services(db);
    let id = create_user(&s, "linus", "", Role::User).await;
    for _ in 0..lock_threshold() {
        let _ = auth::sign_in(
            &s,
            "linus",
            &Password::new("wrong wrong wrong wrong"),
            &client(),
        )
        .await;
    }
    let user = users::get(s.db.pool(), &id).await.unwrap().unwrap();
    assert!(user.is_locked(Timestamp::now()));
    // Even the right password is refused while locked.
    assert!(matches!(
        auth::sign_in(&s, "linus", &Password::new(GOOD), &client()).await,
        Err(DomainError::Unauthenticated)
    ));
});

both_engines!(
    a_flagged_password_opens_only_a_restricted_session,
    |db: Db| async move {
        let s = services(db);
        let id = create_user(&s, "margaret", "", Role::User).await;
        sqlx::query("UPDATE users SET must_change_password = 1 WHERE id = $1")
            .bind(&id.0)
            .execute(s.db.pool())
            .await
            .unwrap();
        let signed = auth::sign_in(&s, "margaret", &Password::new(GOOD), &client())
            .await
            .unwrap();
        assert_eq!(signed.purpose, Purpose::PasswordChange);
        let session = sessions::authenticate(
            &s.db,
            &signed.token,
            &s.session_policy().await.unwrap(),
            Timestamp::now(),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(session.purpose, Purpose::PasswordChange);
    }
);

both_engines!(
    disabled_users_cannot_sign_in_or_keep_sessions,
    |db: Db| async move {
        let s = services(db);
        let id = create_user(&s, "dennis", "", Role::User).await;
        let signed = auth::sign_in(&s, "dennis", &Password::new(GOOD), &client())
            .await
            .unwrap();
        sqlx::query("UPDATE users SET active = 0 WHERE id = $1")
            .bind(&id.0)
            .execute(s.db.pool())
            .await
            .unwrap();
        let now = Timestamp::now();
        assert!(
            sessions::authenticate(
                &s.db,
                &signed.token,
                &s.session_policy().await.unwrap(),
                now
            )
            .await
            .unwrap()
            .is_none()
        );
        assert!(matches!(
            auth::sign_in(&s, "dennis", &Password::new(GOOD), &client()).await,
            Err(DomainError::Unauthenticated)
        ));
    }
);

both_engines!(sessions_expire_and_can_be_revoked, |db: Db| async move {
    let s = services(db);
    let id = create_user(&s, "barbara", "", Role::Administrator).await;
    let signed = auth::sign_in(&s, "barbara", &Password::new(GOOD), &client())
        .await
        .unwrap();
    let now = Timestamp::now();
    let live = |at: Timestamp| {
        let s = s.clone();
        let token = SecretToken::from_client(signed.token.expose());
        async move {
            sessions::authenticate(&s.db, &token, &s.session_policy().await.unwrap(), at)
                .await
                .unwrap()
                .is_some()
        }
    };
    assert!(live(now).await);
    let idle = i64::try_from(s.session_policy().await.unwrap().idle.as_secs()).unwrap();
    assert!(!live(now.plus_seconds(idle + 1)).await, "idle expiry");
    let absolute = i64::try_from(s.session_policy().await.unwrap().absolute.as_secs()).unwrap();
    assert!(
        !live(now.plus_seconds(absolute + 1)).await,
        "absolute expiry"
    );
    assert!(
        sessions::authenticate(
            &s.db,
            &SecretToken::from_client("forged"),
            &s.session_policy().await.unwrap(),
            now
        )
        .await
        .unwrap()
        .is_none()
    );
    let mut tx = s.db.begin().await.unwrap();
    assert_eq!(
        sessions::revoke_all_for_user(&mut tx, &id).await.unwrap(),
        1
    );
    tx.commit().await.unwrap();
    assert!(!live(now).await, "revoked");
    let stored: Vec<(String,)> = sqlx::query_as("SELECT id_hash FROM sessions")
        .fetch_all(s.db.pool())
        .await
        .unwrap();
    assert!(stored.iter().all(|(h,)| h != signed.token.expose()));
});

both_engines!(usernames_are_unique_ignoring_case, |db: Db| async move {
    let s = services(db);
    create_user(&s, "Ken", "ken@example.com", Role::User).await;
    let mut tx = s.db.begin().await.unwrap();
    let clash = NewUser::new("KEN", "Other Ken", "", Role::User).unwrap();
    let result = users::insert(&mut tx, &clash, None, Timestamp::now()).await;
    assert!(matches!(result, Err(DomainError::Conflict(_))));
    drop(tx);
    let mut tx = s.db.begin().await.unwrap();
    let clash = NewUser::new("kenneth", "Other Ken", "KEN@example.com", Role::User).unwrap();
    let result = users::insert(&mut tx, &clash, None, Timestamp::now()).await;
    assert!(matches!(result, Err(DomainError::Conflict(_))));
});

both_engines!(the_audit_trail_is_append_only, |db: Db| async move {
    let s = services(db);
    create_user(&s, "frances", "", Role::User).await;
    let _ = auth::sign_in(&s, "frances", &Password::new(GOOD), &client()).await;
    assert!(
        sqlx::query("UPDATE audit_events SET outcome = 'success'")
            .execute(s.db.pool())
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM audit_events")
            .execute(s.db.pool())
            .await
            .is_err()
    );
    assert_eq!(audit_actions(&s.db).await.len(), 1);
});

both_engines!(
    setup_link_creates_exactly_one_first_administrator,
    |db: Db| async move {
        let s = services(db);
        let token = setup::issue_token_if_needed(&s.db).await.unwrap().unwrap();
        let password = Password::new(GOOD);
        let short = Password::new("too short");
        let form = |p: &'static str| FirstAdmin {
            username: p,
            display_name: "Root Administrator",
            email: "root@example.com",
            password: &password,
            confirm: &password,
        };
        // A policy violation changes nothing and leaves the link usable.
        let weak = FirstAdmin {
            password: &short,
            confirm: &short,
            ..form("root")
        };
        assert!(matches!(
            setup::create_first_admin(&s, &token, weak, None).await,
            Err(DomainError::Policy(_))
        ));
        let mismatch = FirstAdmin {
            confirm: &short,
            ..form("root")
        };
        assert!(matches!(
            setup::create_first_admin(&s, &token, mismatch, None).await,
            Err(DomainError::Invalid(_))
        ));
        assert!(setup::token_is_valid(&s.db, &token).await.unwrap());
        assert!(matches!(
            setup::create_first_admin(&s, &SecretToken::from_client("guess"), form("root"), None)
                .await,
            Err(DomainError::Conflict(_))
        ));
        setup::create_first_admin(&s, &token, form("root"), None)
            .await
            .unwrap();
        assert!(matches!(
            setup::create_first_admin(&s, &token, form("root2"), None).await,
            Err(DomainError::Conflict(_))
        ));
        assert!(setup::issue_token_if_needed(&s.db).await.unwrap().is_none());
        let signed = auth::sign_in(&s, "root", &password, &client())
            .await
            .unwrap();
        assert_eq!(signed.user.role, Role::Administrator);
    }
);

both_engines!(keyset_pages_cover_every_user_once, |db: Db| async move {
    let inserted = domain::seed::seed_users(&db, 1_234).await.unwrap();
    assert_eq!(inserted, 1_234);
    let mut seen = std::collections::BTreeSet::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let (page, next) = users::list_page(&db, "", after.as_deref(), 100)
            .await
            .unwrap();
        pages += 1;
        for user in &page {
            assert!(
                seen.insert(user.id.clone()),
                "{} listed twice",
                user.username
            );
        }
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen.len(), 1_234);
    assert_eq!(pages, 13);

    let (found, _) = users::list_page(&db, "lovelace", None, 2_000)
        .await
        .unwrap();
    assert!(!found.is_empty());
    assert!(found.iter().all(|u| u.display_name.contains("Lovelace")));
    let (none, next) = users::list_page(&db, "100%_", None, 50).await.unwrap();
    assert!(none.is_empty() && next.is_none());
});

both_engines!(
    settling_the_search_index_changes_no_answer,
    |db: Db| async move {
        use domain::store::search;
        use domain::users::UserRecord;
        domain::seed::seed_users(&db, 600).await.unwrap();
        // Each commit adds its people to the index as a piece of its own.
        for batch in 0..6 {
            let people: Vec<UserRecord> = (0..40)
                .map(|i| UserRecord {
                    id: format!("late-{batch}-{i}"),
                    username: format!("late.comer{batch}x{i}"),
                    display_name: format!("Late Lovelace {batch}"),
                    email: Some(format!("late{batch}.{i}@example.org")),
                    active: true,
                    external: false,
                    flagged: false,
                })
                .collect();
            users::insert_many(&db, &people, model::time::Timestamp::now())
                .await
                .unwrap();
        }
        let everyone = |term: &'static str| {
            let db = db.clone();
            async move {
                let (page, _) = users::list_page(&db, term, None, 2_000).await.unwrap();
                page.into_iter().map(|u| u.id).collect::<Vec<_>>()
            }
        };
        let terms = [
            "lovelace",
            "comer3x",
            "e.com",
            "late.comer5x39",
            "zzq",
            "comer3x1",
        ];
        let mut before = Vec::new();
        for term in terms {
            before.push(everyone(term).await);
        }
        let postgres = db.engine() == domain::db::Engine::Postgres;
        if postgres {
            // The late comers went in after the seeded people, so they lie at the table's end.
            sqlx::query("ANALYZE people_search")
                .execute(db.pool())
                .await
                .unwrap();
            let order = search::order_on_disk(&db).await.unwrap().unwrap();
            assert!(order < 0.95, "out of username order on disk: {order}");
        }
        let steps = search::settle(&db).await.unwrap();
        if postgres {
            let order = search::order_on_disk(&db).await.unwrap().unwrap();
            assert!(order > 0.99, "rewritten in username order: {order}");
        } else {
            assert!(steps > 0, "six commits' pieces should have been merged");
        }
        assert_eq!(
            search::settle(&db).await.unwrap(),
            0,
            "nothing left to merge"
        );
        for (term, found) in terms.iter().zip(&before) {
            assert_eq!(&everyone(term).await, found, "{term}");
        }
        assert_eq!(
            before[1].len(),
            40,
            "comer3x: late.comer3x0 to late.comer3x39"
        );
        assert_eq!(before[3], vec![UserId("late-5-39".to_owned())]);
        assert!(before[4].is_empty());
        assert_eq!(
            before[5].len(),
            11,
            "comer3x1: late.comer3x1 and 3x10 to 3x19"
        );

        // On PostgreSQL the settling replaced the search table: writes still reach it, on
        // connections that wrote to the one before.
        let comer = UserRecord {
            id: "late-7-0".into(),
            username: "late.comer7x0".into(),
            display_name: "Very Late".into(),
            email: None,
            active: true,
            external: false,
            flagged: false,
        };
        users::insert_many(&db, &[comer], Timestamp::now())
            .await
            .unwrap();
        assert_eq!(everyone("comer7x").await, [UserId("late-7-0".to_owned())]);
        sqlx::query("DELETE FROM users WHERE id LIKE 'late-%'")
            .execute(db.pool())
            .await
            .unwrap();
        assert!(everyone("comer").await.is_empty());
    }
);

/// Failed sign-ins in a row that lock an account under the default policy.
fn lock_threshold() -> i64 {
    model::settings::SecuritySettings::default().lock_threshold
}

both_engines!(
    many_values_in_one_statement_arrive_exactly_as_sent,
    |db: Db| async move {
        use domain::audit::{AuditAction, AuditEvent, Party};
        use domain::users::UserRecord;
        // Text a JSON array or SQL could misread: quotes, backslashes, JSON and SQL syntax,
        // what looks like a number or null, characters past the BMP, and spaces at the ends.
        let odd = [
            "O'Brien \"the\" \\ tester",
            "{\"a\": [1, 2]}; DROP TABLE users; --",
            "1e9",
            "null",
            "ñandú 🦀 שלום",
            "  spaced  ",
        ];
        let records: Vec<UserRecord> = odd
            .iter()
            .enumerate()
            .map(|(i, name)| UserRecord {
                id: format!("odd-{i}"),
                username: format!("odd{i}"),
                display_name: (*name).to_owned(),
                email: (i % 3 != 0).then(|| format!("odd{i}@example.com")),
                active: true,
                external: false,
                flagged: i % 2 == 0,
            })
            .collect();
        let now = Timestamp::now();
        assert_eq!(users::insert_many(&db, &records, now).await.unwrap(), 6);
        assert_eq!(
            users::insert_many(&db, &records, now).await.unwrap(),
            0,
            "a clash is skipped, not an error"
        );

        let ids: Vec<UserId> = records.iter().map(|r| UserId(r.id.clone())).collect();
        let mut tx = db.begin().await.unwrap();
        let found = users::get_many_locked(&mut tx, &ids).await.unwrap();
        assert_eq!(found.len(), records.len());
        for record in &records {
            let user = found.iter().find(|u| u.id.0 == record.id).unwrap();
            assert_eq!(user.display_name, record.display_name);
            assert_eq!(user.email, record.email);
            assert_eq!(user.must_change_password, record.flagged);
        }

        let party = |i: usize| Party {
            id: ids[i].clone(),
            name: records[i].username.clone(),
        };
        let events: Vec<AuditEvent> = (0..odd.len())
            .map(|i| {
                AuditEvent::success(now, AuditAction::ForceReset, party(0), party(i), None)
                    .with_detail(Some(odd[i].to_owned()))
            })
            .collect();
        domain::store::audit::insert_all(&mut tx, &events)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let details: Vec<(Option<String>, i64)> =
            sqlx::query_as("SELECT detail, at FROM audit_events ORDER BY id")
                .fetch_all(db.pool())
                .await
                .unwrap();
        let expected: Vec<(Option<String>, i64)> = odd
            .iter()
            .map(|d| (Some((*d).to_owned()), now.millis()))
            .collect();
        assert_eq!(details, expected, "in order, and exactly as sent");
    }
);

both_engines!(
    keys_hold_for_every_row_a_statement_writes,
    |db: Db| async move {
        use domain::store::outbox::{self, OutgoingEmail};
        use domain::users::UserRecord;
        let s = services(db.clone());
        let ada = UserRecord {
            id: "keyed-ada".into(),
            username: "keyed.ada".into(),
            display_name: "Ada".into(),
            email: Some("keyed.ada@example.org".into()),
            active: true,
            external: false,
            flagged: false,
        };
        users::insert_many(&db, &[ada], Timestamp::now())
            .await
            .unwrap();
        let to = |user: &str| OutgoingEmail {
            user_id: Some(UserId(user.to_owned())),
            kind: "credential_notice",
            to: "keyed.ada@example.org".into(),
            subject: "An administrator changed your password".into(),
            body: "Hello".into(),
            html: None,
        };
        let owners = || async {
            sqlx::query_scalar::<_, Option<String>>("SELECT user_id FROM email_outbox ORDER BY id")
                .fetch_all(db.pool())
                .await
                .unwrap()
        };

        // One email for someone who does not exist refuses the whole statement.
        let mut tx = db.begin().await.unwrap();
        let emails = [to("keyed-ada"), to("nobody"), to("keyed-ada")];
        assert!(
            outbox::enqueue_all(&mut tx, &s.keys, &emails, Timestamp::now())
                .await
                .is_err()
        );
        drop(tx);
        assert!(owners().await.is_empty());

        let mut tx = db.begin().await.unwrap();
        let emails = [to("keyed-ada"), to("keyed-ada")];
        outbox::enqueue_all(&mut tx, &s.keys, &emails, Timestamp::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        // Deleting the person keeps their emails, no longer theirs.
        sqlx::query("DELETE FROM users WHERE id = 'keyed-ada'")
            .execute(db.pool())
            .await
            .unwrap();
        assert_eq!(owners().await, [None, None]);

        // A bulk job's items name a job that exists, and go with it.
        let item = |job: &str, seq: i64| {
            sqlx::query(
                "INSERT INTO bulk_items (job_id, seq, user_id, username) VALUES ($1, $2, 'u', 'u')",
            )
            .bind(job.to_owned())
            .bind(seq)
        };
        assert!(item("no-such-job", 1).execute(db.pool()).await.is_err());
        sqlx::query(
            "INSERT INTO bulk_jobs (id, kind, created_by_id, created_by_name, created_by_role, \
             created_at, total) VALUES ('keyed-job', 'force_reset', 'a', 'a', 'administrator', 0, 1)",
        )
        .execute(db.pool())
        .await
        .unwrap();
        item("keyed-job", 1).execute(db.pool()).await.unwrap();
        sqlx::query("DELETE FROM bulk_jobs WHERE id = 'keyed-job'")
            .execute(db.pool())
            .await
            .unwrap();
        let items: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bulk_items")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(items, 0);
    }
);

//! People: Add user with each way in, Edit, Delete, roles, the last administrator, and the
//! password confirmation the dangerous ones ask for. Both engines.

mod common;

use common::*;
use domain::mail::RetryPolicy;
use domain::people::{self, NewPerson};
use domain::smtp_sink::SmtpSink;
use domain::tokens::SecretToken;
use domain::{Db, DomainError, Password, Services, both_engines, resets, users};
use model::people::Access;
use model::time::Timestamp;
use model::user::{Role, UserId};
use std::time::Duration;

fn person(username: &str, access: Access) -> NewPerson {
    NewPerson {
        username: username.into(),
        display_name: format!("{username} Example"),
        email: format!("{username}@example.com"),
        role: Role::User,
        active: true,
        access,
        link_minutes: 60,
    }
}

async fn user(s: &Services, id: &UserId) -> Option<users::User> {
    users::get(s.db.pool(), id).await.unwrap()
}

async fn count_users(s: &Services) -> u64 {
    users::count(&s.db).await.unwrap()
}

fn confirm<T>(result: &Result<T, DomainError>) -> bool {
    matches!(result, Err(DomainError::ConfirmationRequired))
}

fn field_of<T: std::fmt::Debug>(result: Result<T, DomainError>) -> String {
    match result {
        Err(DomainError::Invalid(field)) => field.field,
        other => panic!("expected a field error, got {other:?}"),
    }
}

both_engines!(
    a_welcome_link_from_the_real_smtp_server_sets_the_first_password,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "root", Role::Administrator).await;
        let sink = SmtpSink::start().await;
        let added = people::add(&s, &admin, person("grace", Access::WelcomeLink))
            .await
            .unwrap();
        assert!(added.temporary.is_none());
        assert!(added.link_expires_at.is_some());
        assert_eq!(signs_in(&s, "grace", OLD).await, None, "no password yet");

        let retry = RetryPolicy {
            max_attempts: 1,
            first_delay: Duration::from_millis(100),
            factor: 1,
        };
        mailer_with(&s, sink.port, retry)
            .deliver_due()
            .await
            .unwrap();
        let email = sink.wait_for("grace@example.com").await;
        assert!(email.data.contains("Welcome"));
        let link = email.reset_link().expect("a link in the welcome email");
        let token = SecretToken::from_client(link.rsplit('/').next().unwrap());
        let new = Password::new(NEW);
        resets::complete_link(&s, &token, &new, &new, &client())
            .await
            .unwrap();
        assert!(signs_in(&s, "grace", NEW).await.is_some());
    }
);

both_engines!(
    a_temporary_password_is_shown_once_and_opens_only_the_change_page,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "root", Role::Administrator).await;
        let added = people::add(&s, &admin, person("alan", Access::TemporaryPassword))
            .await
            .unwrap();
        let temporary = added.temporary.expect("a temporary password");
        assert_eq!(
            signs_in(&s, "alan", temporary.password.expose()).await,
            Some(domain::sessions::Purpose::PasswordChange)
        );
        let nothing = people::add(&s, &admin, person("edsger", Access::Nothing))
            .await
            .unwrap();
        assert!(nothing.temporary.is_none() && nothing.link_expires_at.is_none());
        let edsger = user(&s, &nothing.id).await.unwrap();
        assert!(edsger.password_hash.is_none());
    }
);

both_engines!(
    bad_input_names_its_field_and_adds_no_one,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "root", Role::Administrator).await;
        people::add(&s, &admin, person("ada", Access::Nothing))
            .await
            .unwrap();
        let before = count_users(&s).await;
        let cases = [
            // A taken name is said first, before what the way in needs.
            (
                NewPerson {
                    username: "Ada".into(),
                    email: String::new(),
                    ..person("x", Access::WelcomeLink)
                },
                "username",
            ),
            (
                NewPerson {
                    username: "ADA".into(),
                    email: "other@example.com".into(),
                    ..person("x", Access::Nothing)
                },
                "username",
            ),
            (
                NewPerson {
                    email: "Ada@Example.com".into(),
                    ..person("ada2", Access::Nothing)
                },
                "email",
            ),
            (
                NewPerson {
                    username: "has space".into(),
                    ..person("x", Access::Nothing)
                },
                "username",
            ),
            (
                NewPerson {
                    display_name: "line\nbreak".into(),
                    ..person("y", Access::Nothing)
                },
                "display_name",
            ),
            (
                NewPerson {
                    email: String::new(),
                    ..person("z", Access::WelcomeLink)
                },
                "email",
            ),
            (
                NewPerson {
                    active: false,
                    ..person("w", Access::TemporaryPassword)
                },
                "access",
            ),
        ];
        for (bad, field) in cases {
            assert_eq!(field_of(people::add(&s, &admin, bad).await), field);
        }
        assert_eq!(count_users(&s).await, before);
        let outcome: (String,) = sqlx::query_as(
            "SELECT outcome FROM audit_events WHERE action = 'user.created' ORDER BY id DESC",
        )
        .fetch_one(s.db.pool())
        .await
        .unwrap();
        assert_eq!(outcome.0, "failure");
    }
);

both_engines!(
    changing_the_email_voids_links_and_tells_the_old_address,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "root", Role::Administrator).await;
        let sink = SmtpSink::start().await;
        let added = people::add(&s, &admin, person("ada", Access::WelcomeLink))
            .await
            .unwrap();
        people::edit(
            &s,
            &admin,
            &added.id,
            "Ada Lovelace",
            "ada@new.example.com",
            true,
        )
        .await
        .unwrap();
        let retry = RetryPolicy {
            max_attempts: 1,
            first_delay: Duration::from_millis(100),
            factor: 1,
        };
        mailer_with(&s, sink.port, retry)
            .deliver_due()
            .await
            .unwrap();
        let notice = sink.wait_for("ada@example.com").await;
        assert!(
            notice
                .data
                .contains("email address of your account was changed")
        );
        assert!(
            notice.reset_link().is_none(),
            "the welcome link was withdrawn, not sent to the old address"
        );
        let ada = user(&s, &added.id).await.unwrap();
        assert_eq!(ada.display_name, "Ada Lovelace");
        assert_eq!(ada.email.as_deref(), Some("ada@new.example.com"));
        let status = resets::status(&s.db, &added.id).await.unwrap().unwrap();
        assert!(status.voided_at.is_some());
    }
);

both_engines!(
    deactivating_ends_sessions_and_stops_sign_in,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "root", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        assert!(signs_in(&s, "ada", OLD).await.is_some());
        assert_eq!(sessions_of(&s, &ada).await, 1);
        people::edit(&s, &admin, &ada, "ada", "ada@example.com", false)
            .await
            .unwrap();
        assert_eq!(sessions_of(&s, &ada).await, 0);
        assert_eq!(signs_in(&s, "ada", OLD).await, None);
        people::edit(&s, &admin, &ada, "ada", "ada@example.com", true)
            .await
            .unwrap();
        assert!(signs_in(&s, "ada", OLD).await.is_some());
    }
);

both_engines!(
    delete_keeps_the_trail_under_the_username,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "root", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        assert!(signs_in(&s, "ada", OLD).await.is_some());
        people::delete(&s, &admin, &ada).await.unwrap();
        assert!(user(&s, &ada).await.is_none());
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT action, target_name FROM audit_events WHERE target_id = $1 ORDER BY id",
        )
        .bind(&ada.0)
        .fetch_all(s.db.pool())
        .await
        .unwrap();
        let actions: Vec<&str> = rows.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(actions, ["sign_in", "user.deleted"]);
        assert!(rows.iter().all(|(_, name)| name.as_deref() == Some("ada")));
    }
);

both_engines!(the_last_active_administrator_stays, |db: Db| async move {
    let s = services(db);
    let root = actor(&s, "root", Role::Administrator).await;
    let other = create(&s, "other", Role::Administrator).await;
    // Yourself: never from the console.
    for refused in [
        people::set_role(&s, &root, root.id(), Role::User).await,
        people::delete(&s, &root, root.id()).await,
        people::edit(&s, &root, root.id(), "root", "root@example.com", false).await,
    ] {
        assert!(
            matches!(refused, Err(DomainError::Conflict(_))),
            "{refused:?}"
        );
    }
    // Another administrator may go while one stays.
    people::set_role(&s, &root, &other, Role::PasswordManager)
        .await
        .unwrap();
    assert_eq!(user(&s, &other).await.unwrap().role, Role::PasswordManager);
    // An administrator whose own role was revoked meanwhile is refused, even with an
    // authority minted before.
    people::set_role(&s, &root, &other, Role::Administrator)
        .await
        .unwrap();
    let other_actor =
        domain::authority::Actor::for_tests(other.clone(), "other", Role::Administrator);
    people::set_role(&s, &root, &other, Role::User)
        .await
        .unwrap();
    assert!(matches!(
        people::set_role(&s, &other_actor, root.id(), Role::User).await,
        Err(DomainError::Forbidden)
    ));
    assert_eq!(user(&s, root.id()).await.unwrap().role, Role::Administrator);
});

both_engines!(
    two_administrators_demoting_each_other_at_once_leave_one,
    |db: Db| async move {
        let s = services(db);
        let a = actor(&s, "a", Role::Administrator).await;
        let b = actor(&s, "b", Role::Administrator).await;
        for _ in 0..3 {
            let (first, second) = tokio::join!(
                people::set_role(&s, &a, b.id(), Role::User),
                people::set_role(&s, &b, a.id(), Role::User),
            );
            assert!(first.is_ok() != second.is_ok(), "{first:?} {second:?}");
            let admins = users::count_administrators(s.db.pool()).await.unwrap();
            assert_eq!(admins, 1);
            // Put both back for the next round.
            let (winner, loser) = if first.is_ok() { (&a, &b) } else { (&b, &a) };
            people::set_role(&s, winner, loser.id(), Role::Administrator)
                .await
                .unwrap();
        }
    }
);

both_engines!(
    a_role_change_ends_the_targets_sessions,
    |db: Db| async move {
        let s = services(db);
        let root = actor(&s, "root", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        assert!(signs_in(&s, "ada", OLD).await.is_some());
        people::set_role(&s, &root, &ada, Role::PasswordManager)
            .await
            .unwrap();
        assert_eq!(sessions_of(&s, &ada).await, 0);
        let (action, _) = last_action(&s).await;
        assert_eq!(action, "user.role_changed");
    }
);

both_engines!(
    dangerous_operations_ask_for_the_password_after_fifteen_minutes,
    |db: Db| async move {
        let s = services(db);
        let stale = Timestamp::now().plus_seconds(-16 * 60);
        let root = actor(&s, "root", Role::Administrator)
            .await
            .confirmed_at(stale);
        let boss = create(&s, "boss", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        let before = count_users(&s).await;
        assert!(confirm(
            &people::add(&s, &root, person("new", Access::Nothing)).await
        ));
        assert!(confirm(&people::delete(&s, &root, &ada).await));
        assert!(confirm(
            &people::set_role(&s, &root, &ada, Role::PasswordManager).await
        ));
        let new = Password::new(NEW);
        let set = domain::passwords::set_password(
            &s,
            &root,
            &boss,
            &new,
            &new,
            domain::passwords::AfterSet::Keep,
        )
        .await;
        assert!(confirm(&set));
        assert_eq!(count_users(&s).await, before);
        assert_eq!(user(&s, &ada).await.unwrap().role, Role::User);
        assert!(signs_in(&s, "boss", OLD).await.is_some());
        // A plain user's password is the helpdesk's daily work: no confirmation.
        domain::passwords::set_password(
            &s,
            &root,
            &ada,
            &new,
            &new,
            domain::passwords::AfterSet::Keep,
        )
        .await
        .unwrap();
        let denied: (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM audit_events WHERE outcome = 'denied' \
             AND detail = 'confirm your password to continue'",
        )
        .fetch_one(s.db.pool())
        .await
        .unwrap();
        assert_eq!(denied.0, 4);
    }
);

both_engines!(the_helpdesk_changes_no_accounts, |db: Db| async move {
    let s = services(db);
    let helpdesk = actor(&s, "helpdesk", Role::PasswordManager).await;
    let ada = create(&s, "ada", Role::User).await;
    let before = count_users(&s).await;
    assert!(matches!(
        people::add(&s, &helpdesk, person("new", Access::Nothing)).await,
        Err(DomainError::Forbidden)
    ));
    assert!(matches!(
        people::edit(&s, &helpdesk, &ada, "Renamed", "", true).await,
        Err(DomainError::Forbidden)
    ));
    assert!(matches!(
        people::delete(&s, &helpdesk, &ada).await,
        Err(DomainError::Forbidden)
    ));
    assert!(matches!(
        people::set_role(&s, &helpdesk, &ada, Role::Administrator).await,
        Err(DomainError::Forbidden)
    ));
    assert_eq!(count_users(&s).await, before);
    let ada = user(&s, &ada).await.unwrap();
    assert_eq!((ada.display_name.as_str(), ada.role), ("ada", Role::User));
});

both_engines!(
    moving_a_mailbox_or_switching_someone_off_asks_for_the_password,
    |db: Db| async move {
        let s = services(db);
        let stale = Timestamp::now().plus_seconds(-16 * 60);
        let root = actor(&s, "root", Role::Administrator)
            .await
            .confirmed_at(stale);
        let boss = create(&s, "boss", Role::Administrator).await;
        assert!(confirm(
            &people::edit(&s, &root, &boss, "boss", "mallory@example.net", true).await
        ));
        assert!(confirm(
            &people::edit(&s, &root, &boss, "boss", "boss@example.com", false).await
        ));
        let unchanged = user(&s, &boss).await.unwrap();
        assert_eq!(unchanged.email.as_deref(), Some("boss@example.com"));
        assert!(unchanged.active);
        // A display name is not a key to the account.
        people::edit(&s, &root, &boss, "The Boss", "boss@example.com", true)
            .await
            .unwrap();
    }
);

/// Every match of `term` by a full scan, in username order: what the index must agree with.
async fn scanned(db: &Db, term: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT username FROM users WHERE search_text LIKE $1 ORDER BY username_key")
        .bind(format!("%{term}%"))
        .fetch_all(db.pool())
        .await
        .unwrap()
}

/// Every page of a search, walked with the keyset cursor.
async fn searched(db: &Db, term: &str, page_size: u32) -> Vec<String> {
    first_pages(db, term, page_size, usize::MAX).await
}

both_engines!(
    search_by_index_finds_what_a_scan_finds_and_follows_writes,
    |db: Db| async move {
        domain::seed::seed_users(&db, 2_500).await.unwrap();
        // Rare terms (served from the index alone) and common ones (thousands of matches,
        // served by walking the username order), each against a full scan.
        for term in [
            "lovelace",
            "hopper1",
            "ada.",
            "example.org",
            "example",
            "xyzzy",
        ] {
            assert_eq!(
                searched(&db, term, 400).await,
                scanned(&db, term).await,
                "{term}"
            );
        }
        // One or two characters: usernames that start with them.
        let short = searched(&db, "gr", 1_000).await;
        assert!(!short.is_empty());
        assert!(short.iter().all(|name| name.starts_with("gr")), "{short:?}");

        // The index follows every write, in the writer's transaction.
        let s = services(db.clone());
        let root = actor(&s, "root", Role::Administrator).await;
        let id = create(&s, "quill.person", Role::User).await;
        assert_eq!(searched(&db, "quill", 50).await, ["quill.person"]);
        people::edit(
            &s,
            &root,
            &id,
            "Zebediah Marchbanks",
            "zeb@example.net",
            true,
        )
        .await
        .unwrap();
        assert_eq!(searched(&db, "marchbank", 50).await, ["quill.person"]);
        assert_eq!(searched(&db, "zeb@example.net", 50).await, ["quill.person"]);
        assert!(searched(&db, "quill.person@", 50).await.is_empty());
        people::delete(&s, &root, &id).await.unwrap();
        assert!(searched(&db, "marchbank", 50).await.is_empty());
        // Quotes and LIKE's wildcards are taken literally.
        assert!(searched(&db, "\"a\" OR x", 50).await.is_empty());
        assert!(searched(&db, "a%c", 50).await.is_empty());
    }
);

/// `count` people named `{prefix}{n}`, in one batch of inserts.
async fn add_named(db: &Db, prefix: &str, count: usize) {
    let records: Vec<users::UserRecord> = (0..count)
        .map(|n| users::UserRecord {
            id: uuid::Uuid::new_v4().to_string(),
            username: format!("{prefix}{n:05}"),
            display_name: format!("Person {n}"),
            email: None,
            active: true,
            external: false,
            flagged: false,
        })
        .collect();
    for batch in records.chunks(500) {
        users::insert_many(db, batch, Timestamp::now())
            .await
            .unwrap();
    }
}

/// The first `pages` pages of a search, walked with the keyset cursor.
async fn first_pages(db: &Db, term: &str, page_size: u32, pages: usize) -> Vec<String> {
    let mut found = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..pages {
        let (page, next) = users::list_page(db, term, after.as_deref(), page_size)
            .await
            .unwrap();
        found.extend(page.into_iter().map(|u| u.username));
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    found
}

both_engines!(
    a_common_term_bunched_late_in_the_username_order_is_found_through_the_index,
    |db: Db| async move {
        // 12,000 people first in the username order who do not match (more than PostgreSQL's
        // walk of 10,000 rows), then 2,500 who match "later" and 31,000 who match ".last":
        // common terms, bunched where a walk from the start does not reach, so their pages are
        // cut from every match, sorted.
        add_named(&db, "aa.early", 12_000).await;
        add_named(&db, "mm.later", 2_500).await;
        add_named(&db, "zz.last", 31_000).await;
        let later = searched(&db, "later", 400).await;
        assert_eq!(later.len(), 2_500);
        assert_eq!(later, scanned(&db, "later").await);
        let last = first_pages(&db, ".last", 400, 2).await;
        assert_eq!(last.len(), 800);
        assert_eq!(last[..], scanned(&db, ".last").await[..800]);
        // A page that starts inside the bunch is walked from there.
        let (page, _) = users::list_page(&db, "later", Some("mm.later01000"), 3)
            .await
            .unwrap();
        let names: Vec<_> = page.into_iter().map(|u| u.username).collect();
        assert_eq!(names, ["mm.later01001", "mm.later01002", "mm.later01003"]);
    }
);

/// A person of the crowd test: a username and nothing else that matters.
fn crowded(username: String) -> users::UserRecord {
    users::UserRecord {
        id: uuid::Uuid::new_v4().to_string(),
        username,
        display_name: "Crowded Person".to_owned(),
        email: None,
        active: true,
        external: false,
        flagged: false,
    }
}

/// One person per call, each in a transaction of its own.
async fn add_one(db: &Db, username: &str) {
    users::insert_many(db, &[crowded(username.to_owned())], Timestamp::now())
        .await
        .unwrap();
}

both_engines!(
    people_inserted_into_one_place_are_found_in_username_order,
    |db: Db| async move {
        add_one(&db, "crowd.a").await;
        add_one(&db, "crowd.z").await;
        // Each one just before the last: SQLite halves the same gap of search keys every
        // time, which runs out after about thirty. Alone in the table, the keys are spread
        // out up to the ends of their range.
        for n in (0..150).rev() {
            add_one(&db, &format!("crowd.m{n:03}")).await;
        }
        domain::seed::seed_users(&db, 300).await.unwrap();
        // The same in one statement, and through a single insert in a transaction.
        let batch: Vec<users::UserRecord> = (0..150)
            .rev()
            .map(|n| crowded(format!("crowd.k{n:03}")))
            .collect();
        users::insert_many(&db, &batch, Timestamp::now())
            .await
            .unwrap();
        let s = services(db.clone());
        for n in (0..70).rev() {
            create(&s, &format!("crowd.b{n:03}"), Role::User).await;
        }

        let crowd = scanned(&db, "crowd.").await;
        assert_eq!(crowd.len(), 2 + 150 + 150 + 70);
        assert_eq!(searched(&db, "crowd.", 40).await, crowd);
        assert_eq!(
            searched(&db, "rowd.m", 7).await,
            scanned(&db, "rowd.m").await
        );
        assert_eq!(
            searched(&db, "lovelace", 9).await,
            scanned(&db, "lovelace").await
        );

        if db.engine() == domain::db::Engine::Sqlite {
            let (unplaced, out_of_order): (i64, i64) = sqlx::query_as(
                "SELECT COUNT(*) FILTER (WHERE search_key IS NULL), \
                 COUNT(*) FILTER (WHERE search_key <= before) \
                 FROM (SELECT search_key, LAG(search_key) OVER (ORDER BY username_key) \
                 AS before FROM users)",
            )
            .fetch_one(db.pool())
            .await
            .unwrap();
            assert_eq!((unplaced, out_of_order), (0, 0));
            // The index holds exactly the table's rows under their keys.
            sqlx::query("INSERT INTO users_search (users_search) VALUES ('integrity-check')")
                .execute(db.pool())
                .await
                .unwrap();
        }
    }
);

//! Defects an attack run found, each with the test that failed before its fix, on SQLite and
//! PostgreSQL: secrets readable in the database's files, a temporary password spent twice, an
//! expired link mailed, a repeated Bulk Change start, and credential changes the owner was
//! never told of.

mod common;

use common::*;
use domain::bulk::{JobOptions, Selection};
use domain::db::Engine;
use domain::mail::{Mailer, RetryPolicy};
use domain::passwords::AfterSet;
use domain::resets::{self, LinkDelivery, LinkRequest};
use domain::smtp_sink::SmtpSink;
use domain::{Db, Password, Services, both_engines, bulk, passwords};
use model::bulk::BulkKind;
use model::reset::DeliveryState;
use model::time::Timestamp;
use model::user::Role;

const EMAILED_LINK: LinkRequest = LinkRequest {
    minutes: 5,
    invalidate_password: false,
    delivery: LinkDelivery::Email,
};

fn mailer(s: &Services, port: u16) -> Mailer {
    mailer_with(s, port, RetryPolicy::default())
}

/// Every byte the database keeps on disk: SQLite's file, WAL and shared memory, or the heap
/// file of PostgreSQL's outbox table after a checkpoint (as an attacker who can read files or
/// run a read-only query would get them).
async fn raw_database_bytes(db: &Db) -> Vec<u8> {
    match db.engine() {
        Engine::Sqlite => {
            let (_, _, file): (i64, String, String) = sqlx::query_as("PRAGMA database_list")
                .fetch_one(db.pool())
                .await
                .unwrap();
            let mut bytes = Vec::new();
            for suffix in ["", "-wal", "-shm"] {
                if let Ok(b) = std::fs::read(format!("{file}{suffix}")) {
                    bytes.extend(b);
                }
            }
            assert!(!bytes.is_empty(), "read the SQLite files at {file}");
            bytes
        }
        Engine::Postgres => {
            sqlx::query("CHECKPOINT").execute(db.pool()).await.unwrap();
            let mut bytes = Vec::new();
            for table in ["email_outbox", "password_resets", "users"] {
                let (b,): (Vec<u8>,) = sqlx::query_as(&format!(
                    "SELECT pg_read_binary_file(pg_relation_filepath('{table}'))"
                ))
                .fetch_one(db.pool())
                .await
                .unwrap();
                bytes.extend(b);
            }
            bytes
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// What the attacker grepped for: `/reset/` and a 43-character token.
fn holds_a_link(bytes: &[u8]) -> bool {
    let marker = b"/reset/";
    bytes.windows(marker.len() + 43).any(|w| {
        w.starts_with(marker)
            && w[marker.len()..]
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    })
}

both_engines!(
    queued_links_and_passwords_are_not_readable_from_the_database_files,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        let bob = create(&s, "bob", Role::User).await;
        let cy = create(&s, "cy", Role::User).await;
        let dee = create(&s, "dee", Role::User).await;

        // A link, a temporary password with access info, and a generated password: all queued,
        // with no mail server to take them.
        resets::send_link(&s, &admin, &ada, EMAILED_LINK)
            .await
            .unwrap();
        let temporary = resets::generate_temporary(&s, &admin, &bob, true)
            .await
            .unwrap();
        resets::generate_emailed(&s, &admin, &cy).await.unwrap();
        let set = Password::new("quartz kettle meadow 1887");
        passwords::set_password(&s, &admin, &dee, &set, &set, AfterSet::EmailAndMustReset)
            .await
            .unwrap();

        let queued = raw_database_bytes(&s.db).await;
        assert!(!holds_a_link(&queued), "a reset link is readable on disk");
        assert!(!contains(&queued, temporary.password.expose()));
        assert!(!contains(&queued, "quartz kettle meadow 1887"));
        assert!(
            !contains(&queued, "Temporary password:"),
            "an email body in the clear"
        );

        // Delivered, the links and passwords reach the mailbox intact, and still nothing on disk.
        let sink = SmtpSink::start().await;
        mailer(&s, sink.port).deliver_due().await.unwrap();
        let to_bob = sink.wait_for("bob@example.com").await;
        assert!(to_bob.text().contains(temporary.password.expose()));
        assert!(
            sink.wait_for("ada@example.com")
                .await
                .reset_link()
                .is_some()
        );
        let to_dee = sink.wait_for("dee@example.com").await;
        assert!(to_dee.text().contains("quartz kettle meadow 1887"));
        let sent = raw_database_bytes(&s.db).await;
        assert!(!holds_a_link(&sent));
        assert!(!contains(&sent, temporary.password.expose()));
    }
);

both_engines!(
    a_temporary_password_signs_in_once_under_concurrency,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        for round in 0..4 {
            // Each round stands alone: the per-name sign-in limit is not what is tested here.
            sqlx::query("DELETE FROM rate_limits")
                .execute(s.db.pool())
                .await
                .unwrap();
            let temporary = resets::generate_temporary(&s, &admin, &ada, false)
                .await
                .unwrap();
            let password = temporary.password.expose().to_owned();
            let attempts = (0..16).map(|_| {
                let (s, password) = (s.clone(), password.clone());
                tokio::spawn(async move { signs_in(&s, "ada", &password).await })
            });
            let mut successes = 0;
            for attempt in attempts {
                successes += usize::from(attempt.await.unwrap().is_some());
            }
            assert_eq!(
                successes, 1,
                "round {round}: one sign-in per temporary password"
            );
        }
    }
);

both_engines!(
    an_email_whose_link_expired_while_queued_is_withdrawn,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        let bob = create(&s, "bob", Role::User).await;
        resets::send_link(&s, &admin, &ada, EMAILED_LINK)
            .await
            .unwrap();
        resets::generate_emailed(&s, &admin, &bob).await.unwrap();
        // The mail server was down past the five minutes the link and password were good for.
        sqlx::query("UPDATE password_resets SET expires_at = $1")
            .bind(Timestamp::now().millis() - 1)
            .execute(s.db.pool())
            .await
            .unwrap();

        let sink = SmtpSink::start().await;
        mailer(&s, sink.port).deliver_due().await.unwrap();
        assert!(sink.received().is_empty(), "nothing expired may be sent");
        let card = resets::status(&s.db, &ada).await.unwrap().unwrap();
        let email = card.email.expect("the link's email");
        assert_eq!(email.state, DeliveryState::Cancelled);
        assert!(
            email
                .describe()
                .contains("the link expired before it could be sent"),
            "{}",
            email.describe()
        );
        let card = resets::status(&s.db, &bob).await.unwrap().unwrap();
        assert!(
            card.email
                .unwrap()
                .describe()
                .contains("the temporary password expired")
        );
    }
);

both_engines!(
    an_email_whose_link_was_used_or_revoked_while_queued_is_withdrawn,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        resets::send_link(&s, &admin, &ada, EMAILED_LINK)
            .await
            .unwrap();
        let reset_id: (String,) = sqlx::query_as(
            "SELECT id FROM password_resets WHERE used_at IS NULL AND voided_at IS NULL",
        )
        .fetch_one(s.db.pool())
        .await
        .unwrap();
        resets::revoke(&s, &admin, &ada, &reset_id.0).await.unwrap();
        // Revoke withdrew it already; the mailer must not bring it back.
        let sink = SmtpSink::start().await;
        mailer(&s, sink.port).deliver_due().await.unwrap();
        assert!(sink.received().is_empty());

        // Queued, then spent by a sign-in before the mail server came back.
        let bob = create(&s, "bob", Role::User).await;
        let temporary = resets::generate_temporary(&s, &admin, &bob, true)
            .await
            .unwrap();
        assert!(
            signs_in(&s, "bob", temporary.password.expose())
                .await
                .is_some()
        );
        mailer(&s, sink.port).deliver_due().await.unwrap();
        assert!(
            sink.received()
                .iter()
                .all(|m| !m.text().contains(temporary.password.expose())),
            "a spent temporary password was mailed"
        );
    }
);

both_engines!(
    starting_a_bulk_change_twice_with_one_key_makes_one_job,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        for name in ["team-a", "team-b"] {
            create(&s, name, Role::User).await;
        }
        let options = JobOptions {
            kind: BulkKind::ForceReset,
            link_minutes: 60,
            invalidate_password: false,
        };
        let team = Selection::Search("team-".into());
        let first = bulk::create_job(&s, &admin, options, &team, "key-1")
            .await
            .unwrap();
        let again = bulk::create_job(&s, &admin, options, &team, "key-1")
            .await
            .unwrap();
        assert_eq!(first, again);
        // Two at the same moment, as a double click sends them.
        let racing = (0..2).map(|_| {
            let (s, admin, team) = (s.clone(), admin.clone(), team.clone());
            tokio::spawn(async move { bulk::create_job(&s, &admin, options, &team, "key-2").await })
        });
        let mut ids = Vec::new();
        for start in racing {
            ids.push(start.await.unwrap().unwrap());
        }
        assert_eq!(ids[0], ids[1]);
        let (jobs,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bulk_jobs")
            .fetch_one(s.db.pool())
            .await
            .unwrap();
        assert_eq!(jobs, 2, "one job per key");
        let refused = bulk::create_job(&s, &admin, options, &team, "no spaces allowed").await;
        assert!(refused.is_err());
    }
);

/// The notices queued to `to`, by their kind.
async fn notices_to(s: &Services, to: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM email_outbox WHERE to_address = $1 AND kind = 'credential_notice'",
    )
    .bind(to)
    .fetch_one(s.db.pool())
    .await
    .unwrap();
    n
}

both_engines!(
    every_credential_change_by_an_administrator_tells_the_owner,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let helpdesk = actor(&s, "helpdesk", Role::PasswordManager).await;
        let ada = create(&s, "ada", Role::User).await;
        let to = "ada@example.com";
        let new = Password::new(NEW);

        passwords::set_password(&s, &helpdesk, &ada, &new, &new, AfterSet::Keep)
            .await
            .unwrap();
        assert_eq!(notices_to(&s, to).await, 1, "Change Password");
        passwords::force_reset(&s, &admin, &ada).await.unwrap();
        assert_eq!(
            notices_to(&s, to).await,
            2,
            "Force Password Reset on Next Login"
        );
        resets::generate_temporary(&s, &admin, &ada, false)
            .await
            .unwrap();
        assert_eq!(notices_to(&s, to).await, 3, "Generate Temporary Password");
        let copy_link = LinkRequest {
            minutes: 60,
            invalidate_password: true,
            delivery: LinkDelivery::Shown,
        };
        resets::send_link(&s, &admin, &ada, copy_link)
            .await
            .unwrap();
        assert_eq!(
            notices_to(&s, to).await,
            4,
            "Copy link that kills the password"
        );

        // Emails that tell the user themselves get no second notice.
        resets::generate_emailed(&s, &admin, &ada).await.unwrap();
        resets::send_link(&s, &admin, &ada, EMAILED_LINK)
            .await
            .unwrap();
        assert_eq!(notices_to(&s, to).await, 4);

        // The notice reaches the mailbox, naming who did it, and carries no secret.
        let sink = SmtpSink::start().await;
        mailer(&s, sink.port).deliver_due().await.unwrap();
        let notices: Vec<_> = sink
            .received()
            .into_iter()
            .filter(|m| m.text().contains("administrator \"helpdesk\""))
            .collect();
        assert_eq!(notices.len(), 1);
        assert!(notices[0].text().contains("set a new password"));
        assert!(!notices[0].text().contains(NEW));
    }
);

both_engines!(a_disabled_account_gets_no_mail, |db: Db| async move {
    let s = services(db);
    let admin = actor(&s, "admin", Role::Administrator).await;
    let ada = create(&s, "ada", Role::User).await;
    let new = Password::new(NEW);
    passwords::set_password(&s, &admin, &ada, &new, &new, AfterSet::Keep)
        .await
        .unwrap();
    assert_eq!(notices_to(&s, "ada@example.com").await, 1);
    // Disabled while the notice waited for the mail server: it is withdrawn, not sent.
    sqlx::query("UPDATE users SET active = 0 WHERE id = $1")
        .bind(&ada.0)
        .execute(s.db.pool())
        .await
        .unwrap();
    let sink = SmtpSink::start().await;
    mailer(&s, sink.port).deliver_due().await.unwrap();
    assert!(sink.received().is_empty());
    let (state, reason): (String, Option<String>) =
        sqlx::query_as("SELECT state, last_error FROM email_outbox WHERE to_address = $1")
            .bind("ada@example.com")
            .fetch_one(s.db.pool())
            .await
            .unwrap();
    assert_eq!(state, "cancelled");
    assert_eq!(reason.as_deref(), Some("the account was disabled"));
    // And no operation on a disabled account queues anything.
    let refused = passwords::set_password(&s, &admin, &ada, &new, &new, AfterSet::Keep).await;
    assert!(matches!(refused, Err(domain::DomainError::Conflict(_))));
    assert_eq!(notices_to(&s, "ada@example.com").await, 1);
});

both_engines!(
    an_administrator_manages_their_own_password_only_as_themself,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let new = Password::new(NEW);
        let own = passwords::set_password(&s, &admin, admin.id(), &new, &new, AfterSet::Keep).await;
        assert!(matches!(own, Err(domain::DomainError::Conflict(m)) if m.contains("your own")));
        assert!(
            passwords::force_reset(&s, &admin, admin.id())
                .await
                .is_err()
        );
        assert!(
            signs_in(&s, "admin", OLD).await.is_some(),
            "nothing changed"
        );
    }
);

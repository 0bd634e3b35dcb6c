//! Bulk Change as a background job, on SQLite and PostgreSQL.

mod common;

use common::*;
use domain::bulk::{self, JobOptions, Selection};
use domain::{Db, DomainError, both_engines, users};
use model::bulk::{BulkKind, ItemOutcome, SkipReason};
use model::time::Timestamp;
use model::user::{Role, UserId};

const FORCE: JobOptions = JobOptions {
    kind: BulkKind::ForceReset,
    link_minutes: 60,
    invalidate_password: false,
};
const LINKS: JobOptions = JobOptions {
    kind: BulkKind::SendLink,
    link_minutes: 60,
    invalidate_password: true,
};

async fn exec(db: &Db, sql: &str, id: &UserId) {
    sqlx::query(sql)
        .bind(&id.0)
        .execute(db.pool())
        .await
        .unwrap();
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query_as::<_, (i64,)>(sql)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .0
}

/// The job's tally recounted from its items, one row each: what the counts the batches keep in
/// the job's row must say (while none of its emails was sent or failed).
async fn recounted(s: &domain::Services, admin: &domain::authority::Actor, job: &str) {
    let items: Vec<(String, i64)> = sqlx::query_as(
        "SELECT outcome, COUNT(*) FROM bulk_items WHERE job_id = $1 AND outcome IS NOT NULL \
         GROUP BY outcome ORDER BY outcome",
    )
    .bind(job)
    .fetch_all(s.db.pool())
    .await
    .unwrap();
    let items: Vec<(String, u64)> = items.into_iter().map(|(k, n)| (k, n as u64)).collect();
    let tally = bulk::job(&s.db, admin, job).await.unwrap().unwrap().tally;
    assert_eq!(tally, items);
}

/// Five "team" users: two plain, one flagged, one disabled, one without email.
async fn team(s: &domain::Services) -> Vec<UserId> {
    let mut ids = Vec::new();
    for name in ["team-ann", "team-bob", "team-cat", "team-dan", "team-eve"] {
        ids.push(create(s, name, Role::User).await);
    }
    exec(
        &s.db,
        "UPDATE users SET must_change_password = 1 WHERE id = $1",
        &ids[2],
    )
    .await;
    exec(&s.db, "UPDATE users SET active = 0 WHERE id = $1", &ids[3]).await;
    exec(
        &s.db,
        "UPDATE users SET email = NULL, email_key = NULL WHERE id = $1",
        &ids[4],
    )
    .await;
    ids
}

both_engines!(
    the_preview_counts_who_is_affected_and_who_is_skipped,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ids = team(&s).await;
        let selection = Selection::Search("team-".into());
        let preview = bulk::preview(&s.db, &admin, BulkKind::ForceReset, &selection)
            .await
            .unwrap();
        assert_eq!((preview.selected, preview.affected), (5, 3));
        assert_eq!(
            preview.skipped,
            [(SkipReason::Inactive, 1), (SkipReason::AlreadyFlagged, 1)]
        );
        let links = bulk::preview(&s.db, &admin, BulkKind::SendLink, &selection)
            .await
            .unwrap();
        assert_eq!(links.affected, 3);
        assert!(
            links
                .examples
                .contains(&("team-eve".into(), SkipReason::NoEmail))
        );
        // Ticked one by one, with the administrator among them: they are skipped as themselves.
        let mut ticked = ids.clone();
        ticked.push(admin.id().clone());
        let ticked = bulk::preview(&s.db, &admin, BulkKind::SendLink, &Selection::Ids(ticked))
            .await
            .unwrap();
        assert_eq!((ticked.selected, ticked.affected), (6, 3));
        assert_eq!(
            ticked.skipped,
            [
                (SkipReason::Yourself, 1),
                (SkipReason::Inactive, 1),
                (SkipReason::NoEmail, 1)
            ]
        );
        assert!(
            ticked
                .examples
                .contains(&("admin".into(), SkipReason::Yourself))
        );
        // A preview changes nothing.
        assert_eq!(count(&s.db, "SELECT COUNT(*) FROM bulk_jobs").await, 0);
    }
);

both_engines!(
    a_bulk_reset_runs_in_the_background_and_reports_per_user,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ids = team(&s).await;
        signs_in(&s, "team-ann", OLD).await;
        let job = bulk::create_job(
            &s,
            &admin,
            FORCE,
            &Selection::Search("team-".into()),
            &bulk_key(),
        )
        .await
        .unwrap();
        let before = bulk::job(&s.db, &admin, &job).await.unwrap().unwrap();
        assert_eq!(
            (before.total, before.processed, before.is_done()),
            (5, 0, false)
        );

        assert!(bulk::run_next(&s).await.unwrap());
        let after = bulk::job(&s.db, &admin, &job).await.unwrap().unwrap();
        assert!(after.is_done());
        assert_eq!(after.percent(), 100);
        assert_eq!(
            after.tally,
            [("reset".to_owned(), 3), ("skipped".to_owned(), 2)]
        );
        assert_eq!(sessions_of(&s, &ids[0]).await, 0);
        assert_eq!(
            signs_in(&s, "team-ann", OLD).await,
            Some(domain::sessions::Purpose::PasswordChange)
        );
        let report = bulk::items(&s.db, &admin, &job, 0, 10).await.unwrap();
        assert_eq!(report[0].username, "team-ann");
        assert_eq!(report[0].outcome, Some(ItemOutcome::Reset));
        assert_eq!(
            report[2].reason.as_deref(),
            Some("a reset is already pending")
        );
        let csv = bulk::report_csv(&s.db, &admin, &job).await.unwrap();
        assert!(
            csv.starts_with("username,outcome,reason,email\r\nteam-ann,Reset,,\r\n"),
            "{csv}"
        );
        assert_eq!(csv.lines().count(), 6);
        assert!(!bulk::run_next(&s).await.unwrap(), "nothing left to do");
    }
);

both_engines!(a_resumed_job_sends_no_second_link, |db: Db| async move {
    let s = services(db);
    let admin = actor(&s, "admin", Role::Administrator).await;
    let ids = team(&s).await;
    let job = bulk::create_job(&s, &admin, LINKS, &Selection::Ids(ids.clone()), &bulk_key())
        .await
        .unwrap();
    bulk::run_next(&s).await.unwrap();
    let links = "SELECT COUNT(*) FROM password_resets";
    let emails = "SELECT COUNT(*) FROM email_outbox";
    // ann, bob, cat (flagged users may still get a link); dan inactive, eve no email.
    assert_eq!(count(&s.db, links).await, 3);
    assert_eq!(count(&s.db, emails).await, 3);

    // As if the server had died before marking the job finished: run it again.
    sqlx::query("UPDATE bulk_jobs SET finished_at = NULL, lease_until = NULL")
        .execute(s.db.pool())
        .await
        .unwrap();
    assert!(bulk::run_next(&s).await.unwrap());
    assert_eq!(count(&s.db, links).await, 3);
    assert_eq!(count(&s.db, emails).await, 3);
    let done = bulk::job(&s.db, &admin, &job).await.unwrap().unwrap();
    assert_eq!(done.processed, 5);
    recounted(&s, &admin, &job).await;
});

both_engines!(
    a_link_jobs_tally_follows_each_email_to_its_end,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ids = team(&s).await;
        let job = bulk::create_job(&s, &admin, LINKS, &Selection::Ids(ids), &bulk_key())
            .await
            .unwrap();
        bulk::run_next(&s).await.unwrap();
        let tally = |s: &domain::Services| {
            let (db, admin, job) = (s.db.clone(), admin.clone(), job.clone());
            async move { bulk::job(&db, &admin, &job).await.unwrap().unwrap().tally }
        };
        assert_eq!(
            tally(&s).await,
            [("link_queued".to_owned(), 3), ("skipped".to_owned(), 2)]
        );

        // The mailer ends ann's email sent and bob's failed; cat's is still on its way.
        for (who, state) in [("team-ann", "sent"), ("team-bob", "failed")] {
            sqlx::query(
                "UPDATE email_outbox SET state = $1 WHERE id = \
                 (SELECT email_id FROM bulk_items WHERE username = $2)",
            )
            .bind(state)
            .bind(who)
            .execute(s.db.pool())
            .await
            .unwrap();
        }
        assert_eq!(
            tally(&s).await,
            [
                ("email_failed".to_owned(), 1),
                ("link_queued".to_owned(), 1),
                ("link_sent".to_owned(), 1),
                ("skipped".to_owned(), 2)
            ]
        );
    }
);

both_engines!(
    a_reset_link_goes_out_before_a_bulk_jobs_notices,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ids = team(&s).await;
        // Reset Password of the team tells ann and bob by email.
        bulk::create_job(&s, &admin, FORCE, &Selection::Ids(ids), &bulk_key())
            .await
            .unwrap();
        bulk::run_next(&s).await.unwrap();
        assert_eq!(count(&s.db, "SELECT COUNT(*) FROM email_outbox").await, 2);

        // Then someone is sent a link: it is claimed first, though queued last.
        let later = create(&s, "later", Role::User).await;
        let link = domain::resets::LinkRequest {
            minutes: 60,
            invalidate_password: false,
            delivery: domain::resets::LinkDelivery::Email,
        };
        domain::resets::send_link(&s, &admin, &later, link)
            .await
            .unwrap();
        let mut claimed = Vec::new();
        while let Some(email) = domain::outbox::claim_next(&s.db, Timestamp::now(), 60_000, &[])
            .await
            .unwrap()
        {
            claimed.push(email.to);
        }
        // (The two notices share a time: either may come first.)
        assert_eq!(claimed.len(), 3);
        assert_eq!(claimed[0], "later@example.com");
    }
);

both_engines!(a_leased_job_is_left_to_its_runner, |db: Db| async move {
    let s = services(db);
    let admin = actor(&s, "admin", Role::Administrator).await;
    team(&s).await;
    bulk::create_job(
        &s,
        &admin,
        FORCE,
        &Selection::Search("team-".into()),
        &bulk_key(),
    )
    .await
    .unwrap();
    sqlx::query("UPDATE bulk_jobs SET lease_until = $1")
        .bind(model::time::Timestamp::now().millis() + 60_000)
        .execute(s.db.pool())
        .await
        .unwrap();
    assert!(!bulk::run_next(&s).await.unwrap());
    assert_eq!(
        count(
            &s.db,
            "SELECT COUNT(*) FROM bulk_items WHERE outcome IS NULL"
        )
        .await,
        5
    );
});

both_engines!(
    only_administrators_may_change_in_bulk_and_bad_input_changes_nothing,
    |db: Db| async move {
        let s = services(db);
        let helpdesk = actor(&s, "helpdesk", Role::PasswordManager).await;
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ids = team(&s).await;
        let all = Selection::Ids(ids);
        assert!(matches!(
            bulk::create_job(&s, &helpdesk, FORCE, &all, &bulk_key()).await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            bulk::preview(&s.db, &helpdesk, BulkKind::ForceReset, &all).await,
            Err(DomainError::Forbidden)
        ));
        let short = JobOptions {
            link_minutes: 1,
            ..LINKS
        };
        assert!(matches!(
            bulk::create_job(&s, &admin, short, &all, &bulk_key()).await,
            Err(DomainError::Invalid(f)) if f.field == "minutes"
        ));
        assert!(matches!(
            bulk::create_job(&s, &admin, FORCE, &Selection::Ids(Vec::new()), &bulk_key()).await,
            Err(DomainError::Invalid(f)) if f.field == "selection"
        ));
        assert!(matches!(
            bulk::create_job(&s, &admin, FORCE, &Selection::Search("nobody-matches".into()), &bulk_key()).await,
            Err(DomainError::Invalid(f)) if f.field == "selection"
        ));
        assert_eq!(count(&s.db, "SELECT COUNT(*) FROM bulk_jobs").await, 0);
    }
);

both_engines!(a_job_over_seeded_users_finishes, |db: Db| async move {
    let s = services(db);
    let admin = actor(&s, "admin", Role::Administrator).await;
    domain::seed::seed_users(&s.db, 300).await.unwrap();
    let job = bulk::create_job(
        &s,
        &admin,
        LINKS,
        &Selection::Search("a".into()),
        &bulk_key(),
    )
    .await
    .unwrap();
    assert!(bulk::run_next(&s).await.unwrap());
    let done = bulk::job(&s.db, &admin, &job).await.unwrap().unwrap();
    assert!(done.is_done(), "{done:?}");
    assert_eq!(done.processed, done.total);
    assert!(!done.tally.iter().any(|(k, _)| k == "failed"), "{done:?}");
    recounted(&s, &admin, &job).await;
});

both_engines!(
    a_job_cut_off_mid_way_resumes_without_repeating_anyone,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        // More than two batches (of 2,000).
        domain::seed::seed_users(&s.db, 4_300).await.unwrap();
        let job = bulk::create_job(
            &s,
            &admin,
            LINKS,
            &Selection::Search(String::new()),
            &bulk_key(),
        )
        .await
        .unwrap();
        let total = bulk::job(&s.db, &admin, &job).await.unwrap().unwrap().total;

        // The runner dies (a crash, a deploy) once some batches have committed.
        let runner = tokio::spawn({
            let s = s.clone();
            async move { bulk::run_next(&s).await }
        });
        let cut_at = loop {
            let progress = bulk::job(&s.db, &admin, &job)
                .await
                .unwrap()
                .unwrap()
                .processed;
            if progress > 0 {
                runner.abort();
                break progress;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        };
        let _ = runner.await;
        let cut = bulk::job(&s.db, &admin, &job).await.unwrap().unwrap();
        assert!(
            cut.processed < total,
            "cut off at {cut_at}, found {} of {total}",
            cut.processed
        );
        // Every committed batch recorded its outcomes with its changes: nothing half-done.
        let issued = "SELECT COUNT(*) FROM password_resets";
        let queued_items = "SELECT COUNT(*) FROM bulk_items WHERE outcome = 'link_queued'";
        assert_eq!(count(&s.db, issued).await, count(&s.db, queued_items).await);

        // Its lease runs out, and another runner (another instance, or this one restarted)
        // takes the job over where it stopped.
        assert!(!bulk::run_next(&s).await.unwrap(), "the lease still holds");
        sqlx::query("UPDATE bulk_jobs SET lease_until = 0")
            .execute(s.db.pool())
            .await
            .unwrap();
        assert!(bulk::run_next(&s).await.unwrap());
        let done = bulk::job(&s.db, &admin, &job).await.unwrap().unwrap();
        assert!(done.is_done());
        assert_eq!(done.processed, total);
        // One link and one email per affected user, however the work was split.
        let linked = count(&s.db, queued_items).await;
        assert!(linked > 0);
        assert_eq!(count(&s.db, issued).await, linked);
        recounted(&s, &admin, &job).await;
        assert_eq!(
            count(
                &s.db,
                "SELECT COUNT(*) FROM email_outbox WHERE bulk_job_id IS NOT NULL"
            )
            .await,
            linked
        );
        assert_eq!(
            count(&s.db, "SELECT COUNT(*) FROM email_outbox").await,
            linked
        );
        assert_eq!(
            count(
                &s.db,
                "SELECT COUNT(*) FROM (SELECT user_id FROM password_resets \
                 GROUP BY user_id HAVING COUNT(*) > 1) AS twice"
            )
            .await,
            0
        );
    }
);

both_engines!(
    a_job_stops_when_its_administrator_is_demoted,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        team(&s).await;
        let job = bulk::create_job(
            &s,
            &admin,
            FORCE,
            &Selection::Search("team-".into()),
            &bulk_key(),
        )
        .await
        .unwrap();
        exec(
            &s.db,
            "UPDATE users SET role = 'user' WHERE id = $1",
            admin.id(),
        )
        .await;
        assert!(bulk::run_next(&s).await.unwrap());
        let done = bulk::job(&s.db, &admin, &job).await.unwrap().unwrap();
        assert!(done.is_done());
        assert_eq!(done.tally, [("failed".to_owned(), 5)]);
        recounted(&s, &admin, &job).await;
        assert_eq!(
            count(
                &s.db,
                "SELECT COUNT(*) FROM users WHERE must_change_password = 1"
            )
            .await,
            1,
            "only team-cat, flagged beforehand"
        );
        let report = bulk::items(&s.db, &admin, &job, 0, 1).await.unwrap();
        assert!(
            report[0]
                .reason
                .as_deref()
                .unwrap()
                .contains("may no longer")
        );
        assert_eq!(last_action(&s).await.0, "bulk.stopped");
    }
);

async fn count_for(db: &Db, sql: &str, id: &UserId) -> i64 {
    sqlx::query_as::<_, (i64,)>(sql)
        .bind(&id.0)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .0
}

/// One wrong password, a session, and an emailed link: what a batch must clear, end and void.
async fn with_history(s: &domain::Services, admin: &domain::authority::Actor, id: &UserId) {
    let name: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(&id.0)
        .fetch_one(s.db.pool())
        .await
        .unwrap();
    let request = domain::resets::LinkRequest {
        minutes: 60,
        invalidate_password: false,
        delivery: domain::resets::LinkDelivery::Email,
    };
    domain::resets::send_link(s, admin, id, request)
        .await
        .unwrap();
    // The link kept the password: it still signs in, and a wrong one still counts.
    signs_in(s, &name, OLD).await.unwrap();
    signs_in(s, &name, "not the password").await;
}

both_engines!(
    a_batch_does_for_each_user_what_the_single_operation_does,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        domain::settings::save(&s, &admin, &[("password_history", "3")])
            .await
            .unwrap();
        let ids = team(&s).await;
        let (ann, bob) = (&ids[0], &ids[1]);
        for id in [ann, bob] {
            with_history(&s, &admin, id).await;
        }
        let job = bulk::create_job(&s, &admin, LINKS, &Selection::Ids(ids.clone()), &bulk_key())
            .await
            .unwrap();
        assert!(bulk::run_next(&s).await.unwrap());

        for id in [ann, bob] {
            // The earlier link is voided and its email withdrawn; the new one is open.
            let voided = "SELECT COUNT(*) FROM password_resets WHERE user_id = $1 \
                          AND voided_at IS NOT NULL";
            assert_eq!(count_for(&s.db, voided, id).await, 1);
            let open = "SELECT COUNT(*) FROM password_resets WHERE user_id = $1 \
                        AND voided_at IS NULL AND token_hash IS NOT NULL";
            assert_eq!(count_for(&s.db, open, id).await, 1);
            let cancelled = "SELECT COUNT(*) FROM email_outbox WHERE user_id = $1 \
                             AND state = 'cancelled' AND body IS NULL";
            assert_eq!(count_for(&s.db, cancelled, id).await, 1);
            // Signed out, the failure forgotten, the password gone and remembered.
            assert_eq!(sessions_of(&s, id).await, 0);
            let state = "SELECT COUNT(*) FROM users WHERE id = $1 AND failed_logins = 0 \
                         AND password_hash IS NULL AND must_change_password = 1";
            assert_eq!(count_for(&s.db, state, id).await, 1);
            let history = "SELECT COUNT(*) FROM password_history WHERE user_id = $1";
            assert_eq!(count_for(&s.db, history, id).await, 1);
            // One audit row each, saying which job and how many sessions ended.
            let detail: String = sqlx::query_scalar(
                "SELECT detail FROM audit_events WHERE target_id = $1 \
                 AND action = 'password.reset_link' ORDER BY id DESC LIMIT 1",
            )
            .bind(&id.0)
            .fetch_one(s.db.pool())
            .await
            .unwrap();
            assert!(detail.contains(&format!("bulk job {job}")), "{detail}");
            assert!(detail.ends_with("1 session(s) ended"), "{detail}");
        }

        // Every link the batch queued works, and each person gets their own.
        let sink = domain::smtp_sink::SmtpSink::start().await;
        let retry = domain::mail::RetryPolicy {
            max_attempts: 1,
            first_delay: std::time::Duration::from_secs(1),
            factor: 1,
        };
        mailer_with(&s, sink.port, retry)
            .deliver_due()
            .await
            .unwrap();
        let link = sink
            .wait_for("team-ann@example.com")
            .await
            .reset_link()
            .unwrap();
        let other = sink
            .wait_for("team-bob@example.com")
            .await
            .reset_link()
            .unwrap();
        assert_ne!(link, other);
        let token = domain::tokens::SecretToken::from_client(link.rsplit('/').next().unwrap());
        domain::resets::complete_link(
            &s,
            &token,
            &domain::Password::new(NEW),
            &domain::Password::new(NEW),
            &client(),
        )
        .await
        .unwrap();
        assert_eq!(
            signs_in(&s, "team-ann", NEW).await,
            Some(domain::sessions::Purpose::Full)
        );
    }
);

both_engines!(
    a_forced_reset_batch_voids_links_ends_sessions_and_notifies,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        let ids = team(&s).await;
        let (ann, dan) = (&ids[0], &ids[3]);
        with_history(&s, &admin, ann).await;
        bulk::create_job(&s, &admin, FORCE, &Selection::Ids(ids.clone()), &bulk_key())
            .await
            .unwrap();
        assert!(bulk::run_next(&s).await.unwrap());
        assert_eq!(sessions_of(&s, ann).await, 0);
        let state = "SELECT COUNT(*) FROM users WHERE id = $1 AND failed_logins = 0 \
                     AND must_change_password = 1 AND password_hash IS NOT NULL";
        assert_eq!(count_for(&s.db, state, ann).await, 1);
        let open = "SELECT COUNT(*) FROM password_resets WHERE user_id = $1 AND voided_at IS NULL";
        assert_eq!(count_for(&s.db, open, ann).await, 0);
        // The person is told, unless the account is disabled (dan is skipped anyway).
        let queued = "SELECT COUNT(*) FROM email_outbox WHERE user_id = $1 AND state = 'queued'";
        assert_eq!(count_for(&s.db, queued, ann).await, 1);
        assert_eq!(count_for(&s.db, queued, dan).await, 0);
        let forced = "SELECT COUNT(*) FROM audit_events WHERE action = 'password.force_reset'";
        // ann, bob and eve (no email, still flagged); cat was flagged, dan is disabled.
        assert_eq!(count(&s.db, forced).await, 3);
    }
);

/// A fresh Bulk Change request key, as the preview hands out.
fn bulk_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

both_engines!(
    select_all_matching_selects_exactly_the_people_the_list_shows,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        domain::seed::seed_users(&s.db, 400).await.unwrap();
        for (name, display) in [
            ("odd_one", "Percent 50% Off"),
            ("o.brien", "Seán O'Brien"),
            ("x-y", "Ex Why"),
        ] {
            let new =
                users::NewUser::new(name, display, &format!("{name}@example.org"), Role::User)
                    .unwrap();
            let mut tx = s.db.begin().await.unwrap();
            users::insert(&mut tx, &new, None, Timestamp::now())
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        for term in [
            "lovel",
            "e e",
            "ld.",
            "EXAMPLE.ORG",
            "50%",
            "d_o",
            "o'b",
            "seán",
            "x-y",
            "zzz",
            "ad",
        ] {
            // As the Users page asks for it: trimmed and lower-cased.
            let asked = model::fields::search(term).unwrap();
            let mut listed = 0;
            let mut after: Option<String> = None;
            loop {
                let (page, next) = users::list_page(&s.db, &asked, after.as_deref(), 100)
                    .await
                    .unwrap();
                listed += page.len() as u64;
                match next {
                    Some(cursor) => after = Some(cursor),
                    None => break,
                }
            }
            let selection = Selection::Search(term.into());
            let preview = bulk::preview(&s.db, &admin, BulkKind::ForceReset, &selection)
                .await
                .unwrap();
            assert_eq!(preview.selected, listed, "{term:?}");
            if ["50%", "d_o", "o'b", "seán", "x-y", "EXAMPLE.ORG"].contains(&term) {
                assert!(listed >= 1, "{term:?} finds the people added for it");
            }
        }
    }
);

both_engines!(
    a_job_works_in_id_order_and_reports_by_username,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "admin", Role::Administrator).await;
        // Made in the reverse of their names' order: new ids sort after older ones.
        let mut ids = Vec::new();
        for name in ["order-zed", "order-yan", "order-xia", "order-wes"] {
            ids.push(create(&s, name, Role::User).await);
        }
        assert!(ids.windows(2).all(|w| w[0].0 < w[1].0), "{ids:?}");
        let job = bulk::create_job(
            &s,
            &admin,
            FORCE,
            &Selection::Search("order-".into()),
            &bulk_key(),
        )
        .await
        .unwrap();
        // As if an earlier runner had finished the first of them in id order and died.
        exec(
            &s.db,
            "UPDATE bulk_items SET outcome = 'skipped', reason = 'earlier' WHERE user_id = $1",
            &ids[0],
        )
        .await;
        sqlx::query("UPDATE bulk_jobs SET processed = 1, skipped_count = 1")
            .execute(s.db.pool())
            .await
            .unwrap();

        assert!(bulk::run_next(&s).await.unwrap());
        let done = bulk::job(&s.db, &admin, &job).await.unwrap().unwrap();
        assert_eq!((done.processed, done.total), (4, 4));
        recounted(&s, &admin, &job).await;
        // The rest were worked through in id order: their audit rows say so.
        let audited: Vec<String> = sqlx::query_scalar(
            "SELECT target_name FROM audit_events WHERE action = 'password.force_reset' \
             ORDER BY id",
        )
        .fetch_all(s.db.pool())
        .await
        .unwrap();
        assert_eq!(audited, ["order-yan", "order-xia", "order-wes"]);
        // The report lists everyone by username.
        let report = bulk::items(&s.db, &admin, &job, 0, 10).await.unwrap();
        let names: Vec<&str> = report.iter().map(|r| r.username.as_str()).collect();
        assert_eq!(names, ["order-wes", "order-xia", "order-yan", "order-zed"]);
        assert_eq!(report[3].reason.as_deref(), Some("earlier"));
    }
);

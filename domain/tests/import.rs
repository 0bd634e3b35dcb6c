//! Import users from CSV: files refused whole, rows sorted before anything changes, the
//! import applied idempotently. Both engines.

mod common;

use common::*;
use domain::people::import::{self, Verdict};
use domain::{Db, DomainError, Services, both_engines, users};
use model::user::Role;

fn file_error(result: Result<Vec<import::ImportRow>, DomainError>) -> String {
    match result {
        Err(DomainError::Invalid(e)) if e.field == "file" => e.reason,
        other => panic!("expected the file to be refused, got {other:?}"),
    }
}

#[test]
fn a_file_latchkey_cannot_trust_is_refused_whole_with_how_to_fix_it() {
    let latin1 = b"username,display_name\nada,Ada\nrene,Ren\xe9\n";
    assert!(file_error(import::parse(latin1)).contains("not UTF-8 text (line 3)"));
    let ragged = b"username,display_name,email\nada,Ada,ada@example.com\nbob,Bob\n";
    assert!(
        file_error(import::parse(ragged)).contains("Line 3 has 2 fields where the header has 3")
    );
    assert!(
        file_error(import::parse(b"name,email\nAda,ada@example.com\n"))
            .contains("no username column")
    );
    assert!(file_error(import::parse(b"username\n")).contains("no rows"));
    assert!(
        file_error(import::parse(&vec![b'a'; import::MAX_BYTES + 1])).contains("larger than 50 MB")
    );
    // A byte-order mark and directory-style headers are fine.
    let rows =
        import::parse(b"\xEF\xBB\xBFsAMAccountName,Display Name,mail\nada,Ada,ada@example.com\n")
            .unwrap();
    assert_eq!(rows[0].username, "ada");
    assert_eq!(rows[0].email.as_deref(), Some("ada@example.com"));
    assert_eq!(rows[0].line, 2);
}

const FILE: &str = "username,display_name,email,role,active
ada,Ada Lovelace,ada@example.com,User,yes
grace,Grace Hopper,grace@example.com,Password Manager,yes
bad name,Someone,,,
ada,Ada Again,,,
linus,Linus,ada@example.com,,
root,Root,,,no
boss,Boss,boss@example.com,Administrator,
";

async fn plan(
    s: &Services,
    admin: &domain::authority::Actor,
    text: &str,
) -> Vec<(String, Verdict)> {
    let rows = import::parse(text.as_bytes()).unwrap();
    import::plan(s, admin, &rows)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.username, p.verdict))
        .collect()
}

both_engines!(
    rows_are_sorted_then_applied_idempotently,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "root", Role::Administrator).await;
        let before = users::count(&s.db).await.unwrap();
        let verdicts = plan(&s, &admin, FILE).await;
        let labels: Vec<&str> = verdicts.iter().map(|(_, v)| v.label()).collect();
        assert_eq!(
            labels,
            ["new", "new", "error", "error", "error", "error", "error"]
        );
        assert!(
            verdicts[3].1.detail().contains("line 2"),
            "{:?}",
            verdicts[3]
        );
        assert!(
            verdicts[4].1.detail().contains("line 2"),
            "{:?}",
            verdicts[4]
        );
        assert_eq!(
            users::count(&s.db).await.unwrap(),
            before,
            "a preview changes nothing"
        );

        let rows = import::parse(FILE.as_bytes()).unwrap();
        let planned = import::plan(&s, &admin, &rows).await.unwrap();
        let mut seen = Vec::new();
        let results = import::apply(&s, &admin, &planned, false, |done| seen.push(done))
            .await
            .unwrap();
        assert_eq!(seen.last(), Some(&planned.len()));
        assert_eq!(results.iter().filter(|r| r.result == "created").count(), 2);
        assert_eq!(users::count(&s.db).await.unwrap(), before + 2);
        let grace = users::find_by_login_name(&s.db, "grace")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(grace.role, Role::PasswordManager);
        assert!(grace.password_hash.is_none());

        // The same file again changes nothing; a changed row updates that user only.
        let again = plan(&s, &admin, FILE).await;
        assert_eq!(again[0].1, Verdict::Unchanged);
        let changed = FILE.replace(
            "Ada Lovelace,ada@example.com,User,yes",
            "Ada King,ada@example.com,User,no",
        );
        let verdicts = plan(&s, &admin, &changed).await;
        assert!(
            matches!(&verdicts[0].1, Verdict::Updated(d) if d.contains("Ada King") && d.contains("deactivated"))
        );
        let rows = import::parse(changed.as_bytes()).unwrap();
        let planned = import::plan(&s, &admin, &rows).await.unwrap();
        import::apply(&s, &admin, &planned, false, |_| {})
            .await
            .unwrap();
        let ada = users::find_by_login_name(&s.db, "ada")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((ada.display_name.as_str(), ada.active), ("Ada King", false));

        // The report says what happened to every line, formulas defused.
        let report = import::report_csv(
            &import::apply(&s, &admin, &planned, false, |_| {})
                .await
                .unwrap(),
        );
        assert!(report.starts_with("line,username,result,detail\n"));
        assert_eq!(report.lines().count(), planned.len() + 1);
    }
);

both_engines!(new_users_can_get_a_welcome_link, |db: Db| async move {
    let s = services(db);
    let admin = actor(&s, "root", Role::Administrator).await;
    let rows = import::parse(b"username,email\nnew.one,new.one@example.com\nno.mail,\n").unwrap();
    let planned = import::plan(&s, &admin, &rows).await.unwrap();
    let results = import::apply(&s, &admin, &planned, true, |_| {})
        .await
        .unwrap();
    assert_eq!(results[0].detail, "welcome email queued");
    assert_eq!(results[1].detail, "");
    let (queued,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM email_outbox WHERE kind = 'welcome'")
            .fetch_one(s.db.pool())
            .await
            .unwrap();
    assert_eq!(queued, 1);
});

both_engines!(the_helpdesk_cannot_import, |db: Db| async move {
    let s = services(db);
    let helpdesk = actor(&s, "helpdesk", Role::PasswordManager).await;
    let rows = import::parse(b"username\nsomeone\n").unwrap();
    assert!(matches!(
        import::plan(&s, &helpdesk, &rows).await,
        Err(DomainError::Forbidden)
    ));
});

both_engines!(
    a_console_edit_after_the_preview_is_not_overwritten,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "root", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        // The preview reads the account as it was a second ago.
        sqlx::query("UPDATE users SET updated_at = updated_at - 1000 WHERE id = $1")
            .bind(&ada.0)
            .execute(s.db.pool())
            .await
            .unwrap();
        let rows = import::parse(b"username,display_name\nada,Ada From The File\n").unwrap();
        let planned = import::plan(&s, &admin, &rows).await.unwrap();
        assert!(matches!(planned[0].verdict, Verdict::Updated(_)));
        // Meanwhile, in the console.
        domain::people::edit(
            &s,
            &admin,
            &ada,
            "Ada From The Console",
            "ada@example.com",
            true,
        )
        .await
        .unwrap();
        let results = import::apply(&s, &admin, &planned, false, |_| {})
            .await
            .unwrap();
        assert_eq!(results[0].result, "failed");
        assert!(results[0].detail.contains("changed since the preview"));
        let ada = users::get(s.db.pool(), &ada).await.unwrap().unwrap();
        assert_eq!(ada.display_name, "Ada From The Console");
    }
);

both_engines!(
    the_command_line_may_deactivate_by_import,
    |db: Db| async move {
        let s = services(db);
        create(&s, "root", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        let operator = domain::authority::Actor::command_line("ops");
        let rows = import::parse(b"username,active\nada,no\n").unwrap();
        let planned = import::plan(&s, &operator, &rows).await.unwrap();
        let results = import::apply(&s, &operator, &planned, false, |_| {})
            .await
            .unwrap();
        assert_eq!(results[0].result, "updated", "{:?}", results[0]);
        assert!(!users::get(s.db.pool(), &ada).await.unwrap().unwrap().active);
    }
);

both_engines!(
    an_import_whose_instance_died_is_taken_over_and_applies_each_row_once,
    |db: Db| async move {
        let s = services(db);
        let admin = actor(&s, "root", Role::Administrator).await;
        let mut file = String::from("username,display_name\n");
        for i in 0..1200 {
            file.push_str(&format!("person{i:04},Person {i}\n"));
        }
        file.push_str("person0001,The Same Again\n");
        let id = import::stage(&s, &admin, "people.csv", file.as_bytes())
            .await
            .unwrap();
        let before = users::count(&s.db).await.unwrap();

        // The instance that started it applied the first 500 rows, then died.
        let rows = import::parse(file.as_bytes()).unwrap();
        let first = import::plan(&s, &admin, &rows[..500]).await.unwrap();
        import::apply(&s, &admin, &first, false, |_| {})
            .await
            .unwrap();
        let long_ago = model::time::Timestamp::now().millis() - 10 * 60_000;
        for sql in [
            "UPDATE import_jobs SET started_at = $2, heartbeat_at = $2, runner = 'dead', processed = 500 WHERE id = $1",
            "UPDATE import_rows SET result = 'created', result_detail = '' WHERE job_id = $1 AND line <= 501 AND $2 > 0",
        ] {
            sqlx::query(sql)
                .bind(&id)
                .bind(long_ago)
                .execute(s.db.pool())
                .await
                .unwrap();
        }

        assert!(import::resume_stalled(&s).await.unwrap());
        assert!(
            !import::resume_stalled(&s).await.unwrap(),
            "taken over once"
        );
        assert_eq!(users::count(&s.db).await.unwrap(), before + 1200);
        let summary = import::summary(&s, &admin, &id).await.unwrap();
        assert_eq!(summary.state, model::import::ImportState::Finished);
        assert_eq!(summary.processed, 1201);
        let report = import::report(&s, &admin, &id).await.unwrap();
        assert!(!report.contains("failed"), "nothing was applied twice");
        assert!(
            report.contains("1202,person0001,error,the same username is on line 3"),
            "{}",
            report.lines().last().unwrap()
        );

        // The dead runner, were it to wake, can no longer commit a batch.
        let mut tx = s.db.begin().await.unwrap();
        let refused = domain::store::imports::record_results(
            &mut tx,
            &id,
            "dead",
            &[(2, "created", "")],
            model::time::Timestamp::now(),
        )
        .await;
        assert!(matches!(refused, Err(DomainError::Conflict(_))));
    }
);

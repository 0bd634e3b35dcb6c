//! Bulk Change over HTTP, on SQLite and PostgreSQL: preview, start, the background runner, and
//! the CSV report behind the session check.

mod support;

use domain::both_engines;
use domain::db::Db;
use model::user::Role;
use serde_json::Value;
use support::{TestServer, error_of};

both_engines!(a_bulk_link_job_runs_and_reports, |db: Db| async move {
    let server = TestServer::start(db).await;
    server.create_user("boss", Role::Administrator).await;
    server.create_user("helpdesk", Role::PasswordManager).await;
    for name in ["crew-a", "crew-b", "crew-c"] {
        server
            .create_user_with_email(name, Role::User, &format!("{name}@example.com"))
            .await;
    }
    server.create_user("crew-d", Role::User).await; // no email: skipped

    let helpdesk = server.browser();
    helpdesk.sign_in("helpdesk").await;
    let form = [("kind", "send_link"), ("scope", "search"), ("q", "crew-")];
    let (status, _) = error_of(helpdesk.call("bulk/preview", &form).await).await;
    assert_eq!(status, 403);

    let admin = server.browser();
    admin.sign_in("boss").await;
    let preview: Value = admin
        .call("bulk/preview", &form)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(preview["selected"], 4);
    assert_eq!(preview["affected"], 3);
    assert_eq!(preview["examples"][0][0], "crew-d");

    let mut start = form.to_vec();
    let key = preview["request_key"].as_str().unwrap().to_owned();
    start.extend([
        ("minutes", "30"),
        ("invalidate", "on"),
        ("request_key", &key),
    ]);
    let job: String = admin.call("bulk/start", &start).await.json().await.unwrap();
    // A repeated start (a double click, a retried request) returns the same job.
    let again: String = admin.call("bulk/start", &start).await.json().await.unwrap();
    assert_eq!(again, job);
    let mut state = Value::Null;
    for _ in 0..100 {
        state = admin
            .call("bulk/job", &[("id", &job)])
            .await
            .json()
            .await
            .unwrap();
        if !state["finished_at"].is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(state["processed"], 4, "{state}");
    for name in ["crew-a", "crew-b", "crew-c"] {
        let email = server.sink.wait_for(&format!("{name}@example.com")).await;
        assert!(email.reset_link().is_some());
    }

    let path = format!("/bulk/{job}/report.csv");
    assert_eq!(server.browser().get(&path).await.status(), 401);
    assert_eq!(helpdesk.get(&path).await.status(), 403);
    let report = admin.get(&path).await;
    assert_eq!(report.status(), 200);
    assert!(
        report.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let csv = report.text().await.unwrap();
    assert!(csv.contains("crew-a,Link queued,,"), "{csv}");
    assert!(csv.contains("crew-d,Skipped,no email address,"), "{csv}");

    let (status, body) = error_of(
        admin
            .call(
                "bulk/start",
                &[
                    ("kind", "delete_everyone"),
                    ("scope", "search"),
                    ("request_key", "k1"),
                ],
            )
            .await,
    )
    .await;
    assert_eq!(status, 400);
    // A typed argument: the reason names the value and the choices.
    let reason = body["Invalid"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("delete_everyone") && reason.contains("force_reset"),
        "{body}"
    );
});

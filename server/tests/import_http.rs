//! Import users over HTTP: the upload form's post, its refusals, the preview, the start and
//! the report.

mod support;

use domain::both_engines;
use domain::db::Db;
use model::user::Role;
use reqwest::multipart::{Form, Part};
use support::{Browser, TestServer};

async fn upload(browser: &Browser, bytes: Vec<u8>) -> reqwest::Response {
    let form = Form::new().part("file", Part::bytes(bytes).file_name("people.csv"));
    browser
        .client
        .post(format!("{}/api/people/import", browser.url))
        .header("Origin", &browser.url)
        .header("Sec-Fetch-Site", "same-origin")
        .multipart(form)
        .send()
        .await
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

both_engines!(
    an_upload_is_previewed_started_and_reported,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        server.create_user("root", Role::Administrator).await;
        let root = server.browser();
        root.sign_in("root").await;
        let before = server.count("users").await;

        // Refused whole, with the reason signed into the form's address, and nothing stored.
        let bad = upload(&root, b"username\nr\xe9ne\n".to_vec()).await;
        assert_eq!(bad.status(), 303);
        let back = location(&bad);
        assert!(back.starts_with("/users/import?"), "{back}");
        assert!(back.contains("__sig="), "{back}");
        assert!(back.contains("UTF-8"), "{back}");
        let page = root.get(&back).await.text().await.unwrap();
        assert!(
            page.contains("not UTF-8 text (line 2)"),
            "the form shows the reason"
        );
        assert_eq!(server.count("import_jobs").await, 0);

        let good = upload(
            &root,
            b"username,display_name,email\nada,Ada,ada@example.com\nbad name,X,\n".to_vec(),
        )
        .await;
        assert_eq!(good.status(), 303);
        let preview = location(&good);
        let id = preview.trim_start_matches("/users/import/").to_owned();
        let summary: serde_json::Value = root
            .call("people/import/summary", &[("id", &id)])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            (summary["new"].as_u64(), summary["errors"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(
            server.count("users").await,
            before,
            "a preview changes nothing"
        );

        let started = root.call("people/import/start", &[("id", &id)]).await;
        assert_eq!(started.status(), 200);
        for _ in 0..100 {
            let summary: serde_json::Value = root
                .call("people/import/summary", &[("id", &id)])
                .await
                .json()
                .await
                .unwrap();
            if summary["state"] == "Finished" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(server.count("users").await, before + 1);
        let report = root
            .get(&format!("/users/import/{id}/report.csv"))
            .await
            .text()
            .await
            .unwrap();
        assert!(report.contains("2,ada,created"), "{report}");
        assert!(report.contains("3,bad name,error"), "{report}");

        // A Password Manager may not upload, read or start it.
        server.create_user("helpdesk", Role::PasswordManager).await;
        let helpdesk = server.browser();
        helpdesk.sign_in("helpdesk").await;
        let refused = upload(&helpdesk, b"username\nmallory\n".to_vec()).await;
        assert!(
            location(&refused).contains("Forbidden"),
            "{}",
            location(&refused)
        );
        let (status, _) =
            support::error_of(helpdesk.call("people/import/summary", &[("id", &id)]).await).await;
        assert_eq!(status, 403);
        assert_eq!(server.count("import_jobs").await, 1);
    }
);

both_engines!(
    an_upload_over_fifty_megabytes_is_refused,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        server.create_user("root", Role::Administrator).await;
        let root = server.browser();
        root.sign_in("root").await;
        let mut big = b"username\n".to_vec();
        big.resize(domain::people::import::MAX_BYTES + 10, b'a');
        let response = upload(&root, big).await;
        assert_eq!(response.status(), 303);
        assert!(
            location(&response).contains("larger+than+50+MB"),
            "{}",
            location(&response)
        );
        assert_eq!(server.count("import_jobs").await, 0);
    }
);

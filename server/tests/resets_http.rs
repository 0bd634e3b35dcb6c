//! Password change links over HTTP, on SQLite and PostgreSQL: the emailed link as the SMTP
//! server on loopback received it, the cookie hand-over, headers, and header-poisoning.

mod support;

use domain::both_engines;
use domain::db::Db;
use model::user::Role;
use serde_json::Value;
use support::{PASSWORD, TestServer, error_of};

const NEW: &str = "violet tractor mirror lantern";

/// An administrator sends ada a link with a poisoned Host and X-Forwarded-Host; returns the
/// link from the email the SMTP server received.
async fn send_link(server: &TestServer) -> String {
    server.create_user("boss", Role::Administrator).await;
    let ada = server
        .create_user_with_email("ada", Role::User, "ada@example.com")
        .await;
    let admin = server.browser();
    admin.sign_in("boss").await;
    let response = admin
        .client
        .post(format!("{}/api/resets/link", server.url))
        .header("Origin", &server.url)
        .header("Sec-Fetch-Site", "same-origin")
        .header("Host", "evil.example")
        .header("X-Forwarded-Host", "evil.example")
        .header("X-Forwarded-Proto", "https")
        .form(&[
            ("id", ada.0.as_str()),
            ("minutes", "60"),
            ("delivery", "email"),
            ("invalidate", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let email = server.sink.wait_for("ada@example.com").await;
    email.reset_link().expect("a link in the email")
}

both_engines!(
    an_emailed_link_is_followed_through_a_cookie,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        let link = send_link(&server).await;
        assert!(
            link.starts_with(&format!("{}/reset/", server.url)),
            "built from the configured URL, not the request's headers: {link}"
        );

        // A mail scanner's HEAD and GET leave the link usable.
        let scanner = server.browser();
        let head = scanner.client.head(&link).send().await.unwrap();
        assert_eq!(head.status(), 303);
        scanner.get(&link.replace(&server.url, "")).await;

        let user = server.browser();
        let opened = user.get(&link.replace(&server.url, "")).await;
        assert_eq!(opened.status(), 303);
        assert_eq!(opened.headers()["location"], "/reset");
        assert_eq!(opened.headers()["referrer-policy"], "no-referrer");
        let cookie = opened.headers()["set-cookie"].to_str().unwrap().to_owned();
        for attribute in ["latchkey_reset=", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
        }

        let page = user.get("/reset").await;
        assert_eq!(page.headers()["referrer-policy"], "no-referrer");
        assert_eq!(page.headers()["cache-control"], "no-store");
        let html = page.text().await.unwrap();
        assert!(html.contains("Set a new password"), "{html}");
        assert!(
            !html.contains(link.rsplit('/').next().unwrap()),
            "no token in the page"
        );

        // A mismatched confirmation is refused and spends nothing.
        let (status, body) = error_of(
            user.call(
                "reset/complete",
                &[("password", NEW), ("confirm", "something else entirely")],
            )
            .await,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["Invalid"]["field"], "confirm");

        let done = user
            .call("reset/complete", &[("password", NEW), ("confirm", NEW)])
            .await;
        assert_eq!(done.status(), 200);
        let (status, body) = error_of(
            user.call("reset/complete", &[("password", NEW), ("confirm", NEW)])
                .await,
        )
        .await;
        assert_eq!((status, body), (410, Value::from("LinkInvalid")));

        // Not signed in automatically; the new password works, the old does not.
        let (status, _) = error_of(user.call("users/list", &[("q", "")]).await).await;
        assert_eq!(status, 401);
        let fresh = server.browser();
        let old = fresh
            .call("login", &[("username", "ada"), ("password", PASSWORD)])
            .await;
        assert_eq!(old.status(), 401);
        let new = fresh
            .call("login", &[("username", "ada"), ("password", NEW)])
            .await;
        assert_eq!(new.status(), 200);

        // The owner is told, and the used link's page is the generic one.
        let notice = server
            .sink
            .wait_for_containing("ada@example.com", "Your password was changed")
            .await;
        assert!(notice.text().contains("every session was signed out"));
        let again = server.browser();
        again.get(&link.replace(&server.url, "")).await;
        let html = again.get("/reset").await.text().await.unwrap();
        assert!(html.contains("This link is not valid"));
    }
);

both_engines!(
    end_user_pages_are_plain_html_and_the_console_hydrates,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        let browser = server.browser();
        for path in ["/login", "/forgot", "/reset"] {
            let page = browser.get(path).await;
            assert_eq!(page.status(), 200, "{path}");
            // Nothing from anywhere else, and no script at all.
            let csp = page.headers()["content-security-policy"].to_str().unwrap();
            assert!(csp.starts_with("default-src 'none';"), "{path}: {csp}");
            assert!(csp.contains("script-src 'nonce-"), "{path}: {csp}");
            assert!(!csp.contains("unsafe"), "{path}: {csp}");
            let html = page.text().await.unwrap();
            // A <meta name="referrer"> would override the reset page's no-referrer header.
            assert!(!html.contains(r#"name="referrer""#), "{path}");
            assert!(html.contains("data-static"), "{path}");
            assert!(
                !html.contains("latchkey.js"),
                "{path} loads the WASM bundle"
            );
            if path != "/reset" {
                // (`/reset` without a link shows the "not valid" page, which has no form.)
                assert!(html.contains("<form"), "{path} is a plain form");
            }
        }
        server.create_user("boss", Role::Administrator).await;
        browser.sign_in("boss").await;
        let console = browser.get("/users").await;
        let csp = console.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let script_src = csp
            .split(';')
            .find(|d| d.trim_start().starts_with("script-src"))
            .unwrap_or_default();
        assert!(script_src.contains("'nonce-"), "{csp}");
        assert!(!script_src.contains("unsafe-inline"), "{csp}");
        let console = console.text().await.unwrap();
        assert!(
            console.contains("latchkey.js"),
            "the console still hydrates"
        );
    }
);

both_engines!(
    malformed_and_unknown_tokens_get_the_same_page,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        let browser = server.browser();
        for path in [
            "/reset/not-a-token",
            "/reset/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "/reset/abc%3B%20Domain%3Devil.example",
        ] {
            let response = browser.get(path).await;
            assert_eq!(response.status(), 303, "{path}");
            if let Some(cookie) = response.headers().get("set-cookie") {
                assert!(!cookie.to_str().unwrap().contains("Domain"), "{path}");
            }
            let html = browser.get("/reset").await.text().await.unwrap();
            assert!(html.contains("This link is not valid"), "{path}");
        }
        let (status, body) = error_of(
            server
                .browser()
                .call("reset/complete", &[("password", NEW), ("confirm", NEW)])
                .await,
        )
        .await;
        assert_eq!((status, body), (410, Value::from("LinkInvalid")));
    }
);

both_engines!(
    reset_operations_check_permission_on_the_server,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        let boss = server
            .create_user_with_email("boss", Role::Administrator, "boss@example.com")
            .await;
        let ada = server
            .create_user_with_email("ada", Role::User, "ada@example.com")
            .await;
        server.create_user("helpdesk", Role::PasswordManager).await;
        let anonymous = server.browser();
        let (status, _) = error_of(
            anonymous
                .call("resets/temporary", &[("id", ada.0.as_str())])
                .await,
        )
        .await;
        assert_eq!(status, 401);

        let helpdesk = server.browser();
        helpdesk.sign_in("helpdesk").await;
        let (status, _) = error_of(
            helpdesk
                .call(
                    "resets/link",
                    &[
                        ("id", boss.0.as_str()),
                        ("minutes", "60"),
                        ("delivery", "email"),
                    ],
                )
                .await,
        )
        .await;
        assert_eq!(status, 403, "helpdesk may not reset an administrator");
        // For a plain user the temporary password comes back once, to show.
        let temp: Value = helpdesk
            .call("resets/temporary", &[("id", ada.0.as_str())])
            .await
            .json()
            .await
            .unwrap();
        let password = temp["password"].as_str().unwrap();
        assert_eq!(password.len(), 23);
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM audit_events WHERE detail LIKE '%' || $1 || '%'")
                .bind(password)
                .fetch_one(server.db().pool())
                .await
                .unwrap();
        assert_eq!(count, 0, "the password is never in the audit trail");
        let (status, body) = error_of(
            helpdesk
                .call(
                    "resets/link",
                    &[
                        ("id", ada.0.as_str()),
                        ("minutes", "4"),
                        ("delivery", "email"),
                    ],
                )
                .await,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["Invalid"]["field"], "minutes");
    }
);

both_engines!(
    forgot_password_answers_alike_and_mails_only_the_stored_address,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        server
            .create_user_with_email("ada", Role::User, "ada@example.com")
            .await;
        let off = server
            .create_user_with_email("off", Role::User, "off@example.com")
            .await;
        sqlx::query("UPDATE users SET active = 0 WHERE id = $1")
            .bind(&off.0)
            .execute(server.db().pool())
            .await
            .unwrap();
        server.create_user("nomail", Role::User).await;
        let browser = server.browser();
        let mut answers = Vec::new();
        for login in ["ADA@example.com", "nobody", "off", "nomail", "ada"] {
            let response = browser.call("reset/request", &[("login", login)]).await;
            answers.push((response.status().as_u16(), response.text().await.unwrap()));
        }
        assert!(
            answers.windows(2).all(|w| w[0] == w[1]),
            "one answer for every case: {answers:?}"
        );
        assert_eq!(answers[0].0, 200);
        let email = server.sink.wait_for("ada@example.com").await;
        assert!(email.reset_link().is_some());
        // The second request for ada fell within the cooldown: one email, and only to her.
        // (Each answer comes once its request has been handled.)
        assert_eq!(server.count("email_outbox").await, 1);
        let received = server.sink.received();
        assert_eq!(received.len(), 1, "{received:?}");
        assert_eq!(received[0].to, ["ada@example.com"]);
        // Her password still works: a stranger's request locks no one out.
        assert_eq!(browser.sign_in("ada").await.status(), 200);

        let (status, body) = error_of(browser.call("reset/request", &[("login", "")]).await).await;
        assert_eq!(status, 400);
        assert_eq!(body["Invalid"]["field"], "login");
    }
);

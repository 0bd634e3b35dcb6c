//! The HTTP surface against real databases (SQLite and PostgreSQL): server functions called as
//! a browser calls them, with the statuses, cookies and headers a client sees.

mod support;

use domain::both_engines;
use domain::db::Db;
use model::user::Role;
use serde_json::Value;
use support::{PASSWORD, TestServer, error_of};

const ADMIN_PASSWORD: &str = "a long and unusual admin passphrase";

async fn set_up_first_admin(server: &TestServer) {
    let token = domain::setup::issue_token_if_needed(server.db())
        .await
        .unwrap()
        .expect("a fresh database has no administrator");
    let browser = server.browser();
    let response = browser
        .call(
            "setup",
            &[
                ("token", token.expose()),
                ("username", "root"),
                ("display_name", "Root Administrator"),
                ("email", "root@example.com"),
                ("password", ADMIN_PASSWORD),
                ("confirm", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

both_engines!(setup_sign_in_and_list_users, |db: Db| async move {
    let server = TestServer::start(db).await;
    set_up_first_admin(&server).await;
    domain::seed::seed_users(server.db(), 120).await.unwrap();

    let browser = server.browser();
    let response = browser
        .call(
            "login",
            &[("username", "ROOT"), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("latchkey_session="));
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert_eq!(response.json::<String>().await.unwrap(), "/users");

    let session: Value = browser.call("session", &[]).await.json().await.unwrap();
    assert_eq!(session["me"]["username"], "root");
    assert_eq!(session["me"]["role"], "administrator");

    let page: Value = browser
        .call("users/list", &[("q", "")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["users"].as_array().unwrap().len(), 50);
    let cursor = page["next"].as_str().unwrap().to_owned();
    let second: Value = browser
        .call("users/list", &[("q", ""), ("after", &cursor)])
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(second["users"][0]["id"], page["users"][0]["id"]);

    let found: Value = browser
        .call("users/list", &[("q", "Root Ad")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["users"].as_array().unwrap().len(), 1);
    let id = found["users"][0]["id"].as_str().unwrap().to_owned();
    let details: Value = browser
        .call("users/details", &[("id", &id)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(details["summary"]["email"], "root@example.com");
    assert!(details.get("password_hash").is_none());
    let activity: Value = browser
        .call("users/activity", &[("id", &id)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(activity["days"].as_array().unwrap().len(), 30);
    let actions: Vec<&str> = activity["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["sign_in", "setup.first_administrator"]);
});

both_engines!(
    anonymous_and_unprivileged_callers_are_refused,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        let anonymous = server.browser();
        let (status, body) = error_of(anonymous.call("users/list", &[("q", "")]).await).await;
        assert_eq!((status, body), (401, Value::from("Unauthenticated")));

        server.create_user("plain", Role::User).await;
        let user = server.browser();
        assert_eq!(
            user.sign_in("plain").await.json::<String>().await.unwrap(),
            "/account"
        );
        let (status, _) = error_of(user.call("users/list", &[("q", "")]).await).await;
        assert_eq!(status, 403);

        // Helpdesk: may find users (to set their passwords), may not read the audit trail.
        let helpdesk_id = server.create_user("helpdesk", Role::PasswordManager).await;
        let helpdesk = server.browser();
        helpdesk.sign_in("helpdesk").await;
        assert_eq!(
            helpdesk.call("users/list", &[("q", "")]).await.status(),
            200
        );
        let (status, _) = error_of(
            helpdesk
                .call("users/activity", &[("id", &helpdesk_id.0)])
                .await,
        )
        .await;
        assert_eq!(status, 403);
    }
);

both_engines!(
    a_flagged_session_reaches_nothing_else,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        let id = server.create_user("flagged", Role::Administrator).await;
        sqlx::query("UPDATE users SET must_change_password = 1 WHERE id = $1")
            .bind(&id.0)
            .execute(server.db().pool())
            .await
            .unwrap();
        let browser = server.browser();
        let next: String = browser.sign_in("flagged").await.json().await.unwrap();
        assert_eq!(next, "/account/password");
        let session: Value = browser.call("session", &[]).await.json().await.unwrap();
        assert_eq!(session["password_change_required"], true);
        let (status, _) = error_of(browser.call("users/list", &[("q", "")]).await).await;
        assert_eq!(
            status, 403,
            "an administrator's restricted session is still restricted"
        );
    }
);

both_engines!(
    wrong_passwords_and_unknown_users_get_one_answer,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        server.create_user("ada", Role::User).await;
        let browser = server.browser();
        for (username, password) in [("ada", "wrong password, quite long"), ("nobody", PASSWORD)] {
            let response = browser
                .call("login", &[("username", username), ("password", password)])
                .await;
            // No session; only what was typed, kept for the page without scripts, alike for both.
            let set: Vec<&str> = response
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap())
                .collect();
            assert_eq!(set.len(), 1, "{set:?}");
            assert!(
                set[0].starts_with(&format!("latchkey_typed_name={username};")),
                "{set:?}"
            );
            let (status, body) = error_of(response).await;
            assert_eq!((status, body), (401, Value::from("InvalidCredentials")));
        }
        assert_eq!(server.count("sessions").await, 0);

        // The sign-in that works clears the kept name.
        let response = browser
            .call("login", &[("username", "ada"), ("password", PASSWORD)])
            .await;
        assert_eq!(response.status(), 200);
        let cleared = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .any(|c| c.starts_with("latchkey_typed_name=;") && c.contains("Max-Age=0"));
        assert!(cleared, "{:?}", response.headers());
    }
);

both_engines!(
    bad_input_gets_a_specific_error_and_changes_nothing,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        server.create_user("grace", Role::Administrator).await;
        let browser = server.browser();

        // A missing field.
        let (status, body) = error_of(browser.call("login", &[("username", "grace")]).await).await;
        assert_eq!(status, 400);
        assert_eq!(body["Invalid"]["field"], "request");

        // An over-long field.
        let long_name = "g".repeat(300);
        let (status, body) = error_of(
            browser
                .call(
                    "login",
                    &[("username", long_name.as_str()), ("password", PASSWORD)],
                )
                .await,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["Invalid"]["field"], "username");

        // A body far beyond any form.
        let huge = "x".repeat(200 * 1024);
        let response = browser
            .call(
                "login",
                &[("username", "grace"), ("password", huge.as_str())],
            )
            .await;
        assert_eq!(response.status(), 413);
        // Its body was never read: the connection ends, so the next request opens another.
        assert_eq!(response.headers()["connection"], "close");

        // A setup attempt with a guessed token and a weak password.
        let (status, _) = error_of(
            browser
                .call(
                    "setup",
                    &[
                        ("token", "guessed"),
                        ("username", "mallory"),
                        ("display_name", "Mallory"),
                        ("email", "m@example.com"),
                        ("password", "short"),
                        ("confirm", "short"),
                    ],
                )
                .await,
        )
        .await;
        assert_eq!(status, 400);

        assert_eq!(server.count("sessions").await, 0);
        assert_eq!(server.count("users").await, 1);
        let (failed,): (i64,) = sqlx::query_as("SELECT failed_logins FROM users")
            .fetch_one(server.db().pool())
            .await
            .unwrap();
        assert_eq!(
            failed, 0,
            "malformed requests never reach the password check"
        );
    }
);

both_engines!(
    cross_site_requests_and_get_mutations_are_refused,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        server.create_user("ken", Role::Administrator).await;
        let client = reqwest::Client::new();
        let login = format!("{}/api/login", server.url);
        let form = [("username", "ken"), ("password", PASSWORD)];
        for (header, value) in [
            ("Origin", "https://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
        ] {
            let response = client
                .post(&login)
                .header(header, value)
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{header}: {value}");
        }
        let response = client
            .get(format!("{login}?username=ken&password=x"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405);
        assert_eq!(server.count("sessions").await, 0);
        assert_eq!(server.count("audit_events").await, 0);
    }
);

both_engines!(
    signing_in_again_replaces_the_session_and_logout_ends_it,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        server.create_user("barbara", Role::Administrator).await;
        let browser = server.browser();
        browser.sign_in("barbara").await;
        browser.sign_in("barbara").await;
        assert_eq!(
            server.count("sessions").await,
            1,
            "the earlier session id was revoked"
        );

        assert_eq!(browser.call("logout", &[]).await.status(), 200);
        assert_eq!(server.count("sessions").await, 0);
        let session: Value = browser.call("session", &[]).await.json().await.unwrap();
        assert_eq!(session, Value::Null);
    }
);

both_engines!(
    pages_render_on_the_server_with_safe_headers,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        let browser = server.browser();
        let login = browser.get("/login").await;
        assert_eq!(login.status(), 200);
        let headers = login.headers().clone();
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let html = login.text().await.unwrap();
        assert!(html.contains("Sign in to Latchkey"));
        assert!(html.contains(r#"<label for="username">Username or email</label>"#));

        // The console is behind sign-in: the server itself redirects.
        let users = browser.get("/users").await;
        assert_eq!(users.status(), 302);
        assert_eq!(users.headers()["location"], "/login");

        assert_eq!(browser.get("/no/such/page").await.status(), 404);
        // A setup link that was never issued says so, without a stack trace.
        let html = browser
            .get("/setup/not-a-token")
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("not valid any more"));
    }
);

async fn must_change(server: &TestServer, id: &model::user::UserId) -> i64 {
    let (flagged,): (i64,) = sqlx::query_as("SELECT must_change_password FROM users WHERE id = $1")
        .bind(&id.0)
        .fetch_one(server.db().pool())
        .await
        .unwrap();
    flagged
}

both_engines!(
    unknown_fields_are_refused_and_change_nothing,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        server.create_user("boss", Role::Administrator).await;
        let ada = server.create_user("ada", Role::User).await;
        let admin = server.browser();
        admin.sign_in("boss").await;
        let (status, body) = error_of(
            admin
                .call(
                    "passwords/force-reset",
                    &[("id", ada.0.as_str()), ("role", "administrator")],
                )
                .await,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["Invalid"]["field"], "request");
        assert!(
            body["Invalid"]["reason"]
                .as_str()
                .unwrap()
                .contains("\"role\"")
        );
        assert_eq!(must_change(&server, &ada).await, 0, "nothing changed");
        // Another content type would skip the field check: it is refused as such.
        let disguised = admin
            .client
            .post(format!("{}/api/passwords/force-reset", admin.url))
            .header("Origin", &admin.url)
            .header("Content-Type", "text/plain")
            .body(format!("id={}&role=administrator", ada.0))
            .send()
            .await
            .unwrap();
        assert_eq!(disguised.status(), 415);
        assert_eq!(must_change(&server, &ada).await, 0, "nothing changed");
        // The same call without the stray field works.
        let ok = admin
            .call("passwords/force-reset", &[("id", ada.0.as_str())])
            .await;
        assert_eq!(ok.status(), 200);
    }
);

#[test]
fn every_server_function_has_its_fields_listed() {
    let listed = app::server::request_fields::request_fields();
    let registered: Vec<_> = server_fn::axum::server_fn_paths().collect();
    assert_eq!(registered.len(), listed.len(), "{registered:?}");
    for (path, _) in registered {
        assert!(
            listed.contains_key(path),
            "{path} is missing from app::server::request_fields"
        );
    }
}

both_engines!(
    crlf_and_repeated_email_fields_are_refused,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        let token = domain::setup::issue_token_if_needed(server.db())
            .await
            .unwrap()
            .unwrap();
        let browser = server.browser();
        let form = |email: &'static str| {
            vec![
                ("token", token.expose().to_owned()),
                ("username", "root".to_owned()),
                ("display_name", "Root".to_owned()),
                ("email", email.to_owned()),
                ("password", ADMIN_PASSWORD.to_owned()),
                ("confirm", ADMIN_PASSWORD.to_owned()),
            ]
        };
        // A header injection attempt in an email address.
        let crlf = form("root@example.com\r\nBcc: victim@example.org");
        let pairs: Vec<(&str, &str)> = crlf.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = error_of(browser.call("setup", &pairs).await).await;
        assert_eq!(status, 400);
        assert_eq!(body["Invalid"]["field"], "email");
        // An array where one address is expected.
        let mut twice = form("root@example.com");
        twice.push(("email", "other@example.com".to_owned()));
        let pairs: Vec<(&str, &str)> = twice.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = error_of(browser.call("setup", &pairs).await).await;
        assert_eq!(status, 400);
        assert_eq!(body["Invalid"]["field"], "request");
        assert_eq!(server.count("users").await, 0, "nothing was created");
    }
);

/// The server functions anyone may call: signing in and out, first-run setup, and the end
/// user's own password pages (each checks its own token, cookie or current password).
const PUBLIC_FUNCTIONS: [&str; 11] = [
    "/api/login",
    // The policy's numbers and the public block-list: the sign-in, setup and reset pages need
    // them before anyone is signed in, and neither tells anything about an account.
    "/api/policy/current",
    "/api/policy/listed",
    "/api/logout",
    "/api/session",
    "/api/setup/status",
    "/api/setup",
    "/api/passwords/change-own",
    "/api/reset/info",
    "/api/reset/complete",
    "/api/reset/request",
];

both_engines!(
    every_other_server_function_refuses_anonymous_and_restricted_callers,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        let ada = server
            .create_user_with_email("ada", Role::User, "ada@example.com")
            .await;
        let flagged = server.create_user("flagged", Role::Administrator).await;
        sqlx::query("UPDATE users SET must_change_password = 1 WHERE id = $1")
            .bind(&flagged.0)
            .execute(server.db().pool())
            .await
            .unwrap();
        let restricted = server.browser();
        restricted.sign_in("flagged").await;
        let anonymous = server.browser();
        let audit_before = server.count("audit_events").await;

        let fields = app::server::request_fields::request_fields();
        let mut checked = 0;
        for (path, _) in server_fn::axum::server_fn_paths() {
            if PUBLIC_FUNCTIONS.contains(&path) {
                continue;
            }
            // Well-formed arguments, so that only the caller can be the reason for a refusal.
            let form: Vec<(&str, &str)> = fields[path]
                .iter()
                .map(|&field| {
                    let value = match field {
                        "id" | "ids" => ada.0.as_str(),
                        "minutes" | "before" => "60",
                        "kind" => "force_reset",
                        "scope" => "ids",
                        "delivery" => "email",
                        "role" => "user",
                        "access" => "nothing",
                        "password" | "confirm" => "a perfectly fine new password",
                        _ => "x",
                    };
                    (field, value)
                })
                .collect();
            let endpoint = path.trim_start_matches("/api/");
            let (status, _) = error_of(anonymous.call(endpoint, &form).await).await;
            assert_eq!(status, 401, "{path} answered an anonymous caller");
            let (status, _) = error_of(restricted.call(endpoint, &form).await).await;
            assert_eq!(status, 403, "{path} answered a restricted session");
            checked += 1;
        }
        assert!(checked >= 15, "only {checked} functions checked");
        // Each refusal of the signed-in (restricted) caller is in the trail, and nothing else.
        let (denied,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM audit_events WHERE actor_name = 'flagged' \
             AND outcome = 'denied' AND action = 'access.denied'",
        )
        .fetch_one(server.db().pool())
        .await
        .unwrap();
        assert_eq!(denied, checked);
        assert_eq!(server.count("audit_events").await, audit_before + checked);
        assert_eq!(server.count("email_outbox").await, 0);
        assert_eq!(server.count("password_resets").await, 0);
        assert_eq!(server.count("bulk_jobs").await, 0);
        assert_eq!(
            restricted.get("/bulk/any/report.csv").await.status(),
            403,
            "the CSV report too"
        );
    }
);

/// Leptos holds back every resource that starts loading in the process while it generates a
/// route list. Routers built while another serves pages (as the tests do, one server each)
/// must not leave those pages waiting for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_finish_while_other_routers_are_built() {
    let Some(test_db) = domain::testing::TestDb::new(domain::db::Engine::Sqlite).await else {
        return;
    };
    let server = TestServer::start(test_db.db.clone()).await;
    server.create_user("boss", Role::Administrator).await;
    let browser = server.browser();
    assert_eq!(browser.sign_in("boss").await.status(), 200);
    let state = server.state.clone();
    let building = tokio::task::spawn_blocking(move || {
        for _ in 0..40 {
            drop(server::router::build(state.clone()));
        }
    });
    let mut loads = 0;
    while !building.is_finished() || loads < 40 {
        let page = browser.get("/users").await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        // The list of users is a resource: its rows are there only once it loaded.
        assert!(
            html.contains("boss Test"),
            "the page came without its users"
        );
        loads += 1;
    }
    building.await.unwrap();
    test_db.drop_db().await;
}

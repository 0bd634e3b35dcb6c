//! Every server function that changes a person, called over HTTP as each role against each
//! kind of target: a refusal answers its status, changes nothing in the database, and leaves
//! exactly one `denied` row in the audit trail.

mod support;

use domain::both_engines;
use domain::db::Db;
use model::user::{Role, UserId};
use support::{Browser, TestServer, error_of};

const NEW: &str = "violet tractor mirror lantern";

/// Everything a refused call must leave as it was.
async fn snapshot(server: &TestServer) -> (Vec<String>, [i64; 3]) {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id || '|' || display_name || '|' || COALESCE(email, '') || '|' || active || '|' \
         || role || '|' || source || '|' || COALESCE(password_hash, '') || '|' \
         || must_change_password || '|' || failed_logins FROM users ORDER BY id",
    )
    .fetch_all(server.db().pool())
    .await
    .unwrap();
    let counts = [
        server.count("sessions").await,
        server.count("password_resets").await,
        server.count("email_outbox").await,
    ];
    (rows.into_iter().map(|(r,)| r).collect(), counts)
}

async fn denied(server: &TestServer) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_events WHERE outcome = 'denied'")
        .fetch_one(server.db().pool())
        .await
        .unwrap();
    n
}

/// The form of each operation on `id`.
fn operations(id: &str) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let id = id.to_owned();
    vec![
        ("accounts/unlock", vec![("id", id.clone())]),
        (
            "passwords/set",
            vec![
                ("id", id.clone()),
                ("password", NEW.into()),
                ("confirm", NEW.into()),
            ],
        ),
        ("passwords/force-reset", vec![("id", id.clone())]),
        (
            "resets/link",
            vec![
                ("id", id.clone()),
                ("minutes", "60".into()),
                ("delivery", "show".into()),
            ],
        ),
        ("resets/temporary", vec![("id", id.clone())]),
        (
            "people/edit",
            vec![
                ("id", id.clone()),
                ("display_name", "Renamed".into()),
                ("email", "renamed@example.com".into()),
            ],
        ),
        (
            "people/role",
            vec![("id", id.clone()), ("role", "administrator".into())],
        ),
        ("people/delete", vec![("id", id)]),
    ]
}

/// Calls `endpoint` and checks the refusal: `status`, nothing changed, one denied row.
async fn refused(
    server: &TestServer,
    who: &Browser,
    endpoint: &str,
    form: &[(&str, String)],
    status: u16,
    label: &str,
) {
    let before = snapshot(server).await;
    let denied_before = denied(server).await;
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (got, body) = error_of(who.call(endpoint, &form).await).await;
    assert_eq!(got, status, "{label} {endpoint}: {body}");
    assert_eq!(
        snapshot(server).await,
        before,
        "{label} {endpoint} changed something"
    );
    assert_eq!(
        denied(server).await - denied_before,
        1,
        "{label} {endpoint}: one denied row"
    );
}

struct Targets {
    admin: UserId,
    manager: UserId,
    plain: UserId,
    external: UserId,
    inactive: UserId,
}

async fn targets(server: &TestServer) -> Targets {
    let t = Targets {
        admin: server
            .create_user_with_email("boss", Role::Administrator, "boss@example.com")
            .await,
        manager: server
            .create_user_with_email("peer", Role::PasswordManager, "peer@example.com")
            .await,
        plain: server
            .create_user_with_email("ada", Role::User, "ada@example.com")
            .await,
        external: server
            .create_user_with_email("ext", Role::User, "ext@example.com")
            .await,
        inactive: server
            .create_user_with_email("gone", Role::User, "gone@example.com")
            .await,
    };
    for (sql, id) in [
        (
            "UPDATE users SET source = 'external' WHERE id = $1",
            &t.external,
        ),
        ("UPDATE users SET active = 0 WHERE id = $1", &t.inactive),
        // Something for Reset to clear.
        ("UPDATE users SET failed_logins = 2 WHERE id = $1", &t.plain),
    ] {
        sqlx::query(sql)
            .bind(&id.0)
            .execute(server.db().pool())
            .await
            .unwrap();
    }
    t
}

fn is_account_change(endpoint: &str) -> bool {
    endpoint.starts_with("people/")
}

both_engines!(
    a_password_manager_is_refused_all_but_plain_users_passwords,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        let t = targets(&server).await;
        let me = server.create_user("helpdesk", Role::PasswordManager).await;
        let helpdesk = server.browser();
        helpdesk.sign_in("helpdesk").await;
        let cases = [
            ("administrator", &t.admin, 403),
            ("password manager", &t.manager, 403),
            ("external", &t.external, 409),
            ("inactive", &t.inactive, 409),
            ("self", &me, 409),
            ("plain", &t.plain, 0),
        ];
        for (label, id, status) in cases {
            for (endpoint, form) in operations(&id.0) {
                // Account changes are refused at the door, whoever the target.
                let status = if is_account_change(endpoint) {
                    403
                } else {
                    status
                };
                if status == 0 {
                    continue;
                }
                refused(&server, &helpdesk, endpoint, &form, status, label).await;
            }
        }
        // The operations the seeds delegate work on a plain local user.
        for (endpoint, form) in operations(&t.plain.0) {
            if is_account_change(endpoint) {
                continue;
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = helpdesk.call(endpoint, &form).await;
            assert_eq!(
                response.status(),
                200,
                "{endpoint}: {}",
                response.text().await.unwrap()
            );
        }
    }
);

both_engines!(
    an_administrator_is_refused_external_inactive_and_own_standing,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        let t = targets(&server).await;
        let me = server.create_user("root", Role::Administrator).await;
        let root = server.browser();
        root.sign_in("root").await;
        for (endpoint, form) in operations(&t.external.0) {
            refused(&server, &root, endpoint, &form, 409, "external").await;
        }
        for (endpoint, form) in operations(&t.inactive.0) {
            // Clearing a count and account changes are allowed on a disabled account.
            if endpoint == "accounts/unlock" || is_account_change(endpoint) {
                continue;
            }
            refused(&server, &root, endpoint, &form, 409, "inactive").await;
        }
        for (endpoint, form) in operations(&me.0) {
            // Your own display name and email are yours to edit.
            if endpoint == "people/edit" {
                continue;
            }
            refused(&server, &root, endpoint, &form, 409, "self").await;
        }
    }
);

both_engines!(a_plain_user_is_refused_at_the_door, |db: Db| async move {
    let server = TestServer::start(db).await;
    let t = targets(&server).await;
    server.create_user("someone", Role::User).await;
    let someone = server.browser();
    someone.sign_in("someone").await;
    for (endpoint, form) in operations(&t.plain.0) {
        refused(&server, &someone, endpoint, &form, 403, "plain user").await;
    }
});

both_engines!(
    an_administrator_adds_edits_grants_and_deletes,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        server.create_user("root", Role::Administrator).await;
        let root = server.browser();
        root.sign_in("root").await;
        let response = root
            .call(
                "people/add",
                &[
                    ("username", "grace"),
                    ("display_name", "Grace Hopper"),
                    ("email", "grace@example.com"),
                    ("role", "user"),
                    ("active", "on"),
                    ("access", "temporary_password"),
                ],
            )
            .await;
        assert_eq!(response.status(), 200);
        let added: serde_json::Value = response.json().await.unwrap();
        let id = added["id"].as_str().unwrap().to_owned();
        let temporary = added["temporary"]["password"].as_str().unwrap().to_owned();
        assert!(temporary.len() >= 15);

        let (status, body) = error_of(
            root.call(
                "people/add",
                &[
                    ("username", "GRACE"),
                    ("display_name", "Another"),
                    ("role", "user"),
                    ("access", "nothing"),
                ],
            )
            .await,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["Invalid"]["field"], "username", "{body}");

        let role = root
            .call("people/role", &[("id", &id), ("role", "password_manager")])
            .await;
        assert_eq!(role.status(), 200);
        let edit = root
            .call(
                "people/edit",
                &[
                    ("id", &id),
                    ("display_name", "Rear Admiral Hopper"),
                    ("email", ""),
                ],
            )
            .await;
        assert_eq!(edit.status(), 200);
        let (name, email, role, active): (String, Option<String>, String, i64) =
            sqlx::query_as("SELECT display_name, email, role, active FROM users WHERE id = $1")
                .bind(&id)
                .fetch_one(server.db().pool())
                .await
                .unwrap();
        assert_eq!(
            (name.as_str(), email, role.as_str(), active),
            ("Rear Admiral Hopper", None, "password_manager", 0),
            "an edit without Is Active deactivates"
        );
        let delete = root.call("people/delete", &[("id", &id)]).await;
        assert_eq!(delete.status(), 200);
        assert_eq!(server.count("users").await, 1);
    }
);

both_engines!(
    a_stale_console_must_confirm_the_password_before_a_role_change,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        server.create_user("root", Role::Administrator).await;
        let ada = server.create_user("ada", Role::User).await;
        let root = server.browser();
        root.sign_in("root").await;
        // The password was typed at sign-in, 20 minutes ago.
        let twenty_minutes_ago = model::time::Timestamp::now().plus_seconds(-20 * 60);
        sqlx::query("UPDATE sessions SET verified_at = $1")
            .bind(twenty_minutes_ago.millis())
            .execute(server.db().pool())
            .await
            .unwrap();
        let grant = [("id", ada.0.as_str()), ("role", "password_manager")];
        let (status, body) = error_of(root.call("people/role", &grant).await).await;
        assert_eq!(status, 403);
        assert_eq!(body, serde_json::json!("ConfirmationRequired"));

        let (status, body) = error_of(
            root.call("confirm-password", &[("password", "not my password")])
                .await,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["Invalid"]["field"], "password");
        let (failures,): (i64,) =
            sqlx::query_as("SELECT failed_logins FROM users WHERE username = 'root'")
                .fetch_one(server.db().pool())
                .await
                .unwrap();
        assert_eq!(
            failures, 1,
            "a wrong confirmation counts as a failed sign-in"
        );

        let confirmed = root
            .call("confirm-password", &[("password", support::PASSWORD)])
            .await;
        assert_eq!(confirmed.status(), 200);
        assert_eq!(root.call("people/role", &grant).await.status(), 200);
    }
);

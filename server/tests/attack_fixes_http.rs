//! Defects an attack run found at the HTTP surface, each with the test that failed before its
//! fix: refusals at the door left no audit row, invalid UTF-8 answered 500, and an error in the
//! address put an attacker's words in the sign-in page's alert box.

mod support;

use base64::Engine as _;
use domain::both_engines;
use domain::db::Db;
use model::user::Role;
use support::{TestServer, error_of};

async fn denied_rows(server: &TestServer, actor: &str) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT detail FROM audit_events WHERE actor_name = $1 AND outcome = 'denied' \
         ORDER BY id",
    )
    .bind(actor)
    .fetch_all(server.db().pool())
    .await
    .unwrap();
    rows.into_iter().map(|(d,)| d).collect()
}

both_engines!(refusals_at_the_door_are_audited, |db: Db| async move {
    let server = TestServer::start(db).await;
    let ada = server.create_user("ada", Role::User).await;
    server.create_user("helpdesk", Role::PasswordManager).await;
    server.create_user("plain", Role::User).await;
    let id = ada.0.as_str();

    let helpdesk = server.browser();
    helpdesk.sign_in("helpdesk").await;
    let bulk = [
        ("kind", "force_reset"),
        ("scope", "search"),
        ("q", "ada"),
        ("request_key", "k"),
    ];
    let attempts: [(&str, &[(&str, &str)]); 4] = [
        ("people/delete", &[("id", id)]),
        ("bulk/preview", &bulk[..3]),
        ("bulk/start", &bulk),
        ("users/activity", &[("id", id)]),
    ];
    for (endpoint, form) in attempts {
        let (status, _) = error_of(helpdesk.call(endpoint, form).await).await;
        assert_eq!(status, 403, "{endpoint}");
    }
    let rows = denied_rows(&server, "helpdesk").await;
    assert_eq!(rows.len(), attempts.len(), "{rows:?}");
    for ((endpoint, _), detail) in attempts.iter().zip(&rows) {
        assert!(detail.contains(endpoint), "{detail}");
        assert!(detail.contains("needs the Administrator role"), "{detail}");
    }

    let plain = server.browser();
    plain.sign_in("plain").await;
    let (status, _) = error_of(plain.call("users/list", &[("q", "")]).await).await;
    assert_eq!(status, 403);
    assert_eq!(denied_rows(&server, "plain").await.len(), 1);
    assert_eq!(
        server.count("bulk_jobs").await,
        0,
        "the refusals changed nothing"
    );
});

both_engines!(invalid_utf8_in_a_form_is_a_clear_400, |db: Db| async move {
    let server = TestServer::start(db).await;
    let browser = server.browser();
    for (endpoint, body) in [
        ("login", "username=%FF%FE&password=x"),
        ("reset/request", "username=ada%C3"),
        ("reset/complete", "password=%E0%80%80&confirm=x"),
    ] {
        let response = browser
            .client
            .post(format!("{}/api/{endpoint}", server.url))
            .header("Origin", &server.url)
            .header("Sec-Fetch-Site", "same-origin")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, error) = error_of(response).await;
        assert_eq!(status, 400, "{endpoint}");
        assert_eq!(
            error["Invalid"]["reason"], "Malformed request: the form is not valid UTF-8 text.",
            "{endpoint}"
        );
    }
});

/// `__err` as a server function would encode it, with the attacker's text.
fn forged_error(text: &str) -> String {
    let json = serde_json::json!({ "Conflict": text }).to_string();
    base64::engine::general_purpose::URL_SAFE.encode(json)
}

both_engines!(
    only_errors_the_server_signed_reach_the_page,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        let browser = server.browser();
        let lure = "Your account is suspended, call +1 555 0100";
        for page in ["/login", "/forgot"] {
            let path = format!("{page}?__path=/api/login&__err={}", forged_error(lure));
            let response = browser.get(&path).await;
            assert_eq!(response.status(), 303, "{page}");
            assert_eq!(response.headers()["location"], page);
            let shown = browser.get(page).await.text().await.unwrap();
            assert!(!shown.contains("suspended"));
        }

        // A real refusal of a plain form post comes back signed and is shown.
        let response = browser
            .client
            .post(format!("{}/api/login", server.url))
            .header("Origin", &server.url)
            .header("Sec-Fetch-Site", "same-origin")
            .header("Accept", "text/html")
            .header("Referer", format!("{}/login", server.url))
            .form(&[("username", "nobody"), ("password", "wrong password here")])
            .send()
            .await
            .unwrap();
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.contains("__sig="), "{location}");
        let back = location.trim_start_matches(&server.url).to_owned();
        let page = browser.get(&back).await;
        assert_eq!(page.status(), 200);
        assert!(
            page.text()
                .await
                .unwrap()
                .contains("Invalid username or password.")
        );
        // Its signature does not vouch for other words.
        let swapped = back.replacen("__err=", &format!("__err={}&x=", forged_error(lure)), 1);
        assert_eq!(browser.get(&swapped).await.status(), 303);
    }
);

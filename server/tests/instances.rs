//! Two `latchkey` processes on one PostgreSQL, as an organisation that outgrows one machine runs
//! them: a session made on one works on the other, failed sign-ins count across both, each
//! queued email goes out exactly once, a bulk job whose instance is killed mid-way is finished
//! by the other, and a PostgreSQL restart is a clear, retryable 503 that heals by itself.
//!
//! The database is reached through a TCP proxy the test owns, so "PostgreSQL restarts" is the
//! proxy dropping every connection and refusing new ones for a while, as a restart looks from
//! Latchkey's side, without touching the server other tests share.

mod support;

use base64::Engine as _;
use domain::db::Engine;
use domain::smtp_sink::SmtpSink;
use domain::testing::TestDb;
use model::time::Timestamp;
use model::user::Role;
use reqwest::Client;
use std::process::Stdio;
use std::time::Duration;
use support::{Browser, PASSWORD};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// A loopback TCP proxy to PostgreSQL that can be taken down and brought back on its port.
struct Proxy {
    port: u16,
    target: String,
    task: Option<JoinHandle<()>>,
}

impl Proxy {
    async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut proxy = Proxy {
            port,
            target: target.to_owned(),
            task: None,
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let target = self.target.clone();
        self.task = Some(tokio::spawn(async move {
            // Aborting this task drops the set, which aborts every connection it carries.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    /// PostgreSQL goes away: open connections break, new ones are refused.
    fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    async fn start_again(&mut self) {
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        self.serve(listener);
    }
}

/// `url` with its host and port replaced by the proxy's.
fn through(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (user, rest) = rest.rsplit_once('@').map_or(("", rest), |(u, r)| (u, r));
    let path = &rest[rest.find('/').unwrap()..];
    let at = if user.is_empty() { "" } else { "@" };
    format!("{scheme}://{user}{at}127.0.0.1:{port}{path}")
}

/// The host and port in `url`.
fn address(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest[..rest.find('/').unwrap()].to_owned()
}

/// One `latchkey serve` process.
struct Instance {
    url: String,
    child: Child,
}

impl Instance {
    async fn start(database_url: &str, key: &str, smtp_port: u16) -> Self {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}");
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .arg("serve")
            .current_dir(root)
            .env("DATABASE_URL", database_url)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LATCHKEY_PUBLIC_URL", &url)
            .env("LATCHKEY_SECRET_KEY", key)
            .env("LATCHKEY_SMTP_HOST", "127.0.0.1")
            .env("LATCHKEY_SMTP_PORT", smtp_port.to_string())
            .env("LATCHKEY_SMTP_TLS", "none")
            .env("LATCHKEY_MAIL_FROM", "Latchkey <latchkey@example.com>")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let instance = Instance { url, child };
        let client = Client::new();
        for _ in 0..600 {
            if let Ok(response) = client.get(format!("{}/login", instance.url)).send().await
                && response.status().is_success()
            {
                return instance;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("latchkey did not start on {}", instance.url);
    }

    /// A browser talking to this instance, sharing `client`'s cookies (one person's browser
    /// behind a load balancer that sends each request to either instance).
    fn browser(&self, client: &Client) -> Browser {
        Browser {
            client: client.clone(),
            url: self.url.clone(),
        }
    }

    /// `kill -9`: no chance to finish a batch or release a lease.
    async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }
}

fn cookie_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn scalar(db: &domain::Db, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(db.pool())
        .await
        .unwrap()
}

/// People made straight in the database: `count` with no email (for the bulk job), and a few
/// who sign in.
async fn people(db: &domain::Db, count: i64) {
    sqlx::query(
        "INSERT INTO users (id, username, username_key, display_name, search_text, active, \
         source, role, must_change_password, failed_logins, created_at, updated_at) \
         SELECT 'bulk-' || g, 'bulk' || g, 'bulk' || g, 'Bulk ' || g, 'bulk' || g, 1, \
         'local', 'user', 0, 0, 0, 0 FROM generate_series(1, $1) AS g",
    )
    .bind(count)
    .execute(db.pool())
    .await
    .unwrap();
    let hasher = domain::Hasher::new(1).unwrap();
    let digest = hasher.hash(&domain::Password::new(PASSWORD)).await.unwrap();
    for (name, role) in [
        ("root", Role::Administrator),
        ("ada", Role::User),
        ("bob", Role::User),
    ] {
        let new =
            domain::users::NewUser::new(name, name, &format!("{name}@example.com"), role).unwrap();
        let mut tx = db.begin().await.unwrap();
        domain::users::insert(&mut tx, &new, Some(&digest), Timestamp::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    for i in 0..40 {
        let name = format!("mail{i}");
        let new =
            domain::users::NewUser::new(&name, &name, &format!("{name}@example.com"), Role::User)
                .unwrap();
        let mut tx = db.begin().await.unwrap();
        domain::users::insert(&mut tx, &new, Some(&digest), Timestamp::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
}

/// What a bulk job's page reads of it.
async fn job_page(browser: &Browser, job: &str) -> serde_json::Value {
    browser
        .call("bulk/job", &[("id", job)])
        .await
        .json()
        .await
        .unwrap()
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..1200 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_postgresql() {
    let Some(test_db) = TestDb::new(Engine::Postgres).await else {
        return;
    };
    let db = test_db.db.clone();
    let mut proxy = Proxy::start(&address(&test_db.url)).await;
    let database_url = through(&test_db.url, proxy.port);
    let sink = SmtpSink::start().await;
    let key_bytes: [u8; 32] = rand::random();
    let key = base64::engine::general_purpose::STANDARD.encode(key_bytes);
    people(&db, 20_000).await;

    // A bulk job: the instance running it is killed mid-way, and the other finishes it.
    let a = Instance::start(&database_url, &key, sink.port).await;
    let root = domain::authority::Actor::for_tests(
        model::user::UserId(
            sqlx::query_scalar("SELECT id FROM users WHERE username = 'root'")
                .fetch_one(db.pool())
                .await
                .unwrap(),
        ),
        "root",
        Role::Administrator,
    );
    let services = domain::Services::new(
        db.clone(),
        domain::Hasher::new(1).unwrap(),
        &a.url,
        domain::Keyring::from_base64(&key).unwrap(),
    );
    let force = domain::bulk::JobOptions {
        kind: model::bulk::BulkKind::ForceReset,
        link_minutes: 60,
        invalidate_password: false,
    };
    let selection = domain::bulk::Selection::Search("bulk".into());
    let job = domain::bulk::create_job(&services, &root, force, &selection, "two-instances")
        .await
        .unwrap();
    let processed = format!("SELECT processed FROM bulk_jobs WHERE id = '{job}'");
    wait_until("the first instance has started the job", async || {
        scalar(&db, &processed).await > 0
    })
    .await;
    a.kill().await;
    let cut = scalar(&db, &processed).await;
    assert!(cut < 20_000, "the job finished before the kill ({cut})");

    let b = Instance::start(&database_url, &key, sink.port).await;
    let client = cookie_client();
    let on_b = b.browser(&client);
    assert_eq!(on_b.sign_in("root").await.status(), 200);
    // The job's page on the other instance shows where it stopped.
    let seen = job_page(&on_b, &job).await;
    assert_eq!(seen["processed"], cut, "{seen}");
    // The dead instance's lease runs out (60 s; moved forward here rather than waited for).
    sqlx::query("UPDATE bulk_jobs SET lease_until = 0")
        .execute(db.pool())
        .await
        .unwrap();
    wait_until("the other instance has finished the job", async || {
        !job_page(&on_b, &job).await["finished_at"].is_null()
    })
    .await;
    assert_eq!(scalar(&db, &processed).await, 20_000);
    let flagged = "SELECT COUNT(*) FROM users WHERE username LIKE 'bulk%' \
                   AND must_change_password = 1";
    assert_eq!(scalar(&db, flagged).await, 20_000);
    let audited = "SELECT COUNT(*) FROM audit_events WHERE action = 'password.force_reset'";
    let once = "SELECT COUNT(DISTINCT target_id) FROM audit_events \
                WHERE action = 'password.force_reset'";
    assert_eq!(scalar(&db, audited).await, 20_000, "one audit row per user");
    assert_eq!(scalar(&db, once).await, 20_000);

    // A session made on one instance works on the other.
    let a = Instance::start(&database_url, &key, sink.port).await;
    let on_a = a.browser(&client);
    let session: serde_json::Value = on_a.call("session", &[]).await.json().await.unwrap();
    assert_eq!(session["me"]["username"], "root", "{session}");

    // Failed sign-ins count across both.
    for instance in [&a, &b, &a, &b] {
        let response = instance
            .browser(&cookie_client())
            .call("login", &[("username", "bob"), ("password", "not it")])
            .await;
        assert_eq!(response.status(), 401);
    }
    let failures = "SELECT failed_logins FROM users WHERE username = 'bob'";
    assert_eq!(scalar(&db, failures).await, 4);

    // Forty links queued at once: both mailers deliver, and each email goes out exactly once.
    for i in 0..40 {
        let id = model::user::UserId(
            sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
                .bind(format!("mail{i}"))
                .fetch_one(db.pool())
                .await
                .unwrap(),
        );
        let request = domain::resets::LinkRequest {
            minutes: 60,
            invalidate_password: false,
            delivery: domain::resets::LinkDelivery::Email,
        };
        domain::resets::send_link(&services, &root, &id, request)
            .await
            .unwrap();
    }
    let sent = "SELECT COUNT(*) FROM email_outbox WHERE state = 'sent'";
    wait_until("every email is sent", async || {
        scalar(&db, sent).await == 40
    })
    .await;
    // A second sender would have had to claim a row again, which shows as a second attempt:
    // with every row sent on its first attempt, no other delivery is still on its way.
    let attempts = "SELECT COALESCE(MAX(attempts), 0) FROM email_outbox";
    assert_eq!(scalar(&db, attempts).await, 1);
    let received = sink.received();
    assert_eq!(received.len(), 40, "each email exactly once");
    for i in 0..40 {
        let to = format!("mail{i}@example.com");
        assert_eq!(
            received
                .iter()
                .filter(|m| m.to.iter().any(|t| t.contains(&to)))
                .count(),
            1,
            "{to}"
        );
    }

    // PostgreSQL restarts: a clear, retryable answer while it is down, then work as before.
    proxy.stop();
    let down = on_a.call("users/list", &[("q", "ada")]).await;
    assert_eq!(down.status(), 503);
    assert_eq!(down.headers()["retry-after"], "5");
    let body: serde_json::Value = down.json().await.unwrap();
    assert!(body.get("StoreUnavailable").is_some(), "{body}");
    proxy.start_again().await;
    wait_until("the instances work again", async || {
        on_a.call("users/list", &[("q", "ada")]).await.status() == 200
            && on_b.call("users/list", &[("q", "ada")]).await.status() == 200
    })
    .await;

    a.kill().await;
    b.kill().await;
    test_db.drop_db().await;
}

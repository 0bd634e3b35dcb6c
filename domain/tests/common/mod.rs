//! What the domain tests share: services over a test database, users with a known password,
//! and small probes of the outcome.
#![allow(dead_code)]

use domain::auth;
use domain::authority::Actor;
use domain::email_config::{self, EmailEnv};
use domain::mail::{MailConfig, Mailer, RetryPolicy};
use domain::sessions::{ClientInfo, Purpose};
use domain::users::{self, NewUser};
use domain::{Db, Hasher, Password, Services};
use model::time::Timestamp;
use model::user::{Role, UserId};
use std::sync::OnceLock;
use std::time::Duration;

pub const OLD: &str = "correct horse battery staple";
pub const NEW: &str = "violet tractor mirror lantern";

pub fn services(db: Db) -> Services {
    static HASHER: OnceLock<Hasher> = OnceLock::new();
    Services::new(
        db,
        HASHER.get_or_init(|| Hasher::new(4).unwrap()).clone(),
        "https://latchkey.example.com",
        domain::Keyring::ephemeral(),
    )
}

pub fn client() -> ClientInfo {
    ClientInfo {
        ip: Some("192.0.2.7".into()),
        user_agent: None,
    }
}

pub async fn create(s: &Services, username: &str, role: Role) -> UserId {
    let new = NewUser::new(username, username, &format!("{username}@example.com"), role).unwrap();
    let digest = s.hasher.hash(&Password::new(OLD)).await.unwrap();
    let mut tx = s.db.begin().await.unwrap();
    let id = users::insert(&mut tx, &new, Some(&digest), Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

pub async fn actor(s: &Services, username: &str, role: Role) -> Actor {
    let id = create(s, username, role).await;
    Actor::for_tests(id, username, role)
}

pub async fn signs_in(s: &Services, username: &str, password: &str) -> Option<Purpose> {
    auth::sign_in(s, username, &Password::new(password), &client())
        .await
        .ok()
        .map(|signed| signed.purpose)
}

pub async fn sessions_of(s: &Services, id: &UserId) -> i64 {
    domain::sessions::count_for_user(&s.db, id).await.unwrap()
}

pub async fn last_action(s: &Services) -> (String, Option<String>) {
    sqlx::query_as("SELECT action, actor_name FROM audit_events ORDER BY id DESC LIMIT 1")
        .fetch_one(s.db.pool())
        .await
        .unwrap()
}

/// A mailer delivering to the SMTP server on loopback at `port` (a test's `SmtpSink`), which
/// runs only when a test calls `deliver_due`.
pub fn mailer_with(s: &Services, port: u16, retry: RetryPolicy) -> Mailer {
    let mut s = s.clone();
    s.email = email_config::Live::new(EmailEnv::loopback_smtp(port));
    let config = MailConfig {
        retry,
        poll: Duration::from_secs(3600),
    };
    Mailer::new(&s, &config)
}

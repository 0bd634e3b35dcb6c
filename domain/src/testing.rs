//! Throwaway databases for tests, on both engines.
//!
//! PostgreSQL tests need a server (default `postgres://postgres@127.0.0.1:5432/postgres`, or
//! `LATCHKEY_TEST_POSTGRES_URL`). Where it is unreachable they skip with a line saying so,
//! except under `CI=true`, where a missing database is a failure, not a pass.

use crate::Db;
use crate::db::Engine;
use sqlx::Connection;

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct TestDb {
    pub db: Db,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Database { admin_url: String, name: String },
}

fn admin_url() -> String {
    std::env::var("LATCHKEY_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned())
}

impl TestDb {
    /// A fresh, migrated database, or `None` when PostgreSQL is not there (outside CI).
    pub async fn new(engine: Engine) -> Option<Self> {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        match engine {
            Engine::Sqlite => {
                let path = std::env::temp_dir().join(format!("latchkey-test-{unique}.db"));
                let url = format!("sqlite://{}", path.display());
                let db = Db::connect(&url).await.expect("SQLite test database");
                Some(Self {
                    db,
                    url,
                    cleanup: Cleanup::File(path),
                })
            }
            Engine::Postgres => {
                let admin_url = admin_url();
                sqlx::any::install_default_drivers();
                let mut admin = match sqlx::AnyConnection::connect(&admin_url).await {
                    Ok(conn) => conn,
                    Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                        panic!("PostgreSQL is required under CI=true but {admin_url} failed: {e}")
                    }
                    Err(e) => {
                        eprintln!("SKIPPED: PostgreSQL test (no server at {admin_url}: {e})");
                        return None;
                    }
                };
                let name = format!("latchkey_test_{unique}");
                sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                let _ = admin.close().await;
                let url = replace_database(&admin_url, &name);
                let db = Db::connect(&url).await.expect("PostgreSQL test database");
                Some(Self {
                    db,
                    url,
                    cleanup: Cleanup::Database { admin_url, name },
                })
            }
        }
    }

    /// Closes the pool and removes the database. Call at the end of a test.
    pub async fn drop_db(self) {
        self.db.close().await;
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database { admin_url, name } => {
                if let Ok(mut admin) = sqlx::AnyConnection::connect(&admin_url).await {
                    let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                }
            }
        }
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(head, _)| head);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Writes one `#[tokio::test]` per engine for a test body taking a `Db`:
/// `both_engines!(name, |db| async move { ... })`.
#[macro_export]
macro_rules! both_engines {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run(engine: $crate::db::Engine) {
                let Some(test_db) = $crate::testing::TestDb::new(engine).await else {
                    return;
                };
                let body = $body;
                body(test_db.db.clone()).await;
                test_db.drop_db().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::db::Engine::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::db::Engine::Postgres).await;
            }
        }
    };
}

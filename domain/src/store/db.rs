//! The database: SQLite by default, PostgreSQL for several instances sharing one store.
//!
//! Both engines sit behind sqlx's `Any` driver with schemas of the same shape (integers for
//! times and flags, text for ids), so every query in the store is written once.

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction};
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn of_url(url: &str) -> Result<Self, sqlx::Error> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Engine::Postgres)
        } else {
            Err(sqlx::Error::Configuration(
                "DATABASE_URL must start with sqlite: or postgres://".into(),
            ))
        }
    }
}

#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    engine: Engine,
    /// SQLite's writers, in turn (see [`Db::begin`]); PostgreSQL's write side by side.
    writers: Option<Arc<Mutex<()>>>,
}

/// The pool's size on each engine.
const SQLITE_CONNECTIONS: u32 = 8;
const POSTGRES_CONNECTIONS: u32 = 16;

/// How long a transaction waits for a pooled connection, or on SQLite for its turn to write.
const WAIT_FOR_DATABASE: Duration = Duration::from_secs(10);

/// A transaction that will write: the connection it runs on, and on SQLite its turn to write,
/// held until it commits, rolls back or is dropped.
pub struct Tx {
    // Declared first, so dropped first: an abandoned transaction's rollback is queued on its
    // connection before the next writer's turn comes.
    tx: Transaction<'static, Any>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl Deref for Tx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// A connection for statements that write outside a transaction ([`Db::writer`]), and on
/// SQLite the writers' turn, held until it is dropped.
pub struct Writer {
    conn: PoolConnection<Any>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl Deref for Writer {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

/// The engine a transaction runs on.
pub fn engine_of(tx: &Tx) -> Engine {
    if tx.backend_name() == "PostgreSQL" {
        Engine::Postgres
    } else {
        Engine::Sqlite
    }
}

impl Db {
    /// Connects, creating an SQLite file (and its folder) if needed, and brings the schema up to
    /// date. Safe to call from several instances at once: sqlx takes a migration lock.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        install_default_drivers();
        let engine = Engine::of_url(url)?;
        let url = match engine {
            Engine::Sqlite => {
                create_sqlite_parent(url)?;
                with_create_mode(url)
            }
            Engine::Postgres => url.to_owned(),
        };
        let pool = pool_options(
            engine,
            match engine {
                Engine::Sqlite => SQLITE_CONNECTIONS,
                Engine::Postgres => POSTGRES_CONNECTIONS,
            },
        )
        .connect(&url)
        .await?;
        let db = Self {
            pool,
            engine,
            writers: (engine == Engine::Sqlite).then(Arc::default),
        };
        db.migrate().await?;
        Ok(db)
    }

    /// The same database through a pool of its own, of at most `connections`, for work that
    /// runs on a thread of its own. Nothing connects until the pool is first used; SQLite's
    /// connections, each with its worker thread, are then opened from the thread that uses
    /// it, and the worker threads inherit its priority.
    pub fn own_pool(&self, connections: u32) -> Self {
        let options = (*self.pool.connect_options()).clone();
        Self {
            pool: pool_options(self.engine, connections).connect_lazy_with(options),
            engine: self.engine,
            // The same file, so the same writers' turns.
            writers: self.writers.clone(),
        }
    }

    async fn migrate(&self) -> Result<(), sqlx::Error> {
        let migrator = match self.engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// A transaction that will write. SQLite takes the write lock up front (`IMMEDIATE`), so two
    /// read-then-write transactions queue instead of one failing with "database is locked"
    /// when it tries to upgrade. They queue here, in order and holding no connection, before
    /// they queue in SQLite: its busy handler holds each waiting writer's connection and wakes
    /// it in steps of up to 100 ms, so a burst of sign-ins took every connection from the
    /// pages' reads and left the lock idle between writers. A statement that writes outside a
    /// transaction takes its turn through [`Db::writer`].
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        let turn = self.turn().await?;
        let tx = match turn {
            Some(_) => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            None => self.pool.begin().await?,
        };
        Ok(Tx { tx, _turn: turn })
    }

    /// A connection for a statement that writes on its own, outside a transaction, taken on
    /// SQLite in the writers' turn as [`Db::begin`] takes it. Waiting in SQLite's busy handler
    /// instead, the mailer's claims waited up to 2 s each during a Bulk Change, and each that
    /// got the lock between two batches held the next one back by a step of the handler's.
    /// Never call it while holding a [`Tx`]: the turn is that transaction's until it ends.
    pub async fn writer(&self) -> Result<Writer, sqlx::Error> {
        let turn = self.turn().await?;
        Ok(Writer {
            conn: self.pool.acquire().await?,
            _turn: turn,
        })
    }

    /// On SQLite, this writer's turn: first come, first served, holding no connection.
    async fn turn(&self) -> Result<Option<OwnedMutexGuard<()>>, sqlx::Error> {
        let Some(writers) = &self.writers else {
            return Ok(None);
        };
        let turn = tokio::time::timeout(WAIT_FOR_DATABASE, writers.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        Ok(Some(turn))
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Every pool's settings: SQLite's connections get the pragmas this module checks.
fn pool_options(engine: Engine, connections: u32) -> AnyPoolOptions {
    let options = AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(WAIT_FOR_DATABASE);
    match engine {
        Engine::Sqlite => options.after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute(SQLITE_PRAGMAS).await?;
                check_sqlite_pragmas(conn).await
            })
        }),
        Engine::Postgres => options,
    }
}

fn create_sqlite_parent(url: &str) -> Result<(), sqlx::Error> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
    }
    Ok(())
}

/// A first start should create the database file rather than fail because it is not there yet.
fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Every SQLite connection's settings, and why:
/// - WAL lets readers go on while one writer commits; the busy timeout makes a second writer
///   wait rather than fail.
/// - `synchronous = FULL`: in WAL mode, NORMAL may lose the last commits on a power cut, and a
///   lost commit can bring a used reset link or a replaced password back to life.
/// - `secure_delete`: a deleted or overwritten value (an erased email body, an old hash) is
///   zeroed in the file instead of lingering in free pages.
/// - `wal_autocheckpoint = 10000` pages (40 MB, not 4): a Bulk Change batch dirties more than
///   1,000 pages, so at the default every batch's commit also copied the log into the database
///   and synced it twice; a 100,000-user job spent 6 s committing instead of under 4. What
///   the log holds is what the database holds: bodies sealed, passwords and tokens hashed.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA secure_delete = ON; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
     PRAGMA wal_autocheckpoint = 10000;";

/// What [`SQLITE_PRAGMAS`] must leave in force. A pragma can be silently ignored (an unknown
/// name, a file system without shared memory for WAL), so each connection reads them back and
/// is refused if one is not as the code expects.
const SQLITE_EXPECTED: [(&str, &str); 6] = [
    ("journal_mode", "wal"),
    ("wal_autocheckpoint", "10000"),
    ("synchronous", "2"),
    ("secure_delete", "1"),
    ("busy_timeout", "5000"),
    ("foreign_keys", "1"),
];

async fn check_sqlite_pragmas(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    for (name, expected) in SQLITE_EXPECTED {
        let row = sqlx::query(&format!("PRAGMA {name}"))
            .fetch_one(&mut *conn)
            .await?;
        let actual = sqlx::Row::try_get::<String, _>(&row, 0)
            .or_else(|_| sqlx::Row::try_get::<i64, _>(&row, 0).map(|v| v.to_string()))?;
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(sqlx::Error::Configuration(
                format!("SQLite PRAGMA {name} is {actual}, but Latchkey needs {expected}").into(),
            ));
        }
    }
    Ok(())
}

/// SQLite and PostgreSQL both keep flags as 0/1 integers here; these keep that detail in one place.
pub(crate) fn flag(value: bool) -> i64 {
    i64::from(value)
}

pub(crate) fn is_set(value: i64) -> bool {
    value != 0
}

/// Whether an error is a uniqueness violation, which callers turn into a `Conflict`.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;

    #[tokio::test]
    async fn sqlite_writers_wait_their_turn_without_a_connection() {
        let test_db = TestDb::new(Engine::Sqlite).await.unwrap();
        let db = test_db.db.clone();
        let first = db.begin().await.unwrap();
        const INSERT: &str =
            "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, 0, 1)";
        // Two transactions and a statement of its own wait behind it.
        let waiting: Vec<_> = (0..3)
            .map(|i| {
                let db = db.clone();
                tokio::spawn(async move {
                    let bucket = uuid::Uuid::new_v4().to_string();
                    if i == 2 {
                        let mut writer = db.writer().await.unwrap();
                        sqlx::query(INSERT)
                            .bind(bucket)
                            .execute(&mut *writer)
                            .await
                            .unwrap();
                        return;
                    }
                    let mut tx = db.begin().await.unwrap();
                    sqlx::query(INSERT)
                        .bind(bucket)
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                })
            })
            .collect();
        // The test's runtime has one thread: each yield lets every writer run until it waits.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(
            waiting.iter().all(|w| !w.is_finished()),
            "a writer went before its turn"
        );
        // Every connection but the first writer's is free for reads.
        let mut readers = Vec::new();
        for _ in 1..SQLITE_CONNECTIONS {
            let reader = tokio::time::timeout(Duration::from_secs(2), db.pool().acquire())
                .await
                .expect("a waiting writer holds a connection")
                .unwrap();
            readers.push(reader);
        }
        drop(readers);
        // An abandoned transaction gives its turn up too.
        drop(first);
        for writer in waiting {
            writer.await.unwrap();
        }
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM rate_limits")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(n, 3);
        test_db.drop_db().await;
    }
}

//! `make bench`: figures for the foundation's performance targets, written to a file.
//!
//! - seeding 100,000 users takes seconds (batched inserts);
//! - a page of the Users table costs the same at page 1 and page 2,000 (keyset pagination);
//! - a search stays interactive at 100k users;
//! - one argon2id hash, and a burst of them through the bounded hasher;
//! - Bulk Change > Reset Password for all 100,000 users as a background job, and what a Users
//!   page costs another admin while it runs;
//! - "Forgot your password?" takes the same time for a real account and an unknown one;
//! - what `synchronous = FULL` costs a SQLite commit beside `NORMAL`.
//!
//! Runs on SQLite, and on PostgreSQL when one is reachable.

use domain::db::Engine;
use domain::testing::TestDb;
use domain::{Hasher, Password, users};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const USERS: u64 = 100_000;
const PAGE: u32 = 50;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median of `runs` timings of `f`.
async fn median<F, Fut>(runs: usize, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f().await;
        times.push(started.elapsed());
    }
    times.sort();
    times[runs / 2]
}

async fn bench_engine(engine: Engine, out: &mut String) {
    let Some(test_db) = TestDb::new(engine).await else {
        let _ = writeln!(out, "{engine:?}: skipped (not reachable)");
        return;
    };
    let db = test_db.db.clone();
    let started = Instant::now();
    let inserted = domain::seed::seed_users(&db, USERS).await.unwrap();
    let seed_time = started.elapsed();
    let _ = writeln!(
        out,
        "{engine:?}: seeded {inserted} users in {:.2} s",
        seed_time.as_secs_f64()
    );

    let first = median(21, || async {
        users::list_page(&db, "", None, PAGE).await.unwrap();
    })
    .await;
    // The cursor of roughly the middle of the table: walk there once.
    let mut cursor: Option<String> = None;
    for _ in 0..(USERS / 2 / u64::from(PAGE)) {
        cursor = users::list_page(&db, "", cursor.as_deref(), PAGE)
            .await
            .unwrap()
            .1;
    }
    let deep = median(21, || async {
        users::list_page(&db, "", cursor.as_deref(), PAGE)
            .await
            .unwrap();
    })
    .await;
    let common = median(11, || async {
        users::list_page(&db, "lovelace", None, PAGE).await.unwrap();
    })
    .await;
    let rare = median(11, || async {
        users::list_page(&db, "no-such-person", None, PAGE)
            .await
            .unwrap();
    })
    .await;
    let _ = writeln!(
        out,
        "{engine:?}: page 1 of users: {:.2} ms (median of 21)",
        ms(first)
    );
    let _ = writeln!(
        out,
        "{engine:?}: page 1,000 of users: {:.2} ms (median of 21)",
        ms(deep)
    );
    let _ = writeln!(
        out,
        "{engine:?}: search, common term: {:.2} ms (median of 11)",
        ms(common)
    );
    let _ = writeln!(
        out,
        "{engine:?}: search, no match (scans every row): {:.2} ms (median of 11)",
        ms(rare)
    );
    if engine == Engine::Sqlite {
        bench_durability(&db, out).await;
    }
    bench_bulk(engine, &db, out).await;
    bench_forgot(engine, &db, out).await;
    test_db.drop_db().await;
}

async fn admin_actor(services: &domain::Services) -> domain::authority::Actor {
    let new =
        users::NewUser::new("bench-admin", "Bench Admin", "", model::Role::Administrator).unwrap();
    let mut tx = services.db.begin().await.unwrap();
    let id = users::insert(&mut tx, &new, None, model::time::Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    domain::authority::Actor::for_tests(id, "bench-admin", model::Role::Administrator)
}

/// The whole table reset in bulk while another admin keeps loading the Users page.
async fn bench_bulk(engine: Engine, db: &domain::Db, out: &mut String) {
    use domain::bulk::{JobOptions, Selection};

    let services = domain::Services::new(
        db.clone(),
        Hasher::new(2).unwrap(),
        "http://bench",
        domain::Keyring::ephemeral(),
    );
    let actor = admin_actor(&services).await;
    let options = JobOptions {
        kind: model::bulk::BulkKind::ForceReset,
        link_minutes: 60,
        invalidate_password: false,
    };
    // The preview dialog of "select all matching this search" over the whole table.
    let preview = median(5, || async {
        domain::bulk::preview(db, &actor, options.kind, &Selection::Search(String::new()))
            .await
            .unwrap();
    })
    .await;
    let _ = writeln!(
        out,
        "{engine:?}: bulk preview of every user: {:.0} ms (median of 5)",
        ms(preview)
    );
    let started = Instant::now();
    let job = domain::bulk::create_job(
        &services,
        &actor,
        options,
        &Selection::Search(String::new()),
        &bulk_key(),
    )
    .await
    .unwrap();
    let created = started.elapsed();
    let runner = {
        let services = services.clone();
        tokio::spawn(async move { domain::bulk::run_next(&services).await.unwrap() })
    };
    let mut pages = Vec::new();
    while !runner.is_finished() {
        let t = Instant::now();
        users::list_page(db, "", None, PAGE).await.unwrap();
        pages.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    runner.await.unwrap();
    let total = started.elapsed();
    let done = domain::bulk::job(db, &actor, &job).await.unwrap().unwrap();
    pages.sort();
    let at = |q: f64| ms(pages[((pages.len() - 1) as f64 * q) as usize]);
    let _ = writeln!(
        out,
        "{engine:?}: bulk reset of {} users: job created in {:.0} ms, done in {:.1} s \
         ({:.0} users/s); a Users page meanwhile: median {:.2} ms, p99 {:.2} ms, max {:.2} ms \
         ({} loads)",
        done.processed,
        ms(created),
        total.as_secs_f64(),
        done.processed as f64 / total.as_secs_f64(),
        at(0.5),
        at(0.99),
        at(1.0),
        pages.len()
    );
}

/// A real account and an unknown name must answer alike.
async fn bench_forgot(engine: Engine, db: &domain::Db, out: &mut String) {
    let services = domain::Services::new(
        db.clone(),
        Hasher::new(2).unwrap(),
        "http://bench",
        domain::Keyring::ephemeral(),
    );
    let client = domain::sessions::ClientInfo {
        ip: None,
        user_agent: None,
    };
    let (known,): (String,) =
        sqlx::query_as("SELECT username FROM users WHERE email IS NOT NULL AND active = 1 LIMIT 1")
            .fetch_one(db.pool())
            .await
            .unwrap();
    let real = median(5, || async {
        // Five requests stay within the per-name limit.
        domain::resets::request_by_user(&services, &known, &client)
            .await
            .unwrap();
    })
    .await;
    let unknown = median(5, || async {
        domain::resets::request_by_user(&services, "no-such-account", &client)
            .await
            .unwrap();
    })
    .await;
    let _ = writeln!(
        out,
        "{engine:?}: forgot password answered in {:.1} ms (real account) vs {:.1} ms (unknown), \
         median of 5",
        ms(real),
        ms(unknown)
    );
}

async fn bench_hashing(out: &mut String) {
    let hasher = Hasher::for_this_machine().unwrap();
    let password = Password::new("correct horse battery staple");
    let one = median(5, || async {
        hasher.hash(&password).await.unwrap();
    })
    .await;
    let burst = 32;
    let started = Instant::now();
    let tasks: Vec<_> = (0..burst)
        .map(|_| {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                hasher
                    .verify(&Password::new("correct horse battery staple"), None)
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let _ = writeln!(
        out,
        "argon2id (m=19456, t=2, p=1): one hash {:.1} ms (median of 5)",
        ms(one)
    );
    let _ = writeln!(
        out,
        "argon2id: burst of {burst} sign-ins through the bounded hasher: {:.0} ms total on {} cores",
        ms(started.elapsed()),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}

/// One small write transaction (a flag on one user, as Force Password Reset makes), committed
/// `COMMITS` times on one connection with each `synchronous` setting: the price of not losing
/// the last commits on a power cut.
async fn bench_durability(db: &domain::Db, out: &mut String) {
    const COMMITS: usize = 500;
    let mut conn = db.pool().acquire().await.unwrap();
    let mut per_commit = Vec::new();
    for setting in ["NORMAL", "FULL"] {
        sqlx::query(&format!("PRAGMA synchronous = {setting}"))
            .execute(&mut *conn)
            .await
            .unwrap();
        let started = Instant::now();
        for i in 0..COMMITS {
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut *conn)
                .await
                .unwrap();
            sqlx::query(
                "UPDATE users SET updated_at = $1 WHERE id = (SELECT id FROM users LIMIT 1)",
            )
            .bind(i64::try_from(i).unwrap())
            .execute(&mut *conn)
            .await
            .unwrap();
            sqlx::query("COMMIT").execute(&mut *conn).await.unwrap();
        }
        per_commit.push(ms(started.elapsed()) / COMMITS as f64);
    }
    let _ = writeln!(
        out,
        "Sqlite: one write commit: {:.3} ms with synchronous=NORMAL, {:.3} ms with FULL (the \
         setting Latchkey uses), mean of {COMMITS}",
        per_commit[0], per_commit[1]
    );
}

#[tokio::main]
async fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "bench/results.txt".into());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# latchkey bench (cargo run --release -p server --example bench)"
    );
    bench_engine(Engine::Sqlite, &mut out).await;
    bench_engine(Engine::Postgres, &mut out).await;
    bench_hashing(&mut out).await;
    print!("{out}");
    std::fs::write(&path, out).expect("write bench results");
    println!("written to {path}");
}

/// A fresh Bulk Change request key, as the preview hands out.
fn bulk_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

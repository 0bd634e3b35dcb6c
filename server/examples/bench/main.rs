//! `make bench`: each of issue 11's figures measured beside its reference in one run, written
//! to `bench/RESULTS.md` and `bench/results.json`.
//!
//! Seeds its own data: 100,000 users for Bulk Change, 1,000,000 for search, 1,000,000 audit
//! events for Management > Audit, on SQLite and (when
//! it is reachable) PostgreSQL. Speed is only ever judged here, never by a timed test.

mod audit;
mod bulk;
mod outbox;
mod report;
mod search;
mod served;
mod signin;

use domain::db::Engine;
use domain::testing::TestDb;
use domain::{Db, Hasher, Services, users};
use std::time::{Duration, Instant};

use report::Figure;

/// The server's allocator, so that the references measured in this process (the bare axum
/// handler, the bare queries, raw argon2) run on what Latchkey runs on.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

pub const PAGE: u32 = 50;
const BULK_USERS: u64 = 100_000;
const SEARCH_USERS: u64 = 1_000_000;
/// The audit run's events name people by name only: a few accounts suffice to sign in.
const AUDIT_USERS: u64 = 1_000;
/// Enough that about 10,000 of them can be sent a link (active, local, with an address).
const OUTBOX_USERS: u64 = 11_450;

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `q` quantile of `times` (sorted in place).
pub fn quantile(times: &mut [Duration], q: f64) -> Duration {
    if times.is_empty() {
        return Duration::ZERO;
    }
    times.sort();
    times[((times.len() - 1) as f64 * q).round() as usize]
}

pub fn services(db: &Db) -> Services {
    Services::new(
        db.clone(),
        Hasher::new(2).unwrap(),
        "http://bench",
        domain::Keyring::ephemeral(),
    )
}

pub async fn admin_actor(services: &Services) -> domain::authority::Actor {
    let new =
        users::NewUser::new("bench-admin", "Bench Admin", "", model::Role::Administrator).unwrap();
    let mut tx = services.db.begin().await.unwrap();
    let id = users::insert(&mut tx, &new, None, model::time::Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    domain::authority::Actor::for_tests(id, "bench-admin", model::Role::Administrator)
}

/// A fresh database of `engine` with `count` seeded users, or `None` when it is not reachable.
async fn seeded(engine: Engine, count: u64, notes: &mut Vec<String>) -> Option<TestDb> {
    let Some(test_db) = TestDb::new(engine).await else {
        notes.push(format!(
            "{engine:?} was not reachable: its figures are missing."
        ));
        return None;
    };
    let started = Instant::now();
    domain::seed::seed_users(&test_db.db, count).await.unwrap();
    eprintln!(
        "{engine:?}: seeded {count} users in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    notes.push(format!(
        "{engine:?}: seeding {count} users took {:.1} s.",
        started.elapsed().as_secs_f64()
    ));
    Some(test_db)
}

#[tokio::main]
async fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "bench".into());
    let only = std::env::var("LATCHKEY_BENCH_ONLY").unwrap_or_default();
    let wanted = |part: &str| only.is_empty() || only.split(',').any(|p| p == part);
    let mut figures: Vec<Figure> = Vec::new();
    let mut notes = Vec::new();
    let engines = std::env::var("LATCHKEY_BENCH_ENGINES").unwrap_or_default();
    let engine_wanted = |engine: Engine| {
        engines.is_empty()
            || engines
                .split(',')
                .any(|e| e.eq_ignore_ascii_case(&format!("{engine:?}")))
    };
    for engine in [Engine::Sqlite, Engine::Postgres] {
        if !engine_wanted(engine) {
            continue;
        }
        if wanted("bulk")
            && let Some(test_db) = seeded(engine, BULK_USERS, &mut notes).await
        {
            bulk::run(engine, &test_db.db, &test_db.url, &mut figures, &mut notes).await;
            test_db.drop_db().await;
        }
        let serve = engine == Engine::Sqlite && wanted("served");
        if (wanted("search") || serve)
            && let Some(test_db) = seeded(engine, SEARCH_USERS, &mut notes).await
        {
            if wanted("search") {
                search::run(engine, &test_db.db, &test_db.url, &mut figures, &mut notes).await;
            }
            if serve {
                served::run(&test_db.db, &test_db.url, &mut figures, &mut notes).await;
            }
            test_db.drop_db().await;
        }
    }
    for engine in [Engine::Sqlite, Engine::Postgres] {
        if engine_wanted(engine)
            && wanted("audit")
            && let Some(test_db) = seeded(engine, AUDIT_USERS, &mut notes).await
        {
            audit::run(engine, &test_db.db, &test_db.url, &mut figures, &mut notes).await;
            test_db.drop_db().await;
        }
    }
    if wanted("outbox")
        && let Some(test_db) = seeded(Engine::Sqlite, OUTBOX_USERS, &mut notes).await
    {
        outbox::run(&test_db.db, &mut figures).await;
        test_db.drop_db().await;
    }
    if wanted("signin")
        && let Some(test_db) = seeded(Engine::Sqlite, 1_000, &mut notes).await
    {
        signin::run(&test_db.db, &mut figures).await;
        test_db.drop_db().await;
    }
    // A run of some parts keeps the other parts' figures from the last run.
    if !only.is_empty() || !engines.is_empty() {
        figures.extend(report::earlier(&format!("{dir}/results.json"), &figures));
    }
    let machine = report::machine();
    let date = model::time::Timestamp::now().to_string();
    let markdown = report::markdown(&figures, &machine, &date, &notes);
    print!("{markdown}");
    std::fs::create_dir_all(&dir).expect("bench directory");
    std::fs::write(format!("{dir}/RESULTS.md"), markdown).expect("write RESULTS.md");
    std::fs::write(
        format!("{dir}/results.json"),
        report::json(&figures, &machine, &date),
    )
    .expect("write results.json");
    eprintln!("written to {dir}/RESULTS.md and {dir}/results.json");
}

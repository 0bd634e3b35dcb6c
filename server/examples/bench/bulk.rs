//! Bulk Change > Reset Password of 100,000 users against the same change written set-based in
//! one transaction, and what a Users page costs another administrator while the job runs: the
//! job started, run and watched on the release `latchkey` (its own runner, below the request
//! threads), the page loaded over HTTP as a browser does.

use domain::Db;
use domain::db::Engine;
use model::bulk::{BulkJob, BulkPreview};
use model::time::Timestamp;
use std::time::{Duration, Instant};

use crate::report::{Figure, Target};
use crate::served::{self, Console};
use crate::{ms, quantile};

const ADMIN: &str = "bulk-admin";
/// How long the Users page is timed idle: about 800 loads, so that the idle p99 is the ninth
/// slowest of them and not the third slowest of 200, which moved the ratio twofold run to run.
const IDLE: Duration = Duration::from_secs(20);

/// The eligible users of a Reset Password over everyone, as the skip rule decides, in SQL.
const ELIGIBLE: &str = "active = 1 AND source = 'local' AND must_change_password = 0 \
                        AND id <> $1";

/// The physical limit: the job's essential writes for every eligible user in one transaction
/// of three statements (rolled back, so the job then starts from the same state; a commit is
/// one fsync).
async fn set_based_reference(db: &Db, admin: &str) -> Duration {
    let now = Timestamp::now().millis();
    let started = Instant::now();
    let mut tx = db.begin().await.unwrap();
    sqlx::query(&format!(
        "INSERT INTO audit_events (at, actor_id, actor_name, target_id, target_name, action, \
         outcome, detail) SELECT $2, $1, 'bench-admin', id, username, 'password.force_reset', \
         'success', 'reference' FROM users WHERE {ELIGIBLE}"
    ))
    .bind(admin)
    .bind(now)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(&format!(
        "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE {ELIGIBLE})"
    ))
    .bind(admin)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(&format!(
        "UPDATE users SET must_change_password = 1, updated_at = $2 WHERE {ELIGIBLE}"
    ))
    .bind(admin)
    .bind(now)
    .execute(&mut *tx)
    .await
    .unwrap();
    let took = started.elapsed();
    tx.rollback().await.unwrap();
    took
}

/// Puts PostgreSQL's tables in the same state before the reference and before the job: a
/// rolled-back transaction leaves its row versions behind, so without this the job would start
/// on 100,000 dead versions of the people it changes (and autovacuum would clear them while
/// it runs, or not, run to run), and the reference would set the freshly seeded rows' hint
/// bits that the job then finds set. SQLite's rollback leaves nothing.
async fn tidy(engine: Engine, db: &Db) {
    if engine == Engine::Postgres {
        sqlx::query("VACUUM (ANALYZE)")
            .execute(db.pool())
            .await
            .unwrap();
    }
}

/// What [`page_loads`] saw: each Users page's load time, each progress request's, and the job
/// as it finished.
struct Watched {
    loads: Vec<Duration>,
    progress: Vec<Duration>,
    done: Option<BulkJob>,
}

/// Users page load times, one every 20 ms, for `idle`, or while the job `id` runs (asking
/// for its progress once a second, as its page does).
async fn page_loads(console: &Console, idle: Duration, job: Option<&str>) -> Watched {
    let started = Instant::now();
    let mut loads = Vec::new();
    let mut progress = Vec::new();
    let mut checked = Instant::now();
    loop {
        match job {
            None if started.elapsed() >= idle => {
                return Watched {
                    loads,
                    progress,
                    done: None,
                };
            }
            Some(id) if checked.elapsed() >= Duration::from_secs(1) => {
                checked = Instant::now();
                let state: BulkJob = console.call("bulk/job", &[("id", id)]).await;
                progress.push(checked.elapsed());
                if state.is_done() {
                    return Watched {
                        loads,
                        progress,
                        done: Some(state),
                    };
                }
            }
            _ => {}
        }
        loads.push(console.load("/users").await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn run(
    engine: Engine,
    db: &Db,
    database_url: &str,
    figures: &mut Vec<Figure>,
    notes: &mut Vec<String>,
) {
    served::accounts(db, &[(ADMIN.to_owned(), model::Role::Administrator)]).await;
    let admin: String = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(ADMIN)
        .fetch_one(db.pool())
        .await
        .unwrap();
    tidy(engine, db).await;
    let reference = set_based_reference(db, &admin).await;
    tidy(engine, db).await;

    let server = match served::start(database_url).await {
        Ok(server) => server,
        Err(why) => {
            notes.push(format!("{engine:?}: the bulk figures are missing: {why}."));
            return;
        }
    };
    let console = match Console::sign_in(&server.url, ADMIN).await {
        Ok(console) => console,
        Err(why) => {
            notes.push(format!("{engine:?}: the bulk figures are missing: {why}."));
            return;
        }
    };
    // Warm the server as a running one is.
    for _ in 0..20 {
        console.load("/users").await;
    }
    let mut idle = page_loads(&console, IDLE, None).await.loads;

    // Bulk Change > Reset Password of everyone, as the dialog does it: confirm the password,
    // preview, OK.
    let () = console
        .call("confirm-password", &[("password", served::PASSWORD)])
        .await;
    let fields = [("kind", "force_reset"), ("scope", "search"), ("q", "")];
    let preview: BulkPreview = console.call("bulk/preview", &fields).await;
    let mut start = fields.to_vec();
    start.push(("request_key", &preview.request_key));
    let job: String = console.call("bulk/start", &start).await;
    let Watched {
        loads: mut during,
        mut progress,
        done,
    } = page_loads(&console, Duration::ZERO, Some(&job)).await;
    let done = done.expect("the job finished");
    let took = Duration::from_millis(
        u64::try_from(done.finished_at.expect("finished").millis() - done.created_at.millis())
            .unwrap_or(0),
    );

    figures.push(
        Figure::new(
            format!(
                "{engine:?}: Bulk Change > Reset Password, {} users",
                done.processed
            ),
            "s",
            took.as_secs_f64(),
        )
        .against("set-based SQL, one transaction", reference.as_secs_f64())
        .target(Target::RatioAtMost(3.0))
        .note(format!(
            "from the job's start to its end on the server; it also queues {} notices, voids \
             links and records every outcome",
            done.tally
                .iter()
                .find(|(k, _)| k == "reset")
                .map_or(0, |(_, n)| *n)
        )),
    );
    let (idle_p99, during_p99) = (quantile(&mut idle, 0.99), quantile(&mut during, 0.99));
    figures.push(
        Figure::new(
            format!("{engine:?}: Users page p99 while the job runs"),
            "ms",
            ms(during_p99),
        )
        .against("Users page p99 idle", ms(idle_p99))
        .target(Target::RatioAtMost(2.0))
        .note(format!(
            "GET /users over HTTP every 20 ms: {} loads during (p50 {:.1} ms), {} idle (p50 {:.1} ms); \
             the job's progress request once a second, p50 {:.0} ms",
            during.len(),
            ms(quantile(&mut during, 0.5)),
            idle.len(),
            ms(quantile(&mut idle, 0.5)),
            ms(quantile(&mut progress, 0.5)),
        )),
    );
}

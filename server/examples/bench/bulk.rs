//! Bulk Change > Reset Password of 100,000 users against the same change written set-based in
//! one transaction, and what a Users page costs another administrator while the job runs.

use domain::bulk::{JobOptions, Selection};
use domain::db::Engine;
use domain::{Db, Services, users};
use model::time::Timestamp;
use std::time::{Duration, Instant};

use crate::report::{Figure, Target};
use crate::{PAGE, admin_actor, ms, quantile, services};

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

/// Users page load times, one every 20 ms, while `running` says so.
async fn page_loads(db: &Db, mut running: impl FnMut() -> bool) -> Vec<Duration> {
    let mut loads = Vec::new();
    while running() {
        let t = Instant::now();
        users::list_page(db, "", None, PAGE).await.unwrap();
        loads.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    loads
}

pub async fn run(engine: Engine, db: &Db, figures: &mut Vec<Figure>) {
    let services: Services = services(db);
    let actor = admin_actor(&services).await;
    let reference = set_based_reference(db, &actor.id().0).await;

    let idle_until = Instant::now() + Duration::from_secs(5);
    let mut idle = page_loads(db, || Instant::now() < idle_until).await;

    let options = JobOptions {
        kind: model::bulk::BulkKind::ForceReset,
        link_minutes: 60,
        invalidate_password: false,
    };
    let started = Instant::now();
    let job = domain::bulk::create_job(
        &services,
        &actor,
        options,
        &Selection::Search(String::new()),
        &uuid::Uuid::new_v4().to_string(),
    )
    .await
    .unwrap();
    let runner = {
        let services = services.clone();
        tokio::spawn(async move { domain::bulk::run_next(&services).await.unwrap() })
    };
    let mut during = page_loads(db, || !runner.is_finished()).await;
    runner.await.unwrap();
    let took = started.elapsed();
    let done = domain::bulk::job(db, &actor, &job).await.unwrap().unwrap();

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
            "the job also queues {} notices, voids links and records every outcome",
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
            "{} loads during, {} idle",
            during.len(),
            idle.len()
        )),
    );
}

//! Work no request waits for runs on a thread of its own, below the request threads, with
//! database connections of its own; and it stops with the runtime that started it.

mod common;

use domain::background;
use domain::both_engines;
use domain::db::Engine;
use domain::testing::TestDb;
use std::sync::mpsc;
use std::time::Duration;

fn nice_of_this_thread() -> i32 {
    rustix::process::getpriority_process(None).unwrap()
}

/// The nice values of this process's SQLite worker threads.
fn sqlite_worker_nice_values() -> Vec<i32> {
    let mut values = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.starts_with("sqlx-sqlite") {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // Fields after the command's closing parenthesis; the nice value is field 19.
        if let Some(nice) = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split_whitespace().nth(16))
            .and_then(|n| n.parse().ok())
        {
            values.push(nice);
        }
    }
    values
}

both_engines!(
    background_work_runs_below_the_requests_on_connections_of_its_own,
    |db: domain::Db| async move {
        let caller = nice_of_this_thread();
        let engine = db.engine();
        let (answer, answered) = tokio::sync::oneshot::channel();
        background::spawn(
            "test-background",
            common::services(db.clone()),
            |services| async move {
                let one: i64 = sqlx::query_scalar("SELECT 1")
                    .fetch_one(services.db.pool())
                    .await
                    .unwrap();
                let workers = sqlite_worker_nice_values();
                let _ = answer.send((
                    std::thread::current().name().map(str::to_owned),
                    nice_of_this_thread(),
                    services.db.pool().options().get_max_connections(),
                    one,
                    workers,
                ));
            },
        )
        .unwrap();
        let (name, nice, connections, one, workers) =
            tokio::time::timeout(Duration::from_secs(20), answered)
                .await
                .expect("the work answered")
                .unwrap();
        assert_eq!(name.as_deref(), Some("test-background"));
        assert_eq!(nice, (caller + 10).min(19), "below the caller's priority");
        assert_eq!(connections, 2, "a pool of its own, not the requests'");
        assert_eq!(one, 1);
        assert!(
            db.pool().options().get_max_connections() > 2,
            "the requests' pool is untouched"
        );
        if engine == Engine::Sqlite {
            // Its connection's worker thread was started from the background thread.
            assert!(
                workers.contains(&nice),
                "an SQLite worker at the background's priority: {workers:?}"
            );
        }
    }
);

/// Says so when the work holding it is dropped.
struct Dropped(mpsc::Sender<()>);

impl Drop for Dropped {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

#[test]
fn background_work_stops_when_the_runtime_that_started_it_shuts_down() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (started, has_started) = mpsc::channel();
    let (stopped, has_stopped) = mpsc::channel();
    let test_db = runtime.block_on(async {
        let test_db = TestDb::new(Engine::Sqlite).await.unwrap();
        let dropped = Dropped(stopped);
        background::spawn(
            "test-stops",
            common::services(test_db.db.clone()),
            |_| async move {
                let _dropped = dropped;
                let _ = started.send(());
                std::future::pending::<()>().await;
            },
        )
        .unwrap();
        test_db
    });
    has_started
        .recv_timeout(Duration::from_secs(10))
        .expect("the work started");
    assert!(
        has_stopped.try_recv().is_err(),
        "the work runs while its runtime does"
    );
    drop(runtime);
    has_stopped
        .recv_timeout(Duration::from_secs(10))
        .expect("the work ended with the runtime");
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(test_db.drop_db());
}

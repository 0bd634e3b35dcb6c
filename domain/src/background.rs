//! Work no request waits for, on a thread of its own below the request threads' priority
//! ([`crate::priority`]). Its database connections are its own too, opened from that thread,
//! so on SQLite the worker threads that run its statements run at its priority: a bulk job's
//! batches then take the cores only when pages do not need them.

use std::future::Future;
use tokio::sync::oneshot;

use crate::Services;
use crate::error::{DomainError, DomainResult};

/// Connections the work holds at most: it runs one statement at a time.
const CONNECTIONS: u32 = 2;

/// Runs `work` with `services` on a new thread named `name`, below the requests, until the
/// work ends or the runtime that called this shuts down (a server stopping, a test ending):
/// the work is then dropped where it stands, as if the process had stopped there.
pub fn spawn<F, Fut>(name: &str, services: Services, work: F) -> DomainResult<()>
where
    F: FnOnce(Services) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    // Held by a task of the calling runtime: dropped, with every task, when it shuts down, or
    // when the work is over (an import ends; its task must not outlive it).
    let (alive, ended) = oneshot::channel::<()>();
    let (over, work_over) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _alive = alive;
        let _ = work_over.await;
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| DomainError::Internal(format!("no runtime for {name}: {e}")))?;
    let thread = name.to_owned();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            crate::priority::run_below_requests(&thread);
            runtime.block_on(async move {
                let db = services.db.own_pool(CONNECTIONS);
                let own = Services {
                    db: db.clone(),
                    ..services
                };
                tokio::select! {
                    () = work(own) => {}
                    _ = ended => {}
                }
                db.close().await;
            });
            drop(over);
        })
        .map(drop)
        .map_err(|e| DomainError::Internal(format!("no thread for {name}: {e}")))
}

//! Threads whose work no request waits for (hashing a sign-in's password, a bulk job) run
//! below the request threads: when the cores are all busy, the scheduler gives a request
//! thread about ten times such a thread's share, so pages stay quick while the work queues.

use tracing::warn;

/// How far below the rest of the server such threads run.
pub(crate) const NICER_BY: i32 = 10;
/// The lowest priority there is.
pub(crate) const NICEST: i32 = 19;

/// Lowers the calling thread's priority, and so that of every thread it starts from now on:
/// on Linux the nice value is the thread's own, inherited by the threads it spawns
/// (setpriority(2), "Bugs"). `what` names the thread in the warning if it cannot.
pub(crate) fn run_below_requests(what: &str) {
    let nicer = rustix::process::getpriority_process(None)
        .and_then(|now| rustix::process::setpriority_process(None, (now + NICER_BY).min(NICEST)));
    if let Err(e) = nicer {
        warn!(error = %e, "{what} runs at the server's priority");
    }
}

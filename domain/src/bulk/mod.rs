//! Bulk Change: Reset Password (force a reset at next login) or Send Password Change Link for
//! many users, as a background job.
//!
//! Creating a job writes one item per selected user and returns at once; a runner in every
//! instance takes jobs with a lease and works through the items in batches. Each batch is one
//! transaction that applies the change and records each item's outcome, so a job interrupted by
//! a restart resumes where it stopped, and no user gets two links. Between batches the runner
//! yields, so a job of 100,000 users does not hold the database or the CPU from other admins.

mod batch;
mod jobs;
mod preview;
mod report;
mod runner;

pub use jobs::{create_job, job};
pub use preview::preview;
pub(crate) use report::defuse;
pub use report::{ItemReport, items, report_csv};
pub use runner::{run_next, spawn_runner};

use model::bulk::BulkKind;
use model::user::UserId;
use std::sync::Arc;
use tokio::sync::Notify;

/// Users per transaction. A batch is a few statements whatever its size, so its fixed costs
/// (on SQLite the commit's fsync and every page it touched written again to the log; on
/// PostgreSQL each statement's round trip and plan) shrink as it grows. A job of 100,000 took
/// 7.9 s on SQLite in batches of 500, 6.5 s in 1,000 and 5.3–6.0 s in 2,000 (5.3 s in
/// 4,000), and 11.7–14.3 s on PostgreSQL in batches of 1,000, 10.6–11.6 s in 2,000
/// (`bench/RESULTS.md`). A batch of 2,000 holds SQLite's one write lock for about a tenth of a
/// second (readers never wait for it), and on PostgreSQL only its own people's rows.
const BATCH: i64 = 2_000;

const LEASE_MS: i64 = 60_000;
/// The most users a request may name one by one; larger selections use the search.
pub const MAX_IDS: usize = 1000;
const EXAMPLES: usize = 20;

/// Which users a job covers: those ticked, or every user matching a search.
#[derive(Clone, Debug)]
pub enum Selection {
    Ids(Vec<UserId>),
    Search(String),
}

#[derive(Clone, Copy, Debug)]
pub struct JobOptions {
    pub kind: BulkKind,
    pub link_minutes: i64,
    pub invalidate_password: bool,
}

/// Wakes this instance's runner when a job was created here.
#[derive(Clone, Debug, Default)]
pub struct BulkWake(Arc<Notify>);

impl BulkWake {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

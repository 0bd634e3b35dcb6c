//! The runner in every instance: takes a job with a lease and works through its items in
//! batches, each batch one transaction, re-checking the creator's authority before each.

use model::bulk::ItemOutcome;
use model::reset::LINK_MINUTES_DEFAULT;
use model::time::Timestamp;
use model::user::{Role, UserId};
use std::time::Duration;
use tracing::{info, warn};

use super::{BATCH, JobOptions, LEASE_MS, batch};
use crate::Services;
use crate::audit::{self, AuditAction, AuditEvent};
use crate::authority::Actor;
use crate::db::{Db, Tx, is_set};
use crate::error::{DomainError, DomainResult};
use crate::store;
use crate::users;

struct Job {
    id: String,
    options: JobOptions,
    actor: Actor,
    /// This runner's claim on the job (see `lease_owner`).
    lease: String,
    /// The user of the last item this runner finished: items finish in their users' id order,
    /// so the next batch starts after it.
    last_finished: UserId,
}

impl TryFrom<store::bulk::JobRow> for Job {
    type Error = DomainError;

    fn try_from(row: store::bulk::JobRow) -> DomainResult<Self> {
        let bad = |what: &str| DomainError::Internal(format!("bulk job {}: bad {what}", row.id));
        Ok(Job {
            options: JobOptions {
                kind: row.kind.parse().map_err(|_| bad("kind"))?,
                link_minutes: row.link_minutes.unwrap_or(LINK_MINUTES_DEFAULT),
                invalidate_password: is_set(row.invalidate_password),
            },
            actor: Actor::restored(
                UserId(row.created_by_id),
                row.created_by_name,
                row.created_by_role.parse().map_err(|_| bad("role"))?,
                row.ip,
            ),
            id: row.id,
            lease: String::new(),
            last_finished: UserId(String::new()),
        })
    }
}

/// Takes the oldest unfinished job nobody holds, for one lease.
async fn claim(db: &Db, now: Timestamp) -> DomainResult<Option<Job>> {
    let lease = uuid::Uuid::new_v4().to_string();
    let until = Timestamp(now.millis() + LEASE_MS);
    let Some(row) = store::bulk::claim(db, &lease, now, until).await? else {
        return Ok(None);
    };
    let job: Job = row.try_into()?;
    store::bulk::analyze_items(db).await?;
    Ok(Some(Job { lease, ..job }))
}

enum BatchEnd {
    Worked,
    Done,
    /// Another runner took the job over (this one stalled past its lease): stop touching it.
    LostLease,
}

/// Renews this runner's lease inside the batch's transaction. On PostgreSQL the update also
/// locks the job row, so no two runners are ever inside a batch of the same job.
async fn hold_lease(tx: &mut Tx, job: &Job, now: Timestamp) -> DomainResult<bool> {
    let until = Timestamp(now.millis() + LEASE_MS);
    store::bulk::hold_lease(tx, &job.id, &job.lease, until).await
}

/// A job acts with its creator's authority, checked again before every batch: an administrator
/// disabled, demoted, or made to change their password (whose session could do nothing now)
/// stops their job.
async fn actor_still_may(tx: &mut Tx, job: &Job) -> DomainResult<bool> {
    let actor = users::get(&mut **tx, job.actor.id()).await?;
    Ok(actor.is_some_and(|a| a.active && a.role == Role::Administrator && !a.must_change_password))
}

const STOPPED: &str = "not processed: the administrator who started the job may no longer run it";

/// Records every item not yet processed as failed, with the reason, and ends the job.
async fn stop_remaining(tx: &mut Tx, job: &Job, now: Timestamp) -> DomainResult<()> {
    store::bulk::fail_remaining(tx, &job.id, STOPPED, now).await?;
    let event = AuditEvent {
        outcome: audit::Outcome::Failure,
        ..AuditEvent::success(
            now,
            AuditAction::BulkStopped,
            job.actor.party(),
            job.actor.party(),
            job.actor.ip().map(str::to_owned),
        )
    }
    .with_detail(Some(format!("job {}; {STOPPED}", job.id)));
    audit::record(&mut **tx, &event).await?;
    Ok(())
}

/// Up to `limit` items in one transaction: the changes and their outcomes commit together.
async fn run_batch(services: &Services, job: &mut Job, limit: i64) -> DomainResult<BatchEnd> {
    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    if !hold_lease(&mut tx, job, now).await? {
        return Ok(BatchEnd::LostLease);
    }
    if !actor_still_may(&mut tx, job).await? {
        stop_remaining(&mut tx, job, now).await?;
        tx.commit().await?;
        warn!(job = %job.id, "bulk job stopped: its administrator may no longer run it");
        return Ok(BatchEnd::Done);
    }
    let items = store::bulk::next_items(&mut tx, &job.id, &job.last_finished, limit).await?;
    if items.is_empty() {
        store::bulk::finish(&mut tx, &job.id, now).await?;
        tx.commit().await?;
        return Ok(BatchEnd::Done);
    }
    let job_ref = batch::JobRef {
        id: &job.id,
        options: job.options,
        actor: &job.actor,
    };
    let finished = batch::apply(&mut tx, services, job_ref, &items, now).await?;
    if !store::bulk::finish_items(&mut tx, &job.id, &finished, now).await? {
        // Finished meanwhile by another runner: undo this batch rather than repeat it.
        return Ok(BatchEnd::LostLease);
    }
    tx.commit().await?;
    if let Some(last) = items.last() {
        job.last_finished = last.clone();
    }
    // Links, or the notices of a forced reset: either way the batch queued email.
    services.mail.wake();
    Ok(BatchEnd::Worked)
}

/// What the report says of a user the job could not process. Store errors stay in the log.
fn failure_reason(error: &DomainError) -> String {
    match error {
        DomainError::Conflict(message) => message.clone(),
        DomainError::Invalid(field) => field.reason.clone(),
        DomainError::Forbidden => "not permitted".into(),
        _ => "could not be processed (see the server log)".into(),
    }
}

/// After a batch failed: marks the first unfinished item failed, in its own transaction.
async fn fail_next_item(
    services: &Services,
    job: &mut Job,
    error: &DomainError,
) -> DomainResult<bool> {
    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    if !hold_lease(&mut tx, job, now).await? {
        return Ok(false);
    }
    let next = store::bulk::next_items(&mut tx, &job.id, &job.last_finished, 1).await?;
    let Some(user) = next.into_iter().next() else {
        return Ok(false);
    };
    let failed = store::bulk::Finished {
        user: user.clone(),
        outcome: ItemOutcome::Failed.as_str(),
        reason: Some(failure_reason(error)),
        email_id: None,
    };
    let recorded = store::bulk::finish_items(&mut tx, &job.id, &[failed], now).await?;
    tx.commit().await?;
    if recorded {
        job.last_finished = user;
    }
    Ok(recorded)
}

/// Works through jobs until the process ends, below the requests' priority
/// ([`crate::background`]): a job of 100,000 people keeps both cores busy for seconds, and the
/// Users page must stay quick meanwhile.
pub fn spawn_runner(services: Services) -> DomainResult<()> {
    crate::background::spawn("bulk-runner", services, |services| async move {
        loop {
            match run_next(&services).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => warn!(error = %e, "bulk job round failed"),
            }
            tokio::select! {
                () = services.bulk.0.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    })
}

/// Runs the next job to its end; `false` when there was none.
pub async fn run_next(services: &Services) -> DomainResult<bool> {
    let Some(mut job) = claim(&services.db, Timestamp::now()).await? else {
        return Ok(false);
    };
    info!(job = %job.id, kind = job.options.kind.as_str(), "bulk job running");
    loop {
        let end = match run_batch(services, &mut job, BATCH).await {
            Ok(end) => end,
            // No user is at fault: the job waits for the database, its lease then runs out,
            // and this runner or another takes it up where it stopped.
            Err(e @ DomainError::Unavailable(_)) => return Err(e),
            Err(e) => {
                // Someone in the batch cannot be processed. Going one user at a time finds
                // them: each failure is recorded as that user's outcome and the rest go on.
                warn!(job = %job.id, error = %e, "bulk batch failed; retrying one user at a time");
                one_at_a_time(services, &mut job).await?
            }
        };
        match end {
            BatchEnd::Worked => {}
            BatchEnd::Done => {
                info!(job = %job.id, "bulk job finished");
                break;
            }
            BatchEnd::LostLease => {
                warn!(job = %job.id, "bulk job taken over by another runner");
                break;
            }
        }
        // Other requests get the database and the CPU between batches.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(true)
}

async fn one_at_a_time(services: &Services, job: &mut Job) -> DomainResult<BatchEnd> {
    for _ in 0..BATCH {
        match run_batch(services, job, 1).await {
            Ok(BatchEnd::Worked) => {}
            Ok(end) => return Ok(end),
            Err(e @ DomainError::Unavailable(_)) => return Err(e),
            Err(e) => {
                warn!(job = %job.id, error = %e, "bulk item failed");
                if !fail_next_item(services, job, &e).await? {
                    return Ok(BatchEnd::LostLease);
                }
            }
        }
    }
    Ok(BatchEnd::Worked)
}

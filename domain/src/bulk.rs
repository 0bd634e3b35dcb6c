//! Bulk Change: Reset Password (force a reset at next login) or Send Password Change Link for
//! many users, as a background job.
//!
//! Creating a job writes one item per selected user and returns at once; a runner in every
//! instance takes jobs with a lease and works through the items in batches. Each batch is one
//! transaction that applies the change and records each item's outcome, so a job interrupted by
//! a restart resumes where it stopped, and no user gets two links. Between batches the runner
//! yields, so a job of 100,000 users does not hold the database or the CPU from other admins.

use model::bulk::{
    BulkJob, BulkKind, BulkPreview, Candidate, ItemOutcome, SkipReason, skip_reason,
};
use model::reset::LINK_MINUTES_DEFAULT;
use model::time::Timestamp;
use model::user::{Permission, Role, UserId};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tracing::{info, warn};

use crate::Services;
use crate::audit::{self, AuditAction, AuditEvent};
use crate::db::{Db, Tx, flag, is_set, is_unique_violation};
use crate::error::{DomainError, DomainResult};
use crate::passwords::{self, Actor};
use crate::resets::{self, LinkDelivery, LinkRequest};
use crate::users::{self, search_pattern};

/// Users per transaction: small enough that a batch commits in milliseconds (other writers
/// wait on SQLite's lock no longer than that), large enough that 100,000 users take minutes.
const BATCH: i64 = 200;
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

/// The `WHERE` clause of a selection and its bind values, from `$first` on.
fn selection_sql(selection: &Selection, first: usize) -> DomainResult<(String, Vec<String>)> {
    match selection {
        Selection::Ids(ids) if ids.is_empty() => {
            Err(model::fields::FieldError::new("selection", "Select at least one user.").into())
        }
        Selection::Ids(ids) if ids.len() > MAX_IDS => Err(model::fields::FieldError::new(
            "selection",
            "Too many users ticked one by one. Use \"select all matching this search\" instead.",
        )
        .into()),
        Selection::Ids(ids) => {
            let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", first + i)).collect();
            Ok((
                format!("id IN ({})", marks.join(", ")),
                ids.iter().map(|id| id.0.clone()).collect(),
            ))
        }
        Selection::Search(q) => {
            let q = model::fields::search(q)?;
            Ok((
                format!(
                    "(${first} = '' OR search_text LIKE ${} ESCAPE '\\')",
                    first + 1
                ),
                vec![q.clone(), search_pattern(&q)],
            ))
        }
    }
}

/// The facts the skip rule reads, as SQL: a selection is grouped by them, so the preview costs
/// a few rows per kind of user rather than one per user.
const CANDIDATE_COLUMNS: [&str; 5] = [
    "CASE WHEN id = $ACTOR THEN 1 ELSE 0 END",
    "source",
    "active",
    "must_change_password",
    "CASE WHEN email IS NULL THEN 0 ELSE 1 END",
];

/// One group of selected users who look alike to the skip rule.
#[derive(sqlx::FromRow)]
struct CandidateGroup {
    is_actor: i64,
    source: String,
    active: i64,
    must_change_password: i64,
    has_email: i64,
    users: i64,
}

impl CandidateGroup {
    fn candidate(&self) -> Candidate {
        Candidate {
            is_actor: is_set(self.is_actor),
            source: self.source.parse().unwrap_or(model::UserSource::External),
            active: is_set(self.active),
            must_change_password: is_set(self.must_change_password),
            has_email: is_set(self.has_email),
        }
    }
}

/// The preview dialog: nothing changes. The skip rule is the model's, applied per group.
pub async fn preview(
    db: &Db,
    actor: &Actor,
    kind: BulkKind,
    selection: &Selection,
) -> DomainResult<BulkPreview> {
    let result = try_preview(db, actor, kind, selection).await;
    audit::audited(db, actor, None, AuditAction::BulkPreviewed, result).await
}

/// The steps, unaudited: the public function records how they ended.
async fn try_preview(
    db: &Db,
    actor: &Actor,
    kind: BulkKind,
    selection: &Selection,
) -> DomainResult<BulkPreview> {
    actor.must_hold(Permission::UserManagement)?;
    let (filter, binds) = selection_sql(selection, 1)?;
    let actor_mark = format!("${}", binds.len() + 1);
    let columns = CANDIDATE_COLUMNS.map(|c| c.replace("$ACTOR", &actor_mark));
    let sql = format!(
        "SELECT {} AS is_actor, {} AS source, {} AS active, {} AS must_change_password, \
         {} AS has_email, COUNT(*) AS users FROM users WHERE {filter} GROUP BY 1, 2, 3, 4, 5",
        columns[0], columns[1], columns[2], columns[3], columns[4]
    );
    let mut query = sqlx::query_as::<_, CandidateGroup>(&sql);
    for bind in &binds {
        query = query.bind(bind);
    }
    let groups = query.bind(&actor.id().0).fetch_all(db.pool()).await?;
    let mut selected = 0;
    let mut skipped: BTreeMap<SkipReason, u64> = BTreeMap::new();
    let mut examples = Vec::new();
    for group in &groups {
        let users = u64::try_from(group.users).unwrap_or(0);
        selected += users;
        let Some(reason) = skip_reason(kind, group.candidate()) else {
            continue;
        };
        *skipped.entry(reason).or_default() += users;
        // A few names from each skipped group, for the dialog's list.
        let first = binds.len() + 2;
        let same: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, column)| format!("{column} = ${}", first + i))
            .collect();
        let sql = format!(
            "SELECT username FROM users WHERE {filter} AND {} \
             ORDER BY username_key LIMIT {EXAMPLES}",
            same.join(" AND ")
        );
        let mut query = sqlx::query_as::<_, (String,)>(&sql);
        for bind in &binds {
            query = query.bind(bind);
        }
        let names = query
            .bind(&actor.id().0)
            .bind(group.is_actor)
            .bind(&group.source)
            .bind(group.active)
            .bind(group.must_change_password)
            .bind(group.has_email)
            .fetch_all(db.pool())
            .await?;
        examples.extend(names.into_iter().map(|(name,)| (name, reason)));
    }
    examples.sort_by_key(|(name, _)| name.to_lowercase());
    examples.truncate(EXAMPLES);
    let skipped_total: u64 = skipped.values().sum();
    Ok(BulkPreview {
        kind,
        // Handed back by the dialog's OK: a second start with it returns the first job.
        request_key: uuid::Uuid::new_v4().to_string(),
        selected,
        affected: selected - skipped_total,
        skipped: skipped.into_iter().collect(),
        examples,
    })
}

/// Whether a request key has the shape the preview hands out (a UUID), so anything else is
/// refused before it reaches the database.
fn check_request_key(key: &str) -> DomainResult<()> {
    if (1..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        Ok(())
    } else {
        Err(model::fields::FieldError::new(
            "request_key",
            "This Bulk Change request is not valid. Open the preview again.",
        )
        .into())
    }
}

/// The job an administrator already started with `key`, if any.
async fn job_for_key(db: &Db, actor: &Actor, key: &str) -> DomainResult<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT id FROM bulk_jobs WHERE created_by_id = $1 AND request_key = $2")
            .bind(&actor.id().0)
            .bind(key)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(id,)| id))
}

/// Creates a job over the selection and returns its id; the work happens in the background.
/// Idempotent per `request_key` (from the preview): a repeated start, however close to the
/// first, returns the job the first one created and changes nothing more.
pub async fn create_job(
    services: &Services,
    actor: &Actor,
    options: JobOptions,
    selection: &Selection,
    request_key: &str,
) -> DomainResult<String> {
    let result = try_create_job(services, actor, options, selection, request_key).await;
    audit::audited(&services.db, actor, None, AuditAction::BulkStarted, result).await
}

/// The steps, unaudited: the public function records how they ended.
async fn try_create_job(
    services: &Services,
    actor: &Actor,
    options: JobOptions,
    selection: &Selection,
    request_key: &str,
) -> DomainResult<String> {
    actor.must_hold(Permission::UserManagement)?;
    check_request_key(request_key)?;
    if let Some(existing) = job_for_key(&services.db, actor, request_key).await? {
        return Ok(existing);
    }
    if options.kind == BulkKind::SendLink {
        model::reset::check_link_minutes(options.link_minutes)?;
    }
    let (filter, binds) = selection_sql(selection, 2)?;
    let now = Timestamp::now();
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = services.db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO bulk_jobs (id, kind, link_minutes, invalidate_password, created_by_id, \
         created_by_name, created_by_role, ip, created_at, total, request_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10)",
    )
    .bind(&id)
    .bind(options.kind.as_str())
    .bind(options.link_minutes)
    .bind(flag(options.invalidate_password))
    .bind(&actor.id().0)
    .bind(actor.username())
    .bind(actor.role().as_str())
    .bind(actor.ip().map(str::to_owned))
    .bind(now.millis())
    .bind(request_key)
    .execute(&mut *tx)
    .await;
    match inserted {
        // The same start, racing this one, committed first (the unique index on the key).
        Err(e) if is_unique_violation(&e) => {
            drop(tx);
            return job_for_key(&services.db, actor, request_key)
                .await?
                .ok_or_else(|| DomainError::Internal("a bulk job key vanished".into()));
        }
        other => other?,
    };
    // One statement, however many users: the database numbers the items itself.
    let sql = format!(
        "INSERT INTO bulk_items (job_id, seq, user_id, username) \
         SELECT $1, ROW_NUMBER() OVER (ORDER BY username_key), id, username \
         FROM users WHERE {filter}"
    );
    let mut insert = sqlx::query(&sql).bind(&id);
    for bind in &binds {
        insert = insert.bind(bind);
    }
    let total = insert.execute(&mut *tx).await?.rows_affected();
    if total == 0 {
        return Err(
            model::fields::FieldError::new("selection", "No users match this selection.").into(),
        );
    }
    sqlx::query("UPDATE bulk_jobs SET total = $2 WHERE id = $1")
        .bind(&id)
        .bind(i64::try_from(total).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
    let event = AuditEvent::success(
        now,
        AuditAction::BulkStarted,
        actor.party(),
        actor.party(),
        actor.ip().map(str::to_owned),
    )
    .with_detail(Some(format!(
        "{} for {total} selected user(s); job {id}",
        options.kind.label()
    )));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    services.bulk.wake();
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: String,
    kind: String,
    link_minutes: Option<i64>,
    invalidate_password: i64,
    created_by_id: String,
    created_by_name: String,
    created_by_role: String,
    ip: Option<String>,
    created_at: i64,
    finished_at: Option<i64>,
    total: i64,
    processed: i64,
}

const JOB_COLUMNS: &str = "id, kind, link_minutes, invalidate_password, created_by_id, \
     created_by_name, created_by_role, ip, created_at, finished_at, total, processed";

struct Job {
    id: String,
    options: JobOptions,
    actor: Actor,
    /// This runner's claim on the job (see `lease_owner`).
    lease: String,
}

impl TryFrom<JobRow> for Job {
    type Error = DomainError;

    fn try_from(row: JobRow) -> DomainResult<Self> {
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
        })
    }
}

/// Takes the oldest unfinished job nobody holds, for one lease.
async fn claim(db: &Db, now: Timestamp) -> DomainResult<Option<Job>> {
    let candidates: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM bulk_jobs WHERE finished_at IS NULL \
         AND (lease_until IS NULL OR lease_until <= $1) ORDER BY created_at LIMIT 5",
    )
    .bind(now.millis())
    .fetch_all(db.pool())
    .await?;
    for (id,) in candidates {
        let lease = uuid::Uuid::new_v4().to_string();
        let row: Option<JobRow> = sqlx::query_as(&format!(
            "UPDATE bulk_jobs SET lease_until = $2, lease_owner = $4 WHERE id = $1 \
             AND finished_at IS NULL AND (lease_until IS NULL OR lease_until <= $3) \
             RETURNING {JOB_COLUMNS}"
        ))
        .bind(&id)
        .bind(now.millis() + LEASE_MS)
        .bind(now.millis())
        .bind(&lease)
        .fetch_optional(db.pool())
        .await?;
        if let Some(row) = row {
            let job: Job = row.try_into()?;
            return Ok(Some(Job { lease, ..job }));
        }
    }
    Ok(None)
}

/// Applies the job to one item's user inside the batch's transaction.
async fn apply(
    tx: &mut Tx,
    services: &Services,
    job: &Job,
    user_id: &UserId,
    now: Timestamp,
) -> DomainResult<(ItemOutcome, Option<String>, Option<String>)> {
    let Some(user) = users::get(&mut **tx, user_id).await? else {
        return Ok((ItemOutcome::Skipped, Some("user deleted".into()), None));
    };
    let candidate = Candidate {
        is_actor: &user.id == job.actor.id(),
        source: user.source,
        active: user.active,
        must_change_password: user.must_change_password,
        has_email: user.email.is_some(),
    };
    if let Some(reason) = skip_reason(job.options.kind, candidate) {
        return Ok((ItemOutcome::Skipped, Some(reason.as_str().into()), None));
    }
    let note = format!("bulk job {}; ", job.id);
    match job.options.kind {
        BulkKind::ForceReset => {
            passwords::flag_in_tx(tx, &services.keys, &job.actor, &user, now, &note).await?;
            Ok((ItemOutcome::Reset, None, None))
        }
        BulkKind::SendLink => {
            let request = LinkRequest {
                minutes: job.options.link_minutes,
                invalidate_password: job.options.invalidate_password,
                delivery: LinkDelivery::Email,
            };
            let issued =
                resets::issue_link(tx, services, &job.actor, &user, request, now, &note).await?;
            Ok((ItemOutcome::LinkQueued, None, issued.email_id))
        }
    }
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
    let held = sqlx::query(
        "UPDATE bulk_jobs SET lease_until = $3 WHERE id = $1 AND lease_owner = $2 \
         AND finished_at IS NULL",
    )
    .bind(&job.id)
    .bind(&job.lease)
    .bind(now.millis() + LEASE_MS)
    .execute(&mut **tx)
    .await?;
    Ok(held.rows_affected() == 1)
}

/// Records an item's outcome and counts it, unless another runner already did.
async fn finish_item(
    tx: &mut Tx,
    job: &Job,
    seq: i64,
    outcome: (ItemOutcome, Option<String>, Option<String>),
    now: Timestamp,
) -> DomainResult<bool> {
    let (outcome, reason, email_id) = outcome;
    let done = sqlx::query(
        "UPDATE bulk_items SET outcome = $3, reason = $4, email_id = $5, processed_at = $6 \
         WHERE job_id = $1 AND seq = $2 AND outcome IS NULL",
    )
    .bind(&job.id)
    .bind(seq)
    .bind(outcome.as_str())
    .bind(reason)
    .bind(email_id)
    .bind(now.millis())
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("UPDATE bulk_jobs SET processed = processed + 1 WHERE id = $1")
        .bind(&job.id)
        .execute(&mut **tx)
        .await?;
    Ok(true)
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
    sqlx::query(
        "UPDATE bulk_items SET outcome = 'failed', reason = $2, processed_at = $3 \
         WHERE job_id = $1 AND outcome IS NULL",
    )
    .bind(&job.id)
    .bind(STOPPED)
    .bind(now.millis())
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE bulk_jobs SET processed = total, finished_at = $2, lease_until = NULL \
         WHERE id = $1",
    )
    .bind(&job.id)
    .bind(now.millis())
    .execute(&mut **tx)
    .await?;
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
async fn run_batch(services: &Services, job: &Job, limit: i64) -> DomainResult<BatchEnd> {
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
    let items: Vec<(i64, String)> = sqlx::query_as(
        "SELECT seq, user_id FROM bulk_items WHERE job_id = $1 AND outcome IS NULL \
         ORDER BY seq LIMIT $2",
    )
    .bind(&job.id)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if items.is_empty() {
        sqlx::query("UPDATE bulk_jobs SET finished_at = $2, lease_until = NULL WHERE id = $1")
            .bind(&job.id)
            .bind(now.millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Ok(BatchEnd::Done);
    }
    for (seq, user_id) in &items {
        let outcome = apply(&mut tx, services, job, &UserId(user_id.clone()), now).await?;
        if !finish_item(&mut tx, job, *seq, outcome, now).await? {
            // Finished meanwhile by another runner: undo this batch rather than repeat it.
            return Ok(BatchEnd::LostLease);
        }
    }
    tx.commit().await?;
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
async fn fail_next_item(services: &Services, job: &Job, error: &DomainError) -> DomainResult<bool> {
    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    if !hold_lease(&mut tx, job, now).await? {
        return Ok(false);
    }
    let next: Option<(i64,)> = sqlx::query_as(
        "SELECT seq FROM bulk_items WHERE job_id = $1 AND outcome IS NULL ORDER BY seq LIMIT 1",
    )
    .bind(&job.id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((seq,)) = next else { return Ok(false) };
    let outcome = (ItemOutcome::Failed, Some(failure_reason(error)), None);
    let recorded = finish_item(&mut tx, job, seq, outcome, now).await?;
    tx.commit().await?;
    Ok(recorded)
}

/// Works through jobs until the process ends.
pub fn spawn_runner(services: Services) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
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
    let Some(job) = claim(&services.db, Timestamp::now()).await? else {
        return Ok(false);
    };
    info!(job = %job.id, kind = job.options.kind.as_str(), "bulk job running");
    loop {
        let end = match run_batch(services, &job, BATCH).await {
            Ok(end) => end,
            Err(e) => {
                // Someone in the batch cannot be processed. Going one user at a time finds
                // them: each failure is recorded as that user's outcome and the rest go on.
                warn!(job = %job.id, error = %e, "bulk batch failed; retrying one user at a time");
                one_at_a_time(services, &job).await?
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

async fn one_at_a_time(services: &Services, job: &Job) -> DomainResult<BatchEnd> {
    for _ in 0..BATCH {
        match run_batch(services, job, 1).await {
            Ok(BatchEnd::Worked) => {}
            Ok(end) => return Ok(end),
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

/// A job's progress and tally, for its page. Administrators only, as Bulk Change is.
pub async fn job(db: &Db, actor: &Actor, id: &str) -> DomainResult<Option<BulkJob>> {
    actor.must_hold(Permission::UserManagement)?;
    let row: Option<JobRow> = sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM bulk_jobs WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let tally: Vec<(String, i64)> = sqlx::query_as(
        "SELECT CASE \
           WHEN i.outcome = 'link_queued' AND e.state = 'sent' THEN 'link_sent' \
           WHEN i.outcome = 'link_queued' AND e.state = 'failed' THEN 'email_failed' \
           ELSE i.outcome END AS result, COUNT(*) \
         FROM bulk_items i LEFT JOIN email_outbox e ON e.id = i.email_id \
         WHERE i.job_id = $1 AND i.outcome IS NOT NULL GROUP BY 1 ORDER BY 1",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    Ok(Some(BulkJob {
        kind: row
            .kind
            .parse()
            .map_err(|_| DomainError::Internal(format!("bulk job {id}: bad kind")))?,
        id: row.id,
        created_by: row.created_by_name,
        created_at: Timestamp(row.created_at),
        finished_at: row.finished_at.map(Timestamp),
        total: u64::try_from(row.total).unwrap_or(0),
        processed: u64::try_from(row.processed).unwrap_or(0),
        tally: tally
            .into_iter()
            .map(|(k, n)| (k, u64::try_from(n).unwrap_or(0)))
            .collect(),
    }))
}

/// One line of the outcome report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemReport {
    pub username: String,
    pub outcome: Option<ItemOutcome>,
    pub reason: Option<String>,
    pub email_state: Option<String>,
    pub email_error: Option<String>,
}

impl ItemReport {
    /// The email's delivery in one phrase ("sent", "failed: 550 No such user"), as the job's
    /// page and its CSV both show it. The error is dropped once a retry went through.
    pub fn email_note(&self) -> Option<String> {
        let state = self.email_state.as_ref()?;
        Some(match &self.email_error {
            Some(error) if state != "sent" => format!("{state}: {error}"),
            _ => state.clone(),
        })
    }
}

/// username, outcome, reason, email state, email error
type ItemRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The per-user outcomes in order, `limit` from `offset`.
pub async fn items(
    db: &Db,
    actor: &Actor,
    id: &str,
    offset: i64,
    limit: i64,
) -> DomainResult<Vec<ItemReport>> {
    actor.must_hold(Permission::UserManagement)?;
    let rows: Vec<ItemRow> = sqlx::query_as(
        "SELECT i.username, i.outcome, i.reason, e.state, e.last_error \
             FROM bulk_items i LEFT JOIN email_outbox e ON e.id = i.email_id \
             WHERE i.job_id = $1 ORDER BY i.seq LIMIT $2 OFFSET $3",
    )
    .bind(id)
    .bind(limit)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(username, outcome, reason, email_state, email_error)| ItemReport {
                username,
                outcome: outcome.and_then(|o| o.parse().ok()),
                reason: reason.map(|r| {
                    r.parse::<SkipReason>()
                        .map_or(r, |reason| reason.label().to_owned())
                }),
                email_state,
                email_error,
            },
        )
        .collect())
}

/// The outcome report as CSV (RFC 4180), for the download.
pub async fn report_csv(db: &Db, actor: &Actor, id: &str) -> DomainResult<String> {
    let mut csv = String::from("username,outcome,reason,email\r\n");
    let mut offset = 0;
    loop {
        let page = items(db, actor, id, offset, 5000).await?;
        if page.is_empty() {
            break;
        }
        offset += page.len() as i64;
        for item in page {
            let email = item.email_note().unwrap_or_default();
            let fields = [
                item.username.as_str(),
                item.outcome.map_or("pending", ItemOutcome::label),
                item.reason.as_deref().unwrap_or(""),
                email.as_str(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            csv.push_str(&line.join(","));
            csv.push_str("\r\n");
        }
    }
    Ok(csv)
}

/// The characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection list:
/// `=`, `+`, `-`, `@`, and a leading TAB or carriage return, which some strip before parsing).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Quotes a CSV field when needed, and defuses a leading formula character so a spreadsheet
/// does not run the cell.
fn csv_field(value: &str) -> String {
    let defused = if value.starts_with(FORMULA_STARTS) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if defused.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("ada"), "ada");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK()"), "'=HYPERLINK()");
        for start in ["+", "-", "@"] {
            assert_eq!(csv_field(&format!("{start}1")), format!("'{start}1"));
        }
        assert_eq!(csv_field("\t=1+1"), "'\t=1+1");
        assert_eq!(csv_field("\r=1+1"), "\"'\r=1+1\"");
    }
}

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
use crate::db::{Db, Tx, is_set};
use crate::error::{DomainError, DomainResult};
use crate::passwords::{self, Actor};
use crate::resets::{self, LinkDelivery, LinkRequest};
use crate::store::{self, bulk::CandidateGroup};
use crate::users;

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

/// What the skip rule sees of one group of the selection.
fn candidate(group: &CandidateGroup) -> Candidate {
    Candidate {
        is_actor: is_set(group.is_actor),
        // An unreadable role counts as the most protected one.
        role: group.role.parse().unwrap_or(Role::Administrator),
        source: group.source.parse().unwrap_or(model::UserSource::External),
        active: is_set(group.active),
        must_change_password: is_set(group.must_change_password),
        has_email: is_set(group.has_email),
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
    let groups = store::bulk::candidate_groups(db, actor.id(), selection).await?;
    let mut selected = 0;
    let mut skipped: BTreeMap<SkipReason, u64> = BTreeMap::new();
    let mut examples = Vec::new();
    for group in &groups {
        let users = u64::try_from(group.users).unwrap_or(0);
        selected += users;
        let Some(reason) = skip_reason(kind, candidate(group)) else {
            continue;
        };
        *skipped.entry(reason).or_default() += users;
        // A few names from each skipped group, for the dialog's list.
        let names = store::bulk::group_examples(db, actor.id(), selection, group, EXAMPLES).await?;
        examples.extend(names.into_iter().map(|name| (name, reason)));
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
    if let Some(existing) = store::bulk::job_for_key(&services.db, actor.id(), request_key).await? {
        return Ok(existing);
    }
    if options.kind == BulkKind::SendLink {
        model::reset::check_link_minutes(options.link_minutes)?;
    }
    let now = Timestamp::now();
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = services.db.begin().await?;
    let job = store::bulk::NewJob {
        id: &id,
        kind: options.kind,
        link_minutes: options.link_minutes,
        invalidate_password: options.invalidate_password,
        actor,
        request_key,
    };
    if !store::bulk::insert_job(&mut tx, job, now).await? {
        // The same start, racing this one, committed first (the unique index on the key).
        drop(tx);
        return store::bulk::job_for_key(&services.db, actor.id(), request_key)
            .await?
            .ok_or_else(|| DomainError::Internal("a bulk job key vanished".into()));
    }
    // A selection refused here (none ticked, too many, a bad search) rolls the job back.
    let total = store::bulk::insert_items(&mut tx, &id, selection).await?;
    if total == 0 {
        return Err(
            model::fields::FieldError::new("selection", "No users match this selection.").into(),
        );
    }
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

struct Job {
    id: String,
    options: JobOptions,
    actor: Actor,
    /// This runner's claim on the job (see `lease_owner`).
    lease: String,
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
    Ok(Some(Job { lease, ..job }))
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
        role: user.role,
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
    let until = Timestamp(now.millis() + LEASE_MS);
    store::bulk::hold_lease(tx, &job.id, &job.lease, until).await
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
    let (reason, email_id) = (reason.as_deref(), email_id.as_deref());
    store::bulk::finish_item(tx, &job.id, seq, outcome.as_str(), reason, email_id, now).await
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
    let items = store::bulk::next_items(&mut tx, &job.id, limit).await?;
    if items.is_empty() {
        store::bulk::finish(&mut tx, &job.id, now).await?;
        tx.commit().await?;
        return Ok(BatchEnd::Done);
    }
    for (seq, user_id) in &items {
        let outcome = apply(&mut tx, services, job, user_id, now).await?;
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
    let next = store::bulk::next_items(&mut tx, &job.id, 1).await?;
    let Some((seq, _)) = next.first() else {
        return Ok(false);
    };
    let seq = *seq;
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
    let Some(row) = store::bulk::job(db, id).await? else {
        return Ok(None);
    };
    let tally = store::bulk::tally(db, id).await?;
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
    /// The item's place in the job: the cursor of the next page.
    pub seq: i64,
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

/// The per-user outcomes in order, up to `limit` after the item `after_seq` (0 for the first).
pub async fn items(
    db: &Db,
    actor: &Actor,
    id: &str,
    after_seq: i64,
    limit: i64,
) -> DomainResult<Vec<ItemReport>> {
    actor.must_hold(Permission::UserManagement)?;
    let rows = store::bulk::items(db, id, after_seq, limit).await?;
    Ok(rows
        .into_iter()
        .map(|row| ItemReport {
            seq: row.seq,
            username: row.username,
            outcome: row.outcome.and_then(|o| o.parse().ok()),
            reason: row.reason.map(|r| {
                r.parse::<SkipReason>()
                    .map_or(r, |reason| reason.label().to_owned())
            }),
            email_state: row.email_state,
            email_error: row.email_error,
        })
        .collect())
}

/// The outcome report as CSV (RFC 4180), for the download.
pub async fn report_csv(db: &Db, actor: &Actor, id: &str) -> DomainResult<String> {
    let mut csv = String::from("username,outcome,reason,email\r\n");
    let mut after = 0;
    loop {
        let page = items(db, actor, id, after, 5000).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.seq;
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

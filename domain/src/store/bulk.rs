//! The `bulk_jobs` and `bulk_items` tables: a Bulk Change job, one item per selected user, and
//! the lease a runner holds while it works.

use model::bulk::{BulkKind, ItemOutcome};
use model::time::Timestamp;
use model::user::UserId;
use serde_json::json;

use crate::authority::Actor;
use crate::bulk::{MAX_IDS, Selection};
use crate::error::DomainResult;
use crate::store::db::{Db, Engine, Tx, engine_of, flag, is_unique_violation};
use crate::store::lease;
use crate::store::packed;
use crate::store::search;

/// The `WHERE` clause of a selection and its bind values, from `$first` on.
fn selection_sql(
    engine: Engine,
    selection: &Selection,
    first: usize,
) -> DomainResult<(String, Vec<String>)> {
    match selection {
        Selection::Ids(ids) if ids.is_empty() => {
            Err(model::fields::FieldError::new("selection", "Select at least one user.").into())
        }
        Selection::Ids(ids) if ids.len() > MAX_IDS => Err(model::fields::FieldError::new(
            "selection",
            "Too many users ticked one by one. Use \"select all matching this search\" instead.",
        )
        .into()),
        Selection::Ids(ids) => Ok((
            format!("id IN {}", packed::set(engine, first)),
            vec![packed::user_ids(ids)],
        )),
        Selection::Search(q) => {
            let (condition, binds) = search::condition(engine, &model::fields::search(q)?, first);
            Ok((format!("({condition})"), binds))
        }
    }
}

/// The facts the skip rule reads, as SQL: a selection is grouped by them, so the preview costs
/// a few rows per kind of user rather than one per user.
const CANDIDATE_COLUMNS: [&str; 6] = [
    "CASE WHEN id = $ACTOR THEN 1 ELSE 0 END",
    "role",
    "source",
    "active",
    "must_change_password",
    "CASE WHEN email IS NULL THEN 0 ELSE 1 END",
];

/// One group of selected users who look alike to the skip rule.
#[derive(sqlx::FromRow)]
pub struct CandidateGroup {
    pub is_actor: i64,
    pub role: String,
    pub source: String,
    pub active: i64,
    pub must_change_password: i64,
    pub has_email: i64,
    pub users: i64,
}

fn candidate_columns(actor_mark: usize) -> [String; 6] {
    CANDIDATE_COLUMNS.map(|c| c.replace("$ACTOR", &format!("${actor_mark}")))
}

/// The selection grouped by what the skip rule reads.
pub async fn candidate_groups(
    db: &Db,
    actor: &UserId,
    selection: &Selection,
) -> DomainResult<Vec<CandidateGroup>> {
    let (filter, binds) = selection_sql(db.engine(), selection, 1)?;
    let columns = candidate_columns(binds.len() + 1);
    let sql = format!(
        "SELECT {} AS is_actor, {} AS role, {} AS source, {} AS active, \
         {} AS must_change_password, {} AS has_email, COUNT(*) AS users FROM users \
         WHERE {filter} GROUP BY 1, 2, 3, 4, 5, 6",
        columns[0], columns[1], columns[2], columns[3], columns[4], columns[5]
    );
    let mut query = sqlx::query_as::<_, CandidateGroup>(&sql);
    for bind in &binds {
        query = query.bind(bind);
    }
    Ok(query.bind(&actor.0).fetch_all(db.pool()).await?)
}

/// The first `limit` usernames of one group, for the preview's list of skipped users.
pub async fn group_examples(
    db: &Db,
    actor: &UserId,
    selection: &Selection,
    group: &CandidateGroup,
    limit: usize,
) -> DomainResult<Vec<String>> {
    let (filter, binds) = selection_sql(db.engine(), selection, 1)?;
    let columns = candidate_columns(binds.len() + 1);
    let first = binds.len() + 2;
    let same: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, column)| format!("{column} = ${}", first + i))
        .collect();
    let sql = format!(
        "SELECT username FROM users WHERE {filter} AND {} ORDER BY username_key LIMIT {limit}",
        same.join(" AND ")
    );
    let mut query = sqlx::query_as::<_, (String,)>(&sql);
    for bind in &binds {
        query = query.bind(bind);
    }
    let names = query
        .bind(&actor.0)
        .bind(group.is_actor)
        .bind(&group.role)
        .bind(&group.source)
        .bind(group.active)
        .bind(group.must_change_password)
        .bind(group.has_email)
        .fetch_all(db.pool())
        .await?;
    Ok(names.into_iter().map(|(name,)| name).collect())
}

/// The job an administrator already started with `key`, if any.
pub async fn job_for_key(db: &Db, actor: &UserId, key: &str) -> DomainResult<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT id FROM bulk_jobs WHERE created_by_id = $1 AND request_key = $2")
            .bind(&actor.0)
            .bind(key)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(id,)| id))
}

pub struct NewJob<'a> {
    pub id: &'a str,
    pub kind: BulkKind,
    pub link_minutes: i64,
    pub invalidate_password: bool,
    pub actor: &'a Actor,
    pub request_key: &'a str,
}

/// Inserts a job with no items yet. `false` when this administrator already has a job with
/// the same request key (a start racing this one committed first).
pub async fn insert_job(tx: &mut Tx, job: NewJob<'_>, now: Timestamp) -> DomainResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO bulk_jobs (id, kind, link_minutes, invalidate_password, created_by_id, \
         created_by_name, created_by_role, ip, created_at, total, request_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10)",
    )
    .bind(job.id)
    .bind(job.kind.as_str())
    .bind(job.link_minutes)
    .bind(flag(job.invalidate_password))
    .bind(&job.actor.id().0)
    .bind(job.actor.username())
    .bind(job.actor.role().as_str())
    .bind(job.actor.ip().map(str::to_owned))
    .bind(now.millis())
    .bind(job.request_key)
    .execute(&mut **tx)
    .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => Ok(false),
        other => other.map(|_| true).map_err(Into::into),
    }
}

/// One item per selected user, numbered by the database in one statement however many there
/// are, and the job's total set to match. Returns the total.
///
/// `seq` is the report's order, by username; the rows are written in the users' id order, the
/// order the runner works in ([`next_items`]), so each batch's items sit together.
pub async fn insert_items(tx: &mut Tx, job: &str, selection: &Selection) -> DomainResult<u64> {
    let (filter, binds) = selection_sql(engine_of(tx), selection, 2)?;
    let sql = format!(
        "INSERT INTO bulk_items (job_id, seq, user_id, username) \
         SELECT $1, ROW_NUMBER() OVER (ORDER BY username_key), id, username \
         FROM users WHERE {filter} ORDER BY id"
    );
    let mut insert = sqlx::query(&sql).bind(job);
    for bind in &binds {
        insert = insert.bind(bind);
    }
    let total = insert.execute(&mut **tx).await?.rows_affected();
    sqlx::query("UPDATE bulk_jobs SET total = $2 WHERE id = $1")
        .bind(job)
        .bind(i64::try_from(total).unwrap_or(i64::MAX))
        .execute(&mut **tx)
        .await?;
    Ok(total)
}

#[derive(sqlx::FromRow)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub link_minutes: Option<i64>,
    pub invalidate_password: i64,
    pub created_by_id: String,
    pub created_by_name: String,
    pub created_by_role: String,
    pub ip: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub total: i64,
    pub processed: i64,
    pub reset_count: i64,
    pub link_queued_count: i64,
    pub skipped_count: i64,
    pub failed_count: i64,
}

const JOB_COLUMNS: &str = "id, kind, link_minutes, invalidate_password, created_by_id, \
     created_by_name, created_by_role, ip, created_at, finished_at, total, processed, \
     reset_count, link_queued_count, skipped_count, failed_count";

/// Brings PostgreSQL's statistics of `bulk_items` up to date, for a runner about to work
/// through a job. A new job's items are not in them until autovacuum comes by (a minute or
/// more later), and without them the planner took [`next_items`] for a query of one row: each
/// batch read every remaining item of the job and sorted them (13 ms a batch at 100,000 items,
/// 0.7 s of the job) instead of reading the next ones in the index's order. SQLite's planner
/// reads them in order without statistics.
pub async fn analyze_items(db: &Db) -> DomainResult<()> {
    if db.engine() == Engine::Postgres {
        sqlx::query("ANALYZE bulk_items").execute(db.pool()).await?;
    }
    Ok(())
}

/// Takes the oldest unfinished job nobody holds, for a lease until `lease_until` under the
/// name `lease`. A job another runner claimed first is skipped.
pub async fn claim(
    db: &Db,
    lease: &str,
    now: Timestamp,
    lease_until: Timestamp,
) -> DomainResult<Option<JobRow>> {
    let candidates: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM bulk_jobs WHERE finished_at IS NULL \
         AND (lease_until IS NULL OR lease_until <= $1) ORDER BY created_at LIMIT $2",
    )
    .bind(now.millis())
    .bind(lease::CANDIDATES)
    .fetch_all(db.pool())
    .await?;
    lease::first_claimed(candidates.into_iter().map(|(id,)| id), |id| async move {
        let row: Option<JobRow> = sqlx::query_as(&format!(
            "UPDATE bulk_jobs SET lease_until = $2, lease_owner = $4 WHERE id = $1 \
             AND finished_at IS NULL AND (lease_until IS NULL OR lease_until <= $3) \
             RETURNING {JOB_COLUMNS}"
        ))
        .bind(&id)
        .bind(lease_until.millis())
        .bind(now.millis())
        .bind(lease)
        .fetch_optional(&mut *db.writer().await?)
        .await?;
        Ok(row)
    })
    .await
}

/// Renews a runner's lease inside its batch's transaction; `false` when another runner took
/// the job. On PostgreSQL the update also locks the job row, so no two runners are ever inside
/// a batch of the same job.
pub async fn hold_lease(
    tx: &mut Tx,
    job: &str,
    lease: &str,
    until: Timestamp,
) -> DomainResult<bool> {
    let held = sqlx::query(
        "UPDATE bulk_jobs SET lease_until = $3 WHERE id = $1 AND lease_owner = $2 \
         AND finished_at IS NULL",
    )
    .bind(job)
    .bind(lease)
    .bind(until.millis())
    .execute(&mut **tx)
    .await?;
    Ok(held.rows_affected() == 1)
}

/// The next unfinished items' users after `after` (the last user the runner finished, `""` to
/// start), in id order. A runner works in the order of its users' ids, not the report's: ids
/// are time-ordered ([`super::row_id`]), so a batch's users, their items and the index entries
/// it writes for them sit on a few pages. Passing the last one finished starts the query where
/// the work is, instead of stepping over every finished item of a 100,000-user job each batch.
pub async fn next_items(
    tx: &mut Tx,
    job: &str,
    after: &UserId,
    limit: i64,
) -> DomainResult<Vec<UserId>> {
    let items: Vec<String> = sqlx::query_scalar(
        "SELECT user_id FROM bulk_items WHERE job_id = $1 AND user_id > $3 \
         AND outcome IS NULL ORDER BY user_id LIMIT $2",
    )
    .bind(job)
    .bind(limit)
    .bind(&after.0)
    .fetch_all(&mut **tx)
    .await?;
    Ok(items.into_iter().map(UserId).collect())
}

/// How one item ended, for [`finish_items`].
pub struct Finished {
    pub user: UserId,
    pub outcome: &'static str,
    pub reason: Option<String>,
    pub email_id: Option<String>,
}

/// Records a batch's outcomes (`finished`, in the order [`next_items`] gave) and counts them,
/// in one statement for the items and one for the job's counts; `false` (and nothing should be
/// committed) when another runner finished any of them.
pub async fn finish_items(
    tx: &mut Tx,
    job: &str,
    finished: &[Finished],
    now: Timestamp,
) -> DomainResult<bool> {
    use packed::Column::Text;
    let (Some(first), Some(last)) = (finished.first(), finished.last()) else {
        return Ok(true);
    };
    let mut rows = packed::Rows::default();
    for item in finished {
        rows.push(json!([
            item.user.0,
            item.outcome,
            item.reason,
            item.email_id
        ]));
    }
    let columns = [
        Text("user_id"),
        Text("outcome"),
        Text("reason"),
        Text("email_id"),
    ];
    // The range bounds the rows the join reads by the (job, user) index, whatever the planner
    // believes: right after a job's 100,000 items are written, PostgreSQL's statistics
    // still say a handful, and without it the join read every item once per row. A batch's
    // users are consecutive in id order ([`next_items`]) and `finished` keeps their order, so
    // the range from its first to its last holds no one else's.
    let sql = format!(
        "UPDATE bulk_items SET outcome = v.outcome, reason = v.reason, email_id = v.email_id, \
         processed_at = $2 FROM ({}) AS v \
         WHERE bulk_items.job_id = $1 AND bulk_items.user_id BETWEEN $4 AND $5 \
         AND bulk_items.user_id = v.user_id AND bulk_items.outcome IS NULL",
        packed::rows(engine_of(tx), 3, &columns)
    );
    let done = sqlx::query(&sql)
        .bind(job)
        .bind(now.millis())
        .bind(rows.into_json())
        .bind(&first.user.0)
        .bind(&last.user.0)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    let count = i64::try_from(finished.len()).unwrap_or(i64::MAX);
    if done != count.unsigned_abs() {
        return Ok(false);
    }
    let of = |outcome: ItemOutcome| {
        let n = finished
            .iter()
            .filter(|item| item.outcome == outcome.as_str())
            .count();
        i64::try_from(n).unwrap_or(i64::MAX)
    };
    sqlx::query(
        "UPDATE bulk_jobs SET processed = processed + $2, reset_count = reset_count + $3, \
         link_queued_count = link_queued_count + $4, skipped_count = skipped_count + $5, \
         failed_count = failed_count + $6 WHERE id = $1",
    )
    .bind(job)
    .bind(count)
    .bind(of(ItemOutcome::Reset))
    .bind(of(ItemOutcome::LinkQueued))
    .bind(of(ItemOutcome::Skipped))
    .bind(of(ItemOutcome::Failed))
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// Records every item not yet processed as failed with `reason`, and ends the job.
pub async fn fail_remaining(
    tx: &mut Tx,
    job: &str,
    reason: &str,
    now: Timestamp,
) -> DomainResult<()> {
    sqlx::query(
        "UPDATE bulk_items SET outcome = 'failed', reason = $2, processed_at = $3 \
         WHERE job_id = $1 AND outcome IS NULL",
    )
    .bind(job)
    .bind(reason)
    .bind(now.millis())
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE bulk_jobs SET failed_count = failed_count + total - processed, \
         processed = total, finished_at = $2, lease_until = NULL WHERE id = $1",
    )
    .bind(job)
    .bind(now.millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn finish(tx: &mut Tx, job: &str, now: Timestamp) -> DomainResult<()> {
    sqlx::query("UPDATE bulk_jobs SET finished_at = $2, lease_until = NULL WHERE id = $1")
        .bind(job)
        .bind(now.millis())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn job(db: &Db, id: &str) -> DomainResult<Option<JobRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM bulk_jobs WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?)
}

/// One item with its email's delivery, for the report.
#[derive(sqlx::FromRow)]
pub struct ItemRow {
    pub seq: i64,
    pub username: String,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub email_state: Option<String>,
    pub email_error: Option<String>,
}

/// Up to `limit` items after `after_seq`, in order: a keyset walk, so the last page of a
/// 100,000-user report costs what the first does.
pub async fn items(db: &Db, id: &str, after_seq: i64, limit: i64) -> DomainResult<Vec<ItemRow>> {
    Ok(sqlx::query_as(
        "SELECT i.seq, i.username, i.outcome, i.reason, e.state AS email_state, \
         e.last_error AS email_error \
         FROM bulk_items i LEFT JOIN email_outbox e ON e.id = i.email_id \
         WHERE i.job_id = $1 AND i.seq > $2 ORDER BY i.seq LIMIT $3",
    )
    .bind(id)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

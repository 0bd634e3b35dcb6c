//! The import_jobs and import_rows tables: an uploaded file's rows, their preview, and what
//! the import did to each.

use model::import::ImportLine;
use model::time::Timestamp;
use serde_json::json;

use crate::db::{Db, Tx, engine_of, flag};
use crate::error::{DomainError, DomainResult};
use crate::people::import::ImportRow;
use crate::store::packed;

#[derive(sqlx::FromRow)]
pub struct JobRow {
    pub id: String,
    pub created_by_id: String,
    pub file_name: String,
    pub created_at: i64,
    pub total: i64,
    pub send_links: i64,
    pub started_at: Option<i64>,
    pub heartbeat_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub processed: i64,
}

pub struct NewJob<'a> {
    pub id: &'a str,
    pub created_by_id: &'a str,
    pub created_by_name: &'a str,
    pub file_name: &'a str,
    pub total: i64,
}

pub async fn insert_job(tx: &mut Tx, job: NewJob<'_>, now: Timestamp) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO import_jobs (id, created_by_id, created_by_name, file_name, created_at, \
         total) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(job.id)
    .bind(job.created_by_id)
    .bind(job.created_by_name)
    .bind(job.file_name)
    .bind(now.millis())
    .bind(job.total)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores rows with their preview verdicts, many per statement.
pub async fn insert_rows(
    tx: &mut Tx,
    job: &str,
    rows: &[(&ImportRow, &str, &str)],
) -> DomainResult<()> {
    use packed::Column::{Int, Text};
    let mut packed_rows = packed::Rows::default();
    for (row, verdict, detail) in rows {
        packed_rows.push(json!([
            i64::try_from(row.line).unwrap_or(i64::MAX),
            row.username,
            row.display_name,
            row.email,
            row.role,
            row.active,
            verdict,
            detail,
        ]));
    }
    if packed_rows.is_empty() {
        return Ok(());
    }
    let columns = [
        Int("line"),
        Text("username"),
        Text("display_name"),
        Text("email"),
        Text("role"),
        Text("active"),
        Text("verdict"),
        Text("detail"),
    ];
    let sql = format!(
        "INSERT INTO import_rows (job_id, line, username, display_name, email, role, active, \
         verdict, detail, result) \
         SELECT $2, line, username, display_name, email, role, active, verdict, detail, NULL \
         FROM ({}) AS uploaded",
        packed::rows(engine_of(tx), 1, &columns)
    );
    sqlx::query(&sql)
        .bind(packed_rows.into_json())
        .bind(job)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn job(db: &Db, id: &str) -> DomainResult<Option<JobRow>> {
    Ok(sqlx::query_as(
        "SELECT id, created_by_id, file_name, created_at, total, send_links, started_at, \
         heartbeat_at, finished_at, processed FROM import_jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?)
}

/// How many rows have each preview verdict.
pub async fn verdict_counts(db: &Db, id: &str) -> DomainResult<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT verdict, COUNT(*) FROM import_rows WHERE job_id = $1 GROUP BY verdict",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?)
}

/// How many rows ended each way, once applied.
pub async fn result_counts(db: &Db, id: &str) -> DomainResult<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT result, COUNT(*) FROM import_rows WHERE job_id = $1 AND result IS NOT NULL \
         GROUP BY result ORDER BY result",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?)
}

#[derive(sqlx::FromRow)]
struct LineRow {
    line: i64,
    username: String,
    verdict: String,
    detail: String,
}

impl From<LineRow> for ImportLine {
    fn from(r: LineRow) -> Self {
        ImportLine {
            line: u64::try_from(r.line).unwrap_or(0),
            username: r.username,
            verdict: r.verdict,
            detail: r.detail,
        }
    }
}

/// The first `limit` rows whose preview verdict is one of `verdicts`.
pub async fn lines(
    db: &Db,
    id: &str,
    verdicts: &[&str],
    limit: i64,
) -> DomainResult<Vec<ImportLine>> {
    let marks: Vec<String> = (0..verdicts.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT line, username, verdict, detail FROM import_rows WHERE job_id = $1 \
         AND verdict IN ({}) ORDER BY line LIMIT $2",
        marks.join(", ")
    );
    let mut query = sqlx::query_as::<_, LineRow>(&sql).bind(id).bind(limit);
    for verdict in verdicts {
        query = query.bind(*verdict);
    }
    Ok(query
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .map(ImportLine::from)
        .collect())
}

#[derive(sqlx::FromRow)]
struct StagedRow {
    line: i64,
    username: String,
    display_name: Option<String>,
    email: Option<String>,
    role: Option<String>,
    active: Option<String>,
    verdict: String,
    detail: String,
}

/// A row not yet done, with its preview verdict and detail.
pub struct Pending {
    pub row: ImportRow,
    pub verdict: String,
    pub detail: String,
}

/// The rows not yet done, in file order, for the job to apply (all of them at the start; the
/// rest when an import is taken over).
pub async fn pending(db: &Db, id: &str) -> DomainResult<Vec<Pending>> {
    let rows: Vec<StagedRow> = sqlx::query_as(
        "SELECT line, username, display_name, email, role, active, verdict, detail \
         FROM import_rows WHERE job_id = $1 AND result IS NULL ORDER BY line",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Pending {
            row: ImportRow {
                line: u64::try_from(r.line).unwrap_or(0),
                username: r.username,
                display_name: r.display_name,
                email: r.email,
                role: r.role,
                active: r.active,
            },
            verdict: r.verdict,
            detail: r.detail,
        })
        .collect())
}

/// What the report lists: every row, with what happened to it (or its preview verdict).
pub async fn report_lines(db: &Db, id: &str) -> DomainResult<Vec<ImportLine>> {
    let rows: Vec<LineRow> = sqlx::query_as(
        "SELECT line, username, \
         CASE WHEN result IS NOT NULL THEN result WHEN verdict = 'error' THEN 'error' \
         ELSE 'not imported' END AS verdict, \
         COALESCE(result_detail, detail) AS detail FROM import_rows WHERE job_id = $1 \
         ORDER BY line",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(ImportLine::from).collect())
}

/// Marks the job started, once: `false` when it already was (a second click, another
/// instance).
pub async fn claim_start(
    tx: &mut Tx,
    id: &str,
    send_links: bool,
    runner: &str,
    now: Timestamp,
) -> DomainResult<bool> {
    let done = sqlx::query(
        "UPDATE import_jobs SET started_at = $2, heartbeat_at = $2, send_links = $3, runner = $4 \
         WHERE id = $1 AND started_at IS NULL",
    )
    .bind(id)
    .bind(now.millis())
    .bind(flag(send_links))
    .bind(runner)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records what was done to some rows, and counts them done, in the caller's transaction: the
/// one that did it, so the report never disagrees with the directory.
pub async fn record_results(
    tx: &mut Tx,
    id: &str,
    runner: &str,
    results: &[(u64, &str, &str)],
    now: Timestamp,
) -> DomainResult<()> {
    for (line, result, detail) in results {
        sqlx::query(
            "UPDATE import_rows SET result = $3, result_detail = $4 WHERE job_id = $1 AND line = $2",
        )
        .bind(id)
        .bind(i64::try_from(*line).unwrap_or(0))
        .bind(*result)
        .bind(*detail)
        .execute(&mut **tx)
        .await?;
    }
    let held = sqlx::query(
        "UPDATE import_jobs SET processed = processed + $2, heartbeat_at = $3 \
         WHERE id = $1 AND runner = $4",
    )
    .bind(id)
    .bind(i64::try_from(results.len()).unwrap_or(0))
    .bind(now.millis())
    .bind(runner)
    .execute(&mut **tx)
    .await?;
    if held.rows_affected() == 0 {
        return Err(DomainError::Conflict(
            "another instance took this import over".into(),
        ));
    }
    Ok(())
}

/// A started, unfinished import whose runner stopped beating before `stale_before`, taken
/// over by `runner` with one conditional update (only one instance wins it): (id, creator's
/// id, creator's name, send links).
pub async fn claim_stalled(
    db: &Db,
    runner: &str,
    stale_before: Timestamp,
    now: Timestamp,
) -> DomainResult<Option<(String, String, String, bool)>> {
    let candidates: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM import_jobs WHERE started_at IS NOT NULL AND finished_at IS NULL \
         AND heartbeat_at < $1 ORDER BY created_at LIMIT 5",
    )
    .bind(stale_before.millis())
    .fetch_all(db.pool())
    .await?;
    for (id,) in candidates {
        let won = sqlx::query(
            "UPDATE import_jobs SET runner = $2, heartbeat_at = $3 \
             WHERE id = $1 AND finished_at IS NULL AND heartbeat_at < $4",
        )
        .bind(&id)
        .bind(runner)
        .bind(now.millis())
        .bind(stale_before.millis())
        .execute(&mut *db.writer().await?)
        .await?;
        if won.rows_affected() == 1 {
            let (created_by_id, created_by_name, send_links): (String, String, i64) =
                sqlx::query_as(
                    "SELECT created_by_id, created_by_name, send_links FROM import_jobs \
                     WHERE id = $1",
                )
                .bind(&id)
                .fetch_one(db.pool())
                .await?;
            return Ok(Some((id, created_by_id, created_by_name, send_links != 0)));
        }
    }
    Ok(None)
}

pub async fn finish(db: &Db, id: &str, runner: &str, now: Timestamp) -> DomainResult<()> {
    sqlx::query(
        "UPDATE import_jobs SET finished_at = $2, heartbeat_at = $2 WHERE id = $1 AND runner = $3",
    )
    .bind(id)
    .bind(now.millis())
    .bind(runner)
    .execute(&mut *db.writer().await?)
    .await?;
    Ok(())
}

//! The rate_limits table: fixed-window counters every instance shares.

use model::time::Timestamp;

use crate::db::Db;
use crate::error::{DomainError, DomainResult};

/// A counter's state after a hit or a look.
#[derive(Clone, Copy, Debug)]
pub struct Count {
    pub hits: i64,
    pub window_start: Timestamp,
}

/// Counts one hit in `bucket`'s current window (a new window once `window_ms` has passed), in
/// one statement, so concurrent hits from several instances cannot lose a count.
pub async fn hit(db: &Db, bucket: &str, window_ms: i64, now: Timestamp) -> DomainResult<Count> {
    let counts = hit_all(db, &[(bucket.to_owned(), window_ms)], now).await?;
    Ok(counts[0])
}

/// Counts one hit in each of `buckets` (each with its window in milliseconds) in one
/// statement: one write instead of one a bucket, where a request passes several gates. The
/// counts come back in the order of `buckets`, which must be distinct.
pub async fn hit_all(
    db: &Db,
    buckets: &[(String, i64)],
    now: Timestamp,
) -> DomainResult<Vec<Count>> {
    if buckets.is_empty() {
        return Ok(Vec::new());
    }
    // Rows are written in bucket order, so two requests through the same buckets lock them
    // in the same order (PostgreSQL), whatever order their callers named them in.
    let mut ordered: Vec<&(String, i64)> = buckets.iter().collect();
    ordered.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let now_param = 2 * ordered.len() + 1;
    let rows: Vec<String> = (0..ordered.len())
        .map(|i| format!("(${}, ${now_param}, 1)", 2 * i + 1))
        .collect();
    let cutoffs: String = (0..ordered.len())
        .map(|i| format!(" WHEN ${} THEN ${}", 2 * i + 1, 2 * i + 2))
        .collect();
    // The window is over when it began at or before its cutoff (now less its length).
    let over = format!("rate_limits.window_start <= CASE rate_limits.bucket{cutoffs} END");
    let sql = format!(
        "INSERT INTO rate_limits (bucket, window_start, hits) VALUES {} \
         ON CONFLICT (bucket) DO UPDATE SET \
         hits = CASE WHEN {over} THEN 1 ELSE rate_limits.hits + 1 END, \
         window_start = CASE WHEN {over} THEN excluded.window_start \
         ELSE rate_limits.window_start END \
         RETURNING bucket, hits, window_start",
        rows.join(", ")
    );
    let mut query = sqlx::query_as::<_, (String, i64, i64)>(&sql);
    for (bucket, window_ms) in &ordered {
        query = query.bind(bucket.as_str()).bind(now.millis() - window_ms);
    }
    // Every sign-in makes this write: on SQLite it waits for its turn with the other writers
    // (`Db::writer`), not in SQLite's busy handler with a connection held.
    let counted = query
        .bind(now.millis())
        .fetch_all(&mut *db.writer().await?)
        .await?;
    buckets
        .iter()
        .map(|(bucket, _)| {
            counted
                .iter()
                .find(|(b, _, _)| b == bucket)
                .map(|&(_, hits, window_start)| Count {
                    hits,
                    window_start: Timestamp(window_start),
                })
                .ok_or_else(|| DomainError::Internal("no count came back for a bucket".into()))
        })
        .collect()
}

/// The counter's current window, without counting (`None` when it has none running).
pub async fn peek(
    db: &Db,
    bucket: &str,
    window_ms: i64,
    now: Timestamp,
) -> DomainResult<Option<Count>> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT hits, window_start FROM rate_limits WHERE bucket = $1 AND window_start > $2",
    )
    .bind(bucket)
    .bind(now.millis() - window_ms)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|(hits, window_start)| Count {
        hits,
        window_start: Timestamp(window_start),
    }))
}

/// Drops counters whose window ended long ago.
pub async fn purge(db: &Db, older_than: Timestamp) -> DomainResult<u64> {
    let done = sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
        .bind(older_than.millis())
        .execute(&mut *db.writer().await?)
        .await?;
    Ok(done.rows_affected())
}

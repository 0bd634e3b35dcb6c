//! The rate_limits table: fixed-window counters every instance shares.

use model::time::Timestamp;

use crate::db::Db;
use crate::error::DomainResult;

/// A counter's state after a hit or a look.
#[derive(Clone, Copy, Debug)]
pub struct Count {
    pub hits: i64,
    pub window_start: Timestamp,
}

/// Counts one hit in `bucket`'s current window (a new window once `window_ms` has passed), in
/// one statement, so concurrent hits from several instances cannot lose a count.
pub async fn hit(db: &Db, bucket: &str, window_ms: i64, now: Timestamp) -> DomainResult<Count> {
    let (hits, window_start): (i64, i64) = sqlx::query_as(
        "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket) DO UPDATE SET \
         hits = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.hits + 1 END, \
         window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 \
         ELSE rate_limits.window_start END \
         RETURNING hits, window_start",
    )
    .bind(bucket)
    .bind(now.millis())
    .bind(now.millis() - window_ms)
    .fetch_one(db.pool())
    .await?;
    Ok(Count {
        hits,
        window_start: Timestamp(window_start),
    })
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
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

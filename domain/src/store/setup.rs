//! The `setup_tokens` table: one-time links that create the first administrator, stored as
//! SHA-256 digests.

use model::time::Timestamp;

use crate::error::DomainResult;
use crate::store::db::{Db, Tx};
use crate::tokens::TokenDigest;

/// Drops expired links and records a new one.
pub async fn insert(
    db: &Db,
    digest: &TokenDigest,
    now: Timestamp,
    expires_at: Timestamp,
) -> DomainResult<()> {
    sqlx::query("DELETE FROM setup_tokens WHERE expires_at <= $1")
        .bind(now.millis())
        .execute(db.pool())
        .await?;
    sqlx::query(
        "INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(&digest.0)
    .bind(now.millis())
    .bind(expires_at.millis())
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn is_valid(db: &Db, digest: &TokenDigest, now: Timestamp) -> DomainResult<bool> {
    let found: Option<(i64,)> = sqlx::query_as(
        "SELECT expires_at FROM setup_tokens WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(&digest.0)
    .bind(now.millis())
    .fetch_optional(db.pool())
    .await?;
    Ok(found.is_some())
}

/// Spends a live link: `false` when it was used, replaced or has expired.
pub async fn consume(tx: &mut Tx, digest: &TokenDigest, now: Timestamp) -> DomainResult<bool> {
    let consumed =
        sqlx::query("DELETE FROM setup_tokens WHERE token_hash = $1 AND expires_at > $2")
            .bind(&digest.0)
            .bind(now.millis())
            .execute(&mut **tx)
            .await?;
    Ok(consumed.rows_affected() == 1)
}

/// Voids every other link once an administrator exists.
pub async fn delete_all(tx: &mut Tx) -> DomainResult<()> {
    sqlx::query("DELETE FROM setup_tokens")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

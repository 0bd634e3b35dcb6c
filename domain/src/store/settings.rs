//! The `settings` table: one JSON object per section of Management.

use model::time::Timestamp;
use model::user::UserId;

use crate::db::{Db, Tx};
use crate::error::DomainResult;

/// The stored JSON of `section`, if an administrator ever saved it.
pub async fn get(db: &Db, section: &str) -> DomainResult<Option<String>> {
    Ok(
        sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE name = $1")
            .bind(section)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// The stored JSON of `section`, read in the caller's write transaction with its row locked
/// (SQLite's write transaction holds the whole file; on PostgreSQL the no-op update takes the
/// row lock), so two saves of one section follow each other instead of one losing the other's
/// change.
pub async fn get_in(tx: &mut Tx, section: &str) -> DomainResult<Option<String>> {
    sqlx::query("UPDATE settings SET name = name WHERE name = $1")
        .bind(section)
        .execute(&mut **tx)
        .await?;
    Ok(
        sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE name = $1")
            .bind(section)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

pub async fn put(
    tx: &mut Tx,
    section: &str,
    value: &str,
    by: &UserId,
    now: Timestamp,
) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO settings (name, value, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(section)
    .bind(value)
    .bind(now.millis())
    .bind(&by.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

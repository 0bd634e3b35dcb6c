//! The `password_history` table: hashes a person's passwords had, for "no reuse of the last K".

use model::time::Timestamp;
use model::user::UserId;

use crate::db::{Db, Tx, engine_of};
use crate::error::DomainResult;
use crate::store::packed;

/// The newest `limit` earlier hashes of `user`, newest first.
pub async fn recent(db: &Db, user: &UserId, limit: usize) -> DomainResult<Vec<String>> {
    Ok(sqlx::query_scalar::<_, String>(
        "SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(&user.0)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(db.pool())
    .await?)
}

/// Keeps `hash` (the password being replaced) and forgets all but the newest `keep`.
pub async fn remember(
    tx: &mut Tx,
    user: &UserId,
    hash: &str,
    keep: usize,
    now: Timestamp,
) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO password_history (user_id, password_hash, replaced_at) VALUES ($1, $2, $3)",
    )
    .bind(&user.0)
    .bind(hash)
    .bind(now.millis())
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "DELETE FROM password_history WHERE user_id = $1 AND id NOT IN \
         (SELECT id FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2)",
    )
    .bind(&user.0)
    .bind(i64::try_from(keep).unwrap_or(i64::MAX))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// For each of `users` that has a password: keeps its current hash (about to be removed) and
/// forgets all but the newest `keep`. A few statements for a whole Bulk Change batch.
pub async fn remember_current_of(
    tx: &mut Tx,
    users: &[UserId],
    keep: usize,
    now: Timestamp,
) -> DomainResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    let list = packed::set(engine_of(tx), 2);
    let insert = format!(
        "INSERT INTO password_history (user_id, password_hash, replaced_at) \
         SELECT id, password_hash, $1 FROM users \
         WHERE id IN {list} AND password_hash IS NOT NULL"
    );
    sqlx::query(&insert)
        .bind(now.millis())
        .bind(packed::user_ids(users))
        .execute(&mut **tx)
        .await?;
    let trim = format!(
        "DELETE FROM password_history WHERE id IN (SELECT id FROM \
         (SELECT id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY id DESC) AS newest \
          FROM password_history WHERE user_id IN {list}) AS ranked WHERE newest > $1)"
    );
    sqlx::query(&trim)
        .bind(i64::try_from(keep).unwrap_or(i64::MAX))
        .bind(packed::user_ids(users))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

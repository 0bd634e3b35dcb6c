//! The `audit_events` table: append-only (triggers refuse updates and deletes on both engines).

use model::time::Timestamp;
use model::user::{AuditEntry, UserId};
use sqlx::{Any, Executor};

use crate::audit::AuditEvent;
use crate::error::DomainResult;
use crate::store::db::{Db, Tx, row_marks};

pub async fn insert<'e>(
    exec: impl Executor<'e, Database = Any>,
    event: &AuditEvent,
) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO audit_events (at, actor_id, actor_name, target_id, target_name, action, \
         outcome, ip, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(event.at.millis())
    .bind(event.actor.as_ref().map(|p| p.id.0.as_str()))
    .bind(event.actor.as_ref().map(|p| p.name.as_str()))
    .bind(event.target.as_ref().map(|p| p.id.0.as_str()))
    .bind(event.target.as_ref().map(|p| p.name.as_str()))
    .bind(event.action.as_str())
    .bind(event.outcome.as_str())
    .bind(event.ip.as_deref())
    .bind(event.detail.as_deref())
    .execute(exec)
    .await?;
    Ok(())
}

/// Appends many events in a few statements (Import's batches), in the caller's transaction.
pub async fn insert_all(tx: &mut Tx, events: &[AuditEvent]) -> DomainResult<()> {
    const COLS: usize = 9;
    for chunk in events.chunks(300) {
        let marks: Vec<String> = (0..chunk.len())
            .map(|r| format!("({})", row_marks(r, COLS)))
            .collect();
        let sql = format!(
            "INSERT INTO audit_events (at, actor_id, actor_name, target_id, target_name, action, \
             outcome, ip, detail) VALUES {}",
            marks.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for event in chunk {
            query = query
                .bind(event.at.millis())
                .bind(event.actor.as_ref().map(|p| p.id.0.clone()))
                .bind(event.actor.as_ref().map(|p| p.name.clone()))
                .bind(event.target.as_ref().map(|p| p.id.0.clone()))
                .bind(event.target.as_ref().map(|p| p.name.clone()))
                .bind(event.action.as_str())
                .bind(event.outcome.as_str())
                .bind(event.ip.clone())
                .bind(event.detail.clone());
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    at: i64,
    actor_name: Option<String>,
    target_name: Option<String>,
    action: String,
    outcome: String,
    ip: Option<String>,
    detail: Option<String>,
}

/// The newest events about one user (as target or actor), newest first.
pub async fn for_user(db: &Db, user: &UserId, limit: u32) -> DomainResult<Vec<AuditEntry>> {
    let rows = sqlx::query_as::<_, AuditRow>(
        "SELECT at, actor_name, target_name, action, outcome, ip, detail FROM audit_events \
         WHERE target_id = $1 OR actor_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(&user.0)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AuditEntry {
            at: Timestamp(r.at),
            actor: r.actor_name,
            target: r.target_name,
            action: r.action,
            outcome: r.outcome,
            ip: r.ip,
            detail: r.detail,
        })
        .collect())
}

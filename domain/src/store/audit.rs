//! The `audit_events` table: append-only (triggers refuse updates and deletes on both engines).

use model::audit::CheckedFilter;
use model::time::Timestamp;
use model::user::{AuditEntry, UserId};
use serde_json::json;
use sqlx::{Any, Executor};

use crate::audit::AuditEvent;
use crate::error::DomainResult;
use crate::store::db::{Db, Tx, engine_of};
use crate::store::packed;

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

/// Appends many events in one statement (a Bulk Change or Import batch), in the caller's
/// transaction, in their order.
pub async fn insert_all(tx: &mut Tx, events: &[AuditEvent]) -> DomainResult<()> {
    use packed::Column::{Int, Text};
    let mut rows = packed::Rows::default();
    for event in events {
        rows.push(json!([
            event.at.millis(),
            event.actor.as_ref().map(|p| p.id.0.as_str()),
            event.actor.as_ref().map(|p| p.name.as_str()),
            event.target.as_ref().map(|p| p.id.0.as_str()),
            event.target.as_ref().map(|p| p.name.as_str()),
            event.action.as_str(),
            event.outcome.as_str(),
            event.ip.as_deref(),
            event.detail.as_deref(),
        ]));
    }
    if rows.is_empty() {
        return Ok(());
    }
    let columns = [
        Int("at"),
        Text("actor_id"),
        Text("actor_name"),
        Text("target_id"),
        Text("target_name"),
        Text("action"),
        Text("outcome"),
        Text("ip"),
        Text("detail"),
    ];
    let sql = format!(
        "INSERT INTO audit_events (at, actor_id, actor_name, target_id, target_name, action, \
         outcome, ip, detail) {}",
        packed::rows(engine_of(tx), 1, &columns)
    );
    sqlx::query(&sql)
        .bind(rows.into_json())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor_name: Option<String>,
    target_name: Option<String>,
    action: String,
    outcome: String,
    ip: Option<String>,
    detail: Option<String>,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            id: r.id,
            at: Timestamp(r.at),
            actor: r.actor_name,
            target: r.target_name,
            action: r.action,
            outcome: r.outcome,
            ip: r.ip,
            detail: r.detail,
        }
    }
}

const READ: &str = "SELECT id, at, actor_name, target_name, action, outcome, ip, detail \
                    FROM audit_events";

/// The newest events about one user (as target or actor), newest first.
pub async fn for_user(db: &Db, user: &UserId, limit: u32) -> DomainResult<Vec<AuditEntry>> {
    // Two index range scans merged, not an OR that defeats both indexes.
    let rows = sqlx::query_as::<_, AuditRow>(&format!(
        "SELECT * FROM ({READ} WHERE target_id = $1 ORDER BY id DESC LIMIT $2) AS t \
         UNION SELECT * FROM ({READ} WHERE actor_id = $1 ORDER BY id DESC LIMIT $2) AS a \
         ORDER BY id DESC LIMIT $2"
    ))
    .bind(&user.0)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(AuditEntry::from).collect())
}

/// One page of the trail, newest first, filtered; `before` continues from an earlier page's
/// last id (keyset: each page is an index range scan, however deep).
pub async fn search(
    db: &Db,
    filter: &CheckedFilter,
    before: Option<i64>,
    limit: u32,
) -> DomainResult<Vec<AuditEntry>> {
    let mut conditions = Vec::new();
    let mut texts: Vec<&str> = Vec::new();
    let mut numbers: Vec<i64> = Vec::new();
    // Placeholders are numbered texts first, then numbers, so the binds can follow in order.
    let text_fields = [
        ("actor_name", filter.actor.as_deref()),
        ("target_name", filter.target.as_deref()),
        ("action", filter.action.as_deref()),
        ("outcome", filter.outcome.as_deref()),
    ];
    for (column, value) in text_fields {
        if let Some(value) = value {
            texts.push(value);
            conditions.push(format!("{column} = ${}", texts.len()));
        }
    }
    let number_fields = [
        ("at >=", filter.from.map(Timestamp::millis)),
        ("at <", filter.until.map(Timestamp::millis)),
        ("id <", before),
    ];
    for (test, value) in number_fields {
        if let Some(value) = value {
            numbers.push(value);
            conditions.push(format!("{test} ${}", texts.len() + numbers.len()));
        }
    }
    let filter_sql = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "{READ}{filter_sql} ORDER BY id DESC LIMIT ${}",
        texts.len() + numbers.len() + 1
    );
    let mut query = sqlx::query_as::<_, AuditRow>(&sql);
    for text in texts {
        query = query.bind(text);
    }
    for number in numbers {
        query = query.bind(number);
    }
    let rows = query.bind(i64::from(limit)).fetch_all(db.pool()).await?;
    Ok(rows.into_iter().map(AuditEntry::from).collect())
}

/// Sign-ins of `user` since `from`, per UTC day: (day, successes, failures).
pub async fn sign_ins_per_day(
    db: &Db,
    user: &UserId,
    from: Timestamp,
) -> DomainResult<Vec<(i64, i64, i64)>> {
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT at / 86400000 AS day, \
         SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS ok, \
         SUM(CASE WHEN outcome = 'success' THEN 0 ELSE 1 END) AS failed \
         FROM audit_events WHERE target_id = $1 AND action = 'sign_in' AND at >= $2 \
         GROUP BY at / 86400000 ORDER BY day",
    )
    .bind(&user.0)
    .bind(from.millis())
    .fetch_all(db.pool())
    .await?;
    Ok(rows)
}

//! The `audit_events` table: append-only (triggers refuse updates and deletes on both engines).

use model::audit::CheckedFilter;
use model::time::Timestamp;
use model::user::{AuditEntry, UserId};
use serde_json::json;
use sqlx::{Any, Executor};

use crate::audit::AuditEvent;
use crate::error::DomainResult;
use crate::store::db::{Db, Engine, Tx, engine_of};
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

/// How far out of order two events' times can be against their ids: an event is stamped
/// before its transaction waits for its turn to write, so one written after another may carry
/// an earlier time, by as long as that wait and the transaction (seconds).
const OUT_OF_ORDER_MS: i64 = 60 * 60 * 1000;

/// Ids between which (exclusive) every event of a date range lies: those of the last event
/// stamped [`OUT_OF_ORDER_MS`] or more before the range starts and the first stamped that long
/// after it ends, where there are such events. Two index lookups: an event of the range
/// cannot have been written before the first nor after the second, or its time would be
/// further out of order than any is.
async fn id_bounds(
    db: &Db,
    from: Option<Timestamp>,
    until: Option<Timestamp>,
) -> DomainResult<(i64, i64)> {
    let after = match from {
        Some(from) => {
            let sql = "SELECT id FROM audit_events WHERE at < $1 ORDER BY at DESC LIMIT 1";
            id_stamped(db, sql, from.millis().saturating_sub(OUT_OF_ORDER_MS)).await?
        }
        None => None,
    };
    let before = match until {
        Some(until) => {
            let sql = "SELECT id FROM audit_events WHERE at >= $1 ORDER BY at LIMIT 1";
            id_stamped(db, sql, until.millis().saturating_add(OUT_OF_ORDER_MS)).await?
        }
        None => None,
    };
    Ok((after.unwrap_or(0), before.unwrap_or(i64::MAX)))
}

/// The id `sql` finds for the time `at`.
async fn id_stamped(db: &Db, sql: &str, at: i64) -> DomainResult<Option<i64>> {
    Ok(sqlx::query_scalar::<_, i64>(sql)
        .bind(at)
        .fetch_optional(db.pool())
        .await?)
}

/// Whether a page is looked for by ids within a date range's bounds ([`id_bounds`]) rather
/// than by time: when no person is asked for, whose own index is short whatever else is asked.
/// Given an action and a few months, PostgreSQL walked the table from the newest event testing
/// each one (p50 39 ms, p99 104 ms at 1,000,000 events, `make bench`), and SQLite the action's
/// index the same way (650 ms for an action on a day a year back); with the bounds each reads
/// the range's newest events only (about 1 ms).
fn by_ids(filter: &CheckedFilter) -> bool {
    filter.actor.is_none()
        && filter.target.is_none()
        && (filter.from.is_some() || filter.until.is_some())
}

/// The filters' columns whose index SQLite may use: actor_name, target_name, action, outcome
/// (no index of its own), at. SQLite plans without statistics (nothing runs `ANALYZE` on it):
/// given a person and an action it took the action's index, a tenth of the trail or more, and
/// walked it from the newest event testing each one (84 ms a page at 1,000,000 events); and
/// given a date range, it read the whole range by time and sorted it. So it gets the person's
/// index when a person is asked for (the one acted on, given both: an administrator's own
/// events can be a good part of the trail), else the action's or the table's own order within
/// the ids' bounds. The others are written `+column`, which it cannot look up in an index.
/// PostgreSQL chooses by its statistics, and `+` is not an operator on its text.
fn sqlite_indexed(filter: &CheckedFilter) -> [bool; 5] {
    let person = filter.actor.is_some() || filter.target.is_some();
    [filter.target.is_none(), true, !person, !person, false]
}

/// One page of the trail, newest first, filtered; `before` continues from an earlier page's
/// last id (keyset: each page is an index range scan, however deep).
pub async fn search(
    db: &Db,
    filter: &CheckedFilter,
    before: Option<i64>,
    limit: u32,
) -> DomainResult<Vec<AuditEntry>> {
    let indexed = match db.engine() {
        Engine::Sqlite => sqlite_indexed(filter),
        Engine::Postgres => [true; 5],
    };
    let column = |at: usize, name: &str| match indexed[at] {
        true => name.to_owned(),
        false => format!("+{name}"),
    };
    let ids = match by_ids(filter) {
        true => Some(id_bounds(db, filter.from, filter.until).await?),
        false => None,
    };
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
    for (at, (name, value)) in text_fields.into_iter().enumerate() {
        if let Some(value) = value {
            texts.push(value);
            conditions.push(format!("{} = ${}", column(at, name), texts.len()));
        }
    }
    let number_fields = [
        (column(4, "at"), ">=", filter.from.map(Timestamp::millis)),
        (column(4, "at"), "<", filter.until.map(Timestamp::millis)),
        ("id".to_owned(), "<", before),
        ("id".to_owned(), ">", ids.map(|(after, _)| after)),
        ("id".to_owned(), "<", ids.map(|(_, before)| before)),
    ];
    for (name, test, value) in number_fields {
        if let Some(value) = value {
            numbers.push(value);
            conditions.push(format!("{name} {test} ${}", texts.len() + numbers.len()));
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
    // Planned for each page's own values: PostgreSQL's plan for any action, kept once a
    // statement has run five times, reads the whole date range for an action it holds no
    // event of (481 ms for 90 days at 1,000,000 events in `psql`, against 0.3 ms planned).
    let mut query = sqlx::query_as::<_, AuditRow>(&sql).persistent(false);
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

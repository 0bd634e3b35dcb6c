//! SQLite's search keys, kept in username order: the key FTS5 indexes each person's search
//! text under (`search_key`, migration 0016), so that the index's own order is the order a
//! page of the Users search lists people in ([`super::search`]).

use crate::db::{Engine, Tx, engine_of};
use crate::error::DomainResult;

/// SQLite's search keys lie strictly between `-KEY_BOUND` and `KEY_BOUND` (migration 0016), so
/// the distance between any two fits in an `i64`.
pub(super) const KEY_BOUND: i64 = (1 << 62) - 1;
/// The distance between neighbouring keys that migration 0016 starts from and that a new last
/// (or first) person is placed at; a respread spreads keys no further apart.
const SPACING: i64 = 1 << 32;
/// The room a respread leaves each person, at least: twenty halvings before the keys there are
/// crowded again.
const ROOM: i64 = 1 << 20;
/// People on each side of a crowded one that a respread first tries: it widens fourfold until
/// the keys around them have [`ROOM`] for each.
const FIRST_REACH: i64 = 16;

/// Gives a key to everyone this transaction inserted where no key was left between their
/// neighbours' (SQLite; nothing to do on PostgreSQL), so that the index's order stays the
/// username order. A key between two others halves their distance, so about thirty people
/// inserted one at a time, each just before the last, use up a gap; the keys of the people
/// around them are then spread out again. Inserts call this before they commit: until
/// then the people it places are missing from the search.
pub(crate) async fn place_crowded(tx: &mut Tx) -> DomainResult<()> {
    if engine_of(tx) != Engine::Sqlite {
        return Ok(());
    }
    while let Some(crowded) = sqlx::query_scalar::<_, String>(
        "SELECT username_key FROM users WHERE search_key IS NULL LIMIT 1",
    )
    .fetch_optional(&mut **tx)
    .await?
    {
        respread(tx, &crowded).await?;
    }
    Ok(())
}

/// One side of a respread: up to `reach` people next to `around` in username order.
struct Side {
    /// The farthest of them.
    edge: Option<String>,
    people: i64,
    /// The key of the next one past them, the respread's bound; `None` if they have no key.
    bound: Option<i64>,
    /// No one is past them: the bound is the end of the keys.
    whole: bool,
}

async fn side(tx: &mut Tx, around: &str, reach: i64, before: bool) -> DomainResult<Side> {
    let sql = if before {
        "SELECT username_key, search_key FROM users WHERE username_key < $1 \
         ORDER BY username_key DESC LIMIT $2"
    } else {
        "SELECT username_key, search_key FROM users WHERE username_key > $1 \
         ORDER BY username_key LIMIT $2"
    };
    let mut rows: Vec<(String, Option<i64>)> = sqlx::query_as(sql)
        .bind(around.to_owned())
        .bind(reach + 1)
        .fetch_all(&mut **tx)
        .await?;
    let whole = rows.len() <= usize::try_from(reach).unwrap_or(usize::MAX);
    let bound = if whole {
        Some(if before { -KEY_BOUND } else { KEY_BOUND })
    } else {
        rows.pop().and_then(|(_, key)| key)
    };
    Ok(Side {
        people: i64::try_from(rows.len()).unwrap_or(i64::MAX),
        edge: rows.pop().map(|(name, _)| name),
        bound,
        whole,
    })
}

/// Spreads out evenly the keys of the people around `crowded` (who has none), over the
/// smallest stretch of the username order whose bounding keys leave [`ROOM`] for each.
async fn respread(tx: &mut Tx, crowded: &str) -> DomainResult<()> {
    let mut reach = FIRST_REACH;
    loop {
        let below = side(tx, crowded, reach, true).await?;
        let above = side(tx, crowded, reach, false).await?;
        if let (Some(lo), Some(hi)) = (below.bound, above.bound) {
            let first = below.edge.as_deref().unwrap_or(crowded).to_owned();
            let last = above.edge.as_deref().unwrap_or(crowded).to_owned();
            let people = below.people + 1 + above.people;
            let step = ((hi - lo) / (people + 1)).min(SPACING);
            if step >= ROOM || (below.whole && above.whole) {
                // Keys `SPACING` apart against the nearer end of the table, or about 0 for
                // the whole table, so that the next people added beyond the end find a step
                // there and not a gap to halve.
                let start = match (below.whole, above.whole) {
                    (true, true) => -(people + 1) / 2 * step,
                    (true, false) => hi - (people + 1) * step,
                    _ => lo,
                };
                // Out of the index first, so that no new key meets an old one.
                sqlx::query(
                    "UPDATE users SET search_key = NULL \
                     WHERE username_key >= $1 AND username_key <= $2",
                )
                .bind(&first)
                .bind(&last)
                .execute(&mut **tx)
                .await?;
                sqlx::query(
                    "UPDATE users SET search_key = spread.key FROM (SELECT id, \
                     $3 + $4 * ROW_NUMBER() OVER (ORDER BY username_key) AS key FROM users \
                     WHERE username_key >= $1 AND username_key <= $2) AS spread \
                     WHERE users.id = spread.id",
                )
                .bind(&first)
                .bind(&last)
                .bind(start)
                .bind(step)
                .execute(&mut **tx)
                .await?;
                return Ok(());
            }
        }
        reach *= 4;
    }
}

//! How the Users search finds a page of people at a million rows without reading every one.
//!
//! A term of three or more characters is looked up in a trigram index: FTS5 `trigram` on
//! SQLite, `pg_trgm` on PostgreSQL.
//!
//! - **SQLite** keys its index in username order (`store::search_keys`), so a page
//!   is the first matches after the previous page's key in the index's own order: FTS5 stops
//!   once it has them, however many people the term matches.
//! - **PostgreSQL** searches `people_search`, a narrow copy of each person's username and
//!   search text that [`settle`] keeps in username order on disk (migration 0016). It cuts a
//!   page in one of two ways, by how many people match. **Few** (a name, a whole username): it
//!   lists up to [`FEW`] of them and sorts them. **Many**: first a short walk of the username
//!   order, testing each row ([`WALK`] rows). A common term whose matches are spread out
//!   (`example`) fills its page there. One whose matches are bunched together (one first name
//!   among usernames `first.last`, all in one stretch of the order) does not, and its page is
//!   then cut from every match, sorted: since the table is in username order, those matches
//!   lie together on a few hundred pages, not one to a page across the table.
//!
//!   Either way, a long term's matches are looked up in the trigram index by five
//!   characters of it whose trigrams are rarer ([`search_pieces`]), and tested whole.
//!
//! There is no `OFFSET`, and no `COUNT(*)` of the table.
//!
//! One or two characters have too few trigrams to index: they match usernames that start with
//! them, one range of the username index.

use crate::db::{Db, Engine};
use crate::error::DomainResult;
use crate::store::search_keys::KEY_BOUND;
use crate::store::search_pieces;

/// Matches PostgreSQL lists, to sort in memory, before it walks.
const FEW: i64 = 2_000;
/// Rows of the username order walked before a common term's matches are sorted instead: a
/// term matching one row in 200 fills a page within them, and a term whose matches are bunched
/// together is met if they start within them. The walk reads `people_search` in its order on
/// disk, a few milliseconds for all of them.
const WALK: i64 = 10_000;
/// Whether the trigram queries are kept prepared on PostgreSQL. They are not: each is an
/// unnamed statement, planned with the term itself. A prepared statement is planned with its
/// term only five times; then PostgreSQL may settle on one plan for any term, made without
/// knowing it. That plan always builds the trigram index's bitmap of every match, so a term in
/// nearly every row (`exampl`) took 90–100 ms, where the plan made for it reads the first rows
/// of the table until it has enough, in a few milliseconds.
const KEEP_PREPARED: bool = false;
/// Characters a term needs before it is searched anywhere in the text.
pub const SUBSTRING_FROM: usize = 3;

/// Spaces and ASCII punctuation: PostgreSQL's trigram index reads each of them as [`FOLDED_TO`]
/// (the column `search_folded`, migrations 0012 and 0016), so a term that holds them still has
/// trigrams (`pg_trgm` would split it into words and drop them).
const FOLDED: &str = r##" !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##;
const FOLDED_TO: char = 'q';

/// `term` as the trigram index reads text.
pub fn folded(term: &str) -> String {
    term.chars()
        .map(|c| if FOLDED.contains(c) { FOLDED_TO } else { c })
        .collect()
}

/// Which rows a term selects, in the form the page query uses.
pub enum Matches {
    /// No term: everyone.
    All,
    /// Usernames starting with the term: `username_key` in `[from, to)`.
    UsernamePrefix { from: String, to: String },
    /// Names, usernames and emails holding the term: a page is found by [`page_ids`].
    Substring(String),
}

/// What `term` (trimmed and lower-cased, as [`model::fields::search`] makes it) selects.
pub fn matches(term: &str) -> Matches {
    if term.is_empty() {
        Matches::All
    } else if term.chars().count() < SUBSTRING_FROM {
        Matches::UsernamePrefix {
            from: term.to_owned(),
            to: prefix_end(term),
        }
    } else {
        Matches::Substring(term.to_owned())
    }
}

/// The same selection as a `WHERE` condition on `users` and its bound values, numbered from
/// `$first`: Bulk Change's "select all matching this search" must select exactly the people
/// the list shows, and finds them through the same index rather than reading every row.
pub fn condition(engine: Engine, term: &str, first: usize) -> (String, Vec<String>) {
    if term.is_empty() {
        ("1 = 1".into(), Vec::new())
    } else if term.chars().count() < SUBSTRING_FROM {
        (
            format!("username_key >= ${first} AND username_key < ${}", first + 1),
            vec![term.to_owned(), prefix_end(term)],
        )
    } else {
        match engine {
            Engine::Sqlite => (
                format!(
                    "search_key IN (SELECT rowid FROM users_search WHERE users_search MATCH ${first})"
                ),
                vec![fts_phrase(term)],
            ),
            Engine::Postgres => (
                format!(
                    "id IN (SELECT id FROM people_search \
                     WHERE search_folded LIKE ${first} AND search_text LIKE ${} ESCAPE '\\')",
                    first + 1
                ),
                vec![format!("%{}%", folded(term)), search_pattern(term)],
            ),
        }
    }
}

/// Above every key that starts with `term`, in byte order (both engines compare
/// `username_key` bytewise).
fn prefix_end(term: &str) -> String {
    format!("{term}{}", char::MAX)
}

/// The ids of the first `want` people after the username key `after` whose name, username or
/// email holds `term`, in username order.
pub async fn page_ids(db: &Db, term: &str, after: &str, want: i64) -> DomainResult<Vec<String>> {
    if db.engine() == Engine::Sqlite {
        return in_key_order(db, term, after, want).await;
    }
    let asked = format!("%{}%", search_pieces::narrowest(db, &folded(term)).await?);
    let mut few = listed(db, term, &asked, FEW).await?;
    if i64::try_from(few.len()).unwrap_or(i64::MAX) < FEW {
        few.retain(|(_, key)| key.as_str() > after);
        few.sort_unstable_by(|a, b| a.1.cmp(&b.1));
        few.truncate(usize::try_from(want).unwrap_or(usize::MAX));
        return Ok(few.into_iter().map(|(id, _)| id).collect());
    }
    let walked = walk(db, term, after, want).await?;
    if i64::try_from(walked.len()).unwrap_or(i64::MAX) == want {
        Ok(walked)
    } else {
        sorted_matches(db, term, &asked, after, want).await
    }
}

/// SQLite: the first `want` matches whose key follows the key of `after` (or of the last
/// person before it, if they have gone since), in the index's own order, which is the
/// username order.
async fn in_key_order(db: &Db, term: &str, after: &str, want: i64) -> DomainResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT u.id FROM users_search JOIN users u ON u.search_key = users_search.rowid \
         WHERE users_search MATCH $1 AND users_search.rowid > COALESCE(\
             (SELECT search_key FROM users WHERE username_key <= $2 AND search_key IS NOT NULL \
              ORDER BY username_key DESC LIMIT 1), $4) \
         ORDER BY users_search.rowid LIMIT $3",
    )
    .bind(fts_phrase(term))
    .bind(after.to_owned())
    .bind(want)
    .bind(-KEY_BOUND)
    .fetch_all(db.pool())
    .await?)
}

/// A phrase of the whole term: consecutive trigrams, which is a substring match.
fn fts_phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// Up to `limit` of PostgreSQL's matches of `term`, as `(id, username_key)`, unordered, found
/// through the trigram index by `asked` (a pattern of the folded term or a piece of it).
///
/// Planned for each term ([`KEEP_PREPARED`]).
async fn listed(
    db: &Db,
    term: &str,
    asked: &str,
    limit: i64,
) -> DomainResult<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, username_key FROM people_search \
         WHERE search_folded LIKE $1 AND search_text LIKE $2 ESCAPE '\\' LIMIT $3",
    )
    .persistent(KEEP_PREPARED)
    .bind(asked.to_owned())
    .bind(search_pattern(term))
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// PostgreSQL: the first `want` matches after `after`, from every match the index has, sorted.
/// `OFFSET 0` keeps the planner from walking the username order in the hope of meeting the
/// matches soon, and, unlike a materialized `WITH`, streams them into the sort: 100,000
/// matches written to a temporary file first took a third longer.
async fn sorted_matches(
    db: &Db,
    term: &str,
    asked: &str,
    after: &str,
    want: i64,
) -> DomainResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM (SELECT id, username_key FROM people_search \
         WHERE search_folded LIKE $4 AND search_text LIKE $1 ESCAPE '\\' \
         AND username_key > $2 OFFSET 0) AS found \
         ORDER BY username_key LIMIT $3",
    )
    .persistent(KEEP_PREPARED)
    .bind(search_pattern(term))
    .bind(after.to_owned())
    .bind(want)
    .bind(asked.to_owned())
    .fetch_all(db.pool())
    .await?)
}

/// PostgreSQL: the first `want` matches after `after` among the next [`WALK`] rows of the
/// username order.
async fn walk(db: &Db, term: &str, after: &str, want: i64) -> DomainResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM (SELECT id, username_key, search_text FROM people_search \
         WHERE username_key > $1 ORDER BY username_key LIMIT $4) AS stretch \
         WHERE search_text LIKE $2 ESCAPE '\\' ORDER BY username_key LIMIT $3",
    )
    .bind(after.to_owned())
    .bind(search_pattern(term))
    .bind(want)
    .bind(WALK)
    .fetch_all(db.pool())
    .await?)
}

/// Pages of SQLite's index rewritten by one step of [`settle`]: each step is a write
/// transaction of its own, tens of milliseconds, so sign-ins and changes get in between.
const SETTLE_PAGES: u32 = 500;
/// Enough steps for an index far larger than a million people's (one took 62).
const SETTLE_STEPS: u32 = 10_000;

/// How closely `people_search`'s order on disk must follow the username order (PostgreSQL's
/// `correlation` of the column, 1 when in order) for [`settle`] to leave it: 0.95 is about 3%
/// of the rows out of place (5% gave 0.90 at a million people). A small import into a large
/// table leaves it in order enough, and is not worth rewriting a million rows for.
const IN_ORDER: f64 = 0.95;

/// Puts the search index in the shape that reads fastest, after many people arrived at once
/// (a seeding, an import). Returns the SQLite merge steps that did work (0 on PostgreSQL).
///
/// - SQLite: FTS5 adds each commit's rows as a segment of their own and merges them only
///   level by level, so after 2,000 commits a term's doclist is read from many segments.
///   Merged into one, the median whole-username search at 1,000,000 people took 2.4–2.8 ms
///   instead of 5.6–6.5 (`bench/RESULTS.md`). The merge goes in steps (`'merge'` with a
///   negative page count merges every level, as `'optimize'` does, but a piece at a time)
///   until one does no more work.
/// - PostgreSQL: rows added since `people_search` was last put in username order lie at its
///   end, and once there are enough of them the table is built again in that order beside the
///   one in use and put in its place (`people_search_reorder`, migration 0016). Adding,
///   renaming and deleting people wait while it is built; searches do not. Then both tables
///   are vacuumed: the rows inserted in bulk that wait in the trigram index's pending list,
///   which every search scans in full until autovacuum folds it in, are folded in now, and the
///   new statistics let the planner see the tables' real size. Last, the pieces of a sample
///   of the people's text are counted, to tell which part of a long term is rarest
///   ([`search_pieces`]).
pub async fn settle(db: &Db) -> DomainResult<u32> {
    match db.engine() {
        Engine::Sqlite => merge_sqlite_index(db).await,
        Engine::Postgres => {
            settle_postgres(db).await?;
            Ok(0)
        }
    }
}

async fn merge_sqlite_index(db: &Db) -> DomainResult<u32> {
    let mut conn = db.pool().acquire().await?;
    let merge =
        format!("INSERT INTO users_search (users_search, rank) VALUES ('merge', -{SETTLE_PAGES})");
    for step in 0..SETTLE_STEPS {
        let before: i64 = sqlx::query_scalar("SELECT total_changes()")
            .fetch_one(&mut *conn)
            .await?;
        sqlx::query(&merge).execute(&mut *conn).await?;
        let after: i64 = sqlx::query_scalar("SELECT total_changes()")
            .fetch_one(&mut *conn)
            .await?;
        // FTS5 counts each page it writes as a change: fewer than two, nothing left.
        if after - before < 2 {
            return Ok(step);
        }
    }
    Ok(SETTLE_STEPS)
}

async fn settle_postgres(db: &Db) -> DomainResult<()> {
    sqlx::query("ANALYZE people_search")
        .execute(db.pool())
        .await?;
    let rebuilt = order_on_disk(db)
        .await?
        .is_some_and(|order| order < IN_ORDER);
    if rebuilt {
        sqlx::query("SELECT people_search_reorder()")
            .execute(db.pool())
            .await?;
    }
    // Now rather than when autovacuum comes to it during the next searches: folds the trigram
    // index's pending list in, marks the new rows visible to all (so a search need not look
    // each one's inserting transaction up, and write the page to say so), and counts them
    // where they were not counted just above.
    let search_table = if rebuilt {
        "VACUUM (ANALYZE) people_search"
    } else {
        "VACUUM people_search"
    };
    sqlx::query(search_table).execute(db.pool()).await?;
    sqlx::query("VACUUM (ANALYZE) users")
        .execute(db.pool())
        .await?;
    search_pieces::count(db).await
}

/// How closely `people_search`'s rows on disk follow the username order, by the last
/// `ANALYZE` (none for an empty table).
pub async fn order_on_disk(db: &Db) -> DomainResult<Option<f64>> {
    Ok(sqlx::query_scalar(
        "SELECT correlation::float8 FROM pg_stats WHERE schemaname = current_schema() \
         AND tablename = 'people_search' AND attname = 'username_key'",
    )
    .fetch_optional(db.pool())
    .await?
    .flatten())
}

/// The `LIKE` pattern of a search term, with its wildcards escaped (`ESCAPE '\'`).
fn search_pattern(search: &str) -> String {
    format!("%{}%", escape_like(search))
}

fn escape_like(term: &str) -> String {
    term.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_taken_literally() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }

    /// PostgreSQL folds text as `folded` does, and looks a folded term up in its index.
    #[tokio::test]
    async fn postgres_folds_as_search_does_and_uses_its_index() {
        let Some(test_db) = crate::testing::TestDb::new(Engine::Postgres).await else {
            return;
        };
        let db = &test_db.db;
        let person = crate::store::users::UserRecord {
            id: "folding".into(),
            username: "ada.lovelace".into(),
            display_name: format!("Ada {FOLDED} Lovelace"),
            email: Some("ada+x@example.org".into()),
            active: true,
            external: false,
            flagged: false,
        };
        crate::store::users::insert_many(db, &[person], model::time::Timestamp::now())
            .await
            .unwrap();
        let (text, in_database): (String, String) = sqlx::query_as(
            "SELECT search_text, search_folded FROM people_search WHERE id = 'folding'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert!(text.contains(FOLDED), "{text}");
        assert_eq!(in_database, folded(&text));

        // A one-row table is cheaper to scan: ask for the plan a large one gets.
        let mut conn = db.pool().acquire().await.unwrap();
        sqlx::query("SET enable_seqscan = off")
            .execute(&mut *conn)
            .await
            .unwrap();
        let plan: Vec<String> = sqlx::query_scalar(
            "EXPLAIN SELECT id FROM people_search WHERE search_folded LIKE '%eqe%'",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        drop(conn);
        assert!(
            plan.iter().any(|line| line.contains("people_search_trgm")),
            "{plan:?}"
        );
        test_db.drop_db().await;
    }
}

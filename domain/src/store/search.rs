//! How the Users search finds people at a million rows without reading every one.
//!
//! A term of three or more characters is looked up in a trigram index (FTS5 `trigram` on SQLite,
//! `pg_trgm` on PostgreSQL) for at most [`FEW`] matches. Fewer than that, and the page is cut
//! from them in memory: a rare term costs a few index lookups. As many, and the term is common
//! (at least one row in [`FEW`] of a million matches), so walking the username index in order
//! and testing each row finds a page within a few thousand rows. Either way there is no scan of
//! the whole table, no `OFFSET` and no `COUNT(*)`.
//!
//! One or two characters have too few trigrams to index: they match usernames that start with
//! them, one range of the username index.

use crate::db::{Db, Engine};
use crate::error::DomainResult;

/// Matches a term may have and still be served from the index alone.
const FEW: i64 = 2000;
/// Characters a term needs before it is searched anywhere in the text.
pub const SUBSTRING_FROM: usize = 3;

/// Which rows a term selects, in the form the page query uses.
pub enum Matches {
    /// No term: everyone.
    All,
    /// Usernames starting with the term: `username_key` in `[from, to)`.
    UsernamePrefix { from: String, to: String },
    /// Every match, as `(id, username_key)`: fewer than [`FEW`].
    Few(Vec<(String, String)>),
    /// Too many to list: rows whose `search_text` is `LIKE` the pattern.
    Many(String),
}

/// The same selection as a `WHERE` condition on `users` and its bound values, numbered from
/// `$first`: Bulk Change's "select all matching this search" must select exactly the people
/// the list shows.
pub fn condition(term: &str, first: usize) -> (String, Vec<String>) {
    if term.is_empty() {
        ("1 = 1".into(), Vec::new())
    } else if term.chars().count() < SUBSTRING_FROM {
        (
            format!("username_key >= ${first} AND username_key < ${}", first + 1),
            vec![term.to_owned(), prefix_end(term)],
        )
    } else {
        (
            format!("search_text LIKE ${first} ESCAPE '\\'"),
            vec![search_pattern(term)],
        )
    }
}

/// Above every key that starts with `term`, in byte order (both engines compare
/// `username_key` bytewise).
fn prefix_end(term: &str) -> String {
    format!("{term}{}", char::MAX)
}

/// What `term` (trimmed and lower-cased, as [`model::fields::search`] makes it) selects.
pub async fn matches(db: &Db, term: &str) -> DomainResult<Matches> {
    if term.is_empty() {
        return Ok(Matches::All);
    }
    if term.chars().count() < SUBSTRING_FROM {
        return Ok(Matches::UsernamePrefix {
            from: term.to_owned(),
            to: prefix_end(term),
        });
    }
    let found = match db.engine() {
        Engine::Sqlite => {
            // A phrase of the whole term: consecutive trigrams, which is a substring match.
            let phrase = format!("\"{}\"", term.replace('"', "\"\""));
            sqlx::query_as::<_, (String, String)>(
                "SELECT u.id, u.username_key FROM users_search \
                 JOIN users u ON u.search_key = users_search.rowid \
                 WHERE users_search MATCH $1 LIMIT $2",
            )
            .bind(phrase)
            .bind(FEW)
            .fetch_all(db.pool())
            .await?
        }
        Engine::Postgres => {
            sqlx::query_as::<_, (String, String)>(
                "SELECT id, username_key FROM users WHERE search_text LIKE $1 ESCAPE '\\' \
                 LIMIT $2",
            )
            .bind(search_pattern(term))
            .bind(FEW)
            .fetch_all(db.pool())
            .await?
        }
    };
    if i64::try_from(found.len()).unwrap_or(i64::MAX) < FEW {
        Ok(Matches::Few(found))
    } else {
        Ok(Matches::Many(search_pattern(term)))
    }
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
}

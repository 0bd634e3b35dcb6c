//! Which part of a long search term PostgreSQL's trigram index is asked for.
//!
//! The index finds the rows that hold every trigram of a pattern by decoding each trigram's
//! whole list of rows. A username such as `evelyn.kernighan` has 14 trigrams, each in tens of
//! thousands of rows at a million people (every Evelyn, every Kernighan, every first name
//! ending in "n"), to find about 600. Five characters of it whose trigrams are rarer, where one
//! name meets the other (`ynqke`), find a superset of those 600 for a fraction of the
//! decoding; the whole term, tested on each row found, keeps the answer exact.
//!
//! Which pieces are rare is counted on a sample of `people_search` when the search is settled
//! (migration 0017). Before any settling, the whole term is asked for.

use std::collections::HashMap;

use crate::db::Db;
use crate::error::DomainResult;

/// Characters of the piece asked for instead of a longer term: three trigrams.
const PIECE: i32 = 5;
/// People sampled for the counts: a piece held by one person in a thousand is seen about ten
/// times, and the sample of a million people is counted in about a second.
const SAMPLE: f64 = 10_000.0;
/// How many of the index's entries cost as much to decode as one row found costs to test
/// against the whole term. Chosen by timing 400 usernames, whole and in part, at a million
/// people (`psql`): 40 gave p50 0.32 ms and p99 2.4 ms, 10 gave 0.31 and 2.8, and the whole
/// term every time 1.3 and 5.1.
const ENTRIES_PER_ROW: f64 = 40.0;

/// Counts the pieces of three and of [`PIECE`] characters in a sample of the search table,
/// replacing the last counts. Two instances counting at once take turns.
pub(crate) async fn count(db: &Db) -> DomainResult<()> {
    let people: f64 = sqlx::query_scalar(
        "SELECT reltuples::float8 FROM pg_class WHERE oid = 'people_search'::regclass",
    )
    .fetch_one(db.pool())
    .await?;
    // `reltuples` is -1 before the table was first vacuumed or analysed.
    let percent = if people > SAMPLE {
        100.0 * SAMPLE / people
    } else {
        100.0
    };
    let mut tx = db.begin().await?;
    sqlx::query("LOCK TABLE search_pieces IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM search_pieces")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "WITH sample AS MATERIALIZED (\
             SELECT id, search_folded AS folded FROM people_search \
             TABLESAMPLE BERNOULLI ($1::float4)), \
         held AS (\
             SELECT DISTINCT sample.id, substr(sample.folded, start, size.len) AS piece \
             FROM sample CROSS JOIN (VALUES (3), ($2)) AS size (len) \
             CROSS JOIN generate_series(1, length(sample.folded) - size.len + 1) AS start) \
         INSERT INTO search_pieces (piece, rows) \
         SELECT piece, count(*) FROM held GROUP BY piece \
         UNION ALL SELECT '', count(*) FROM sample",
    )
    .bind(percent)
    .bind(PIECE)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What to ask the trigram index for to find the people whose folded text holds `folded`:
/// `folded` itself, or the [`PIECE`] characters of it that cost least to find and test.
pub(crate) async fn narrowest(db: &Db, folded: &str) -> DomainResult<String> {
    let chars: Vec<char> = folded.chars().collect();
    if chars.len() <= PIECE as usize {
        return Ok(folded.to_owned());
    }
    // The term's pieces are cut here as `count` cut the sample's: by `substr`, in characters.
    // An array, so each is one lookup in the key's index (`piece = '' OR piece IN (…)` read
    // every row, 6 ms at a million people).
    let counts: HashMap<String, i64> = sqlx::query_as(
        "SELECT piece, rows FROM search_pieces WHERE piece = ANY (ARRAY(\
             SELECT '' UNION ALL \
             SELECT substr($1, start, size.len) FROM (VALUES (3), ($2)) AS size (len) \
             CROSS JOIN generate_series(1, length($1) - size.len + 1) AS start))",
    )
    .bind(folded.to_owned())
    .bind(PIECE)
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .collect();
    Ok(choose(&chars, &counts))
}

/// `chars`, or its [`PIECE`] characters that cost least by `counts` (people of the sample
/// holding each piece of three and of [`PIECE`] characters; a piece not there was not seen).
fn choose(chars: &[char], counts: &HashMap<String, i64>) -> String {
    let whole = || chars.iter().collect();
    if counts.get("").is_none_or(|&sampled| sampled == 0) {
        return whole();
    }
    let held_by = |piece: &[char]| {
        let piece: String = piece.iter().collect();
        counts.get(&piece).copied().unwrap_or(0) as f64
    };
    let decoding = |piece: &[char]| piece.windows(3).map(held_by).sum::<f64>() / ENTRIES_PER_ROW;
    let size = PIECE as usize;
    // The whole term finds no more people than its rarest piece does.
    let found_by_whole = chars
        .windows(size)
        .map(held_by)
        .fold(f64::INFINITY, f64::min);
    let mut cheapest = (found_by_whole + decoding(chars), None);
    for piece in chars.windows(size) {
        let cost = held_by(piece) + decoding(piece);
        if cost < cheapest.0 {
            cheapest = (cost, Some(piece));
        }
    }
    cheapest
        .1
        .map_or_else(whole, |piece| piece.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pieces: &[(&str, i64)]) -> HashMap<String, i64> {
        pieces.iter().map(|&(p, n)| (p.to_owned(), n)).collect()
    }

    fn chosen(term: &str, pieces: &[(&str, i64)]) -> String {
        choose(&term.chars().collect::<Vec<_>>(), &counts(pieces))
    }

    #[test]
    fn without_counts_the_whole_term_is_asked_for() {
        assert_eq!(chosen("evelynqkernighan", &[]), "evelynqkernighan");
        assert_eq!(
            chosen("evelynqkernighan", &[("", 0), ("eve", 10)]),
            "evelynqkernighan"
        );
    }

    #[test]
    fn the_piece_where_two_common_names_meet_is_asked_for() {
        // Every trigram of either name is common; where they meet, few people hold all three.
        let mut pieces = vec![("", 10_000)];
        let term = "evelynqkernighan";
        let chars: Vec<char> = term.chars().collect();
        let trigrams: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
        for trigram in &trigrams {
            pieces.push((trigram.as_str(), 250));
        }
        let fives: Vec<String> = chars.windows(5).map(|w| w.iter().collect()).collect();
        for five in &fives {
            pieces.push((five.as_str(), if five == "ynqke" { 6 } else { 250 }));
        }
        assert_eq!(chosen(term, &pieces), "ynqke");
    }

    #[test]
    fn of_the_pieces_no_sampled_person_holds_the_one_with_rarer_trigrams_is_asked_for() {
        let mut pieces = vec![("", 10_000), ("en7", 30), ("n72", 5)];
        for common in ["ada", "daq", "aqa", "qal", "all", "lle", "len", "allen"] {
            pieces.push((common, 300));
        }
        for seen in ["adaqa", "daqal", "aqall", "qalle"] {
            pieces.push((seen, 40));
        }
        // `llen7` and `len72` were not seen; `len72`'s trigrams are the rarer.
        assert_eq!(chosen("adaqallen72", &pieces), "len72");
    }

    #[test]
    fn a_short_term_is_its_own_piece() {
        assert_eq!(chosen("kerni", &[("", 10_000), ("ker", 300)]), "kerni");
    }

    /// A piece shared with people the whole term does not match finds them too; the whole
    /// term, tested on each, leaves them out.
    #[tokio::test]
    async fn a_term_looked_up_by_a_piece_lists_only_its_own_matches() {
        let Some(test_db) = crate::testing::TestDb::new(crate::db::Engine::Postgres).await else {
            return;
        };
        let db = &test_db.db;
        let person = |username: String, display_name: &str| crate::store::users::UserRecord {
            id: username.clone(),
            display_name: display_name.into(),
            email: None,
            username,
            active: true,
            external: false,
            flagged: false,
        };
        let zeds: Vec<_> = (0..30)
            .map(|i| person(format!("zed.kernighan{i}"), "Zed"))
            .chain((0..5).map(|i| person(format!("zed.kerr{i}"), "Zed")))
            .collect();
        crate::store::users::insert_many(db, &zeds, model::time::Timestamp::now())
            .await
            .unwrap();
        assert_eq!(
            narrowest(db, "zedqkernighan").await.unwrap(),
            "zedqkernighan"
        );

        // Other Kernighans make the end of the term commoner than its start, which the five
        // zed.kerr share. Named, not seeded: random names moved the choice from run to run.
        let others: Vec<_> = (0..20)
            .map(|i| person(format!("ann.kernighan{i}"), "Ann"))
            .chain((0..280).map(|i| person(format!("filler{i}"), "Filler")))
            .collect();
        crate::store::users::insert_many(db, &others, model::time::Timestamp::now())
            .await
            .unwrap();
        crate::store::search::settle(db).await.unwrap();
        let sampled: i64 = sqlx::query_scalar("SELECT rows FROM search_pieces WHERE piece = ''")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(sampled, 335, "a small table is counted whole");
        let piece = narrowest(db, "zedqkernighan").await.unwrap();
        assert_eq!(piece.chars().count(), 5, "{piece}");
        assert!(
            piece.starts_with("zed") || piece.starts_with("edq"),
            "{piece}: shared with the five zed.kerr"
        );
        let (page, _) = crate::store::users::list_page(db, "zed.kernighan", None, 100)
            .await
            .unwrap();
        let mut found: Vec<String> = page.into_iter().map(|u| u.username).collect();
        found.sort();
        let mut expected: Vec<String> = (0..30).map(|i| format!("zed.kernighan{i}")).collect();
        expected.sort();
        assert_eq!(found, expected);
        test_db.drop_db().await;
    }
}

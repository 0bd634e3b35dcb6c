//! The Users search at 1,000,000 users: p50 and p99 of a page of results for substrings,
//! usernames typed whole or in part, and terms that match no one, beside a full-scan `LIKE`
//! (what search did before the index) and the bare index query.

use domain::db::Engine;
use domain::{Db, users};
use rand::seq::SliceRandom;
use std::time::{Duration, Instant};

use crate::report::{Figure, Target};
use crate::{PAGE, ms, quantile};

/// Search terms of each kind, drawn from the seeded people.
struct Terms {
    substrings: Vec<String>,
    usernames: Vec<String>,
    nobody: Vec<String>,
}

async fn terms(db: &Db) -> Terms {
    let sample: Vec<(String, String)> = sqlx::query_as(
        "SELECT username_key, search_text FROM users WHERE id IN \
         (SELECT id FROM users ORDER BY id LIMIT 400)",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut rng = rand::thread_rng();
    let mut substrings = Vec::new();
    let mut usernames = Vec::new();
    for (i, (username, text)) in sample.iter().enumerate() {
        // A piece of 3 to 6 characters from anywhere in the name, username or email.
        let chars: Vec<char> = text.chars().collect();
        let len = 3 + i % 4;
        if chars.len() > len {
            let start = (i * 7) % (chars.len() - len);
            let piece: String = chars[start..start + len].iter().collect();
            if !piece.trim().is_empty() {
                substrings.push(piece.trim().to_owned());
            }
        }
        // The whole username, or most of it, as a helpdesk types it.
        let cut = username.len().max(4) * 3 / 4;
        usernames.push(if i % 2 == 0 {
            username.clone()
        } else {
            username.chars().take(cut).collect()
        });
    }
    substrings.retain(|t| t.chars().count() >= 3);
    substrings.shuffle(&mut rng);
    usernames.shuffle(&mut rng);
    let nobody = (0..100).map(|i| format!("zq{i}xv")).collect();
    Terms {
        substrings,
        usernames,
        nobody,
    }
}

async fn searches(db: &Db, terms: &[String]) -> Vec<Duration> {
    let mut times = Vec::with_capacity(terms.len());
    for term in terms {
        let t = Instant::now();
        users::list_page(db, term, None, PAGE).await.unwrap();
        times.push(t.elapsed());
    }
    times
}

/// What search cost before the index: every row read and tested, in username order.
async fn full_scan(db: &Db, terms: &[String]) -> Vec<Duration> {
    let mut times = Vec::new();
    for term in terms {
        let t = Instant::now();
        let _: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM users WHERE search_text LIKE $1 ORDER BY username_key LIMIT $2",
        )
        .bind(format!("%{term}%"))
        .bind(i64::from(PAGE) + 1)
        .fetch_all(db.pool())
        .await
        .unwrap();
        times.push(t.elapsed());
    }
    times
}

/// The index alone: a page's worth of matching ids, unsorted.
async fn bare_index(engine: Engine, db: &Db, terms: &[String]) -> Vec<Duration> {
    let sql = match engine {
        Engine::Sqlite => "SELECT rowid FROM users_search WHERE users_search MATCH $1 LIMIT $2",
        Engine::Postgres => "SELECT 1 FROM users WHERE search_text LIKE $1 LIMIT $2",
    };
    let mut times = Vec::new();
    for term in terms {
        let bound = match engine {
            Engine::Sqlite => format!("\"{term}\""),
            Engine::Postgres => format!("%{term}%"),
        };
        let t = Instant::now();
        let _: Vec<(i64,)> = sqlx::query_as(sql)
            .bind(bound)
            .bind(i64::from(PAGE) + 1)
            .fetch_all(db.pool())
            .await
            .unwrap();
        times.push(t.elapsed());
    }
    times
}

pub async fn run(engine: Engine, db: &Db, figures: &mut Vec<Figure>) {
    let terms = terms(db).await;
    let users_total: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let at = format!("{} users", users_total.0);
    // Warm the caches as a running server's are.
    searches(db, &terms.substrings[..20.min(terms.substrings.len())]).await;

    let mut substring = searches(db, &terms.substrings).await;
    let mut scan = full_scan(db, &terms.substrings[..5]).await;
    let mut bare = bare_index(engine, db, &terms.substrings).await;
    let mut username = searches(db, &terms.usernames).await;
    let mut nobody = searches(db, &terms.nobody).await;
    let mut nobody_scan = full_scan(db, &terms.nobody[..3]).await;

    for (what, quantile_at) in [("p50", 0.5), ("p99", 0.99)] {
        figures.push(
            Figure::new(
                format!("{engine:?}: search a substring (3–6 chars), {what}, {at}"),
                "ms",
                ms(quantile(&mut substring, quantile_at)),
            )
            .against("bare index query", ms(quantile(&mut bare, quantile_at)))
            .target(if what == "p99" {
                Target::AtMost(50.0)
            } else {
                Target::None
            })
            .note(format!(
                "{} terms; a full-scan LIKE takes {:.0} ms (median of 5)",
                substring.len(),
                ms(quantile(&mut scan, 0.5))
            )),
        );
    }
    figures.push(
        Figure::new(
            format!("{engine:?}: search a username, whole or its start, p99, {at}"),
            "ms",
            ms(quantile(&mut username, 0.99)),
        )
        .target(Target::AtMost(5.0))
        .note(format!("{} terms", username.len())),
    );
    figures.push(
        Figure::new(
            format!("{engine:?}: search with no match, p99, {at}"),
            "ms",
            ms(quantile(&mut nobody, 0.99)),
        )
        .against(
            "full-scan LIKE, median of 3",
            ms(quantile(&mut nobody_scan, 0.5)),
        )
        .target(Target::AtMost(50.0))
        .note(format!("{} terms", nobody.len())),
    );
}

//! The Users search at 1,000,000 users: p50 and p99 of a page of results for substrings,
//! usernames typed whole or in part, and terms that match no one, beside a full-scan `LIKE`
//! (what search did before the index) and the bare index query. Each is timed through the
//! HTTP endpoint the console calls as an administrator types (`POST /api/users/list` on the
//! release `latchkey`, session check and JSON included), and in the store alone.

use domain::db::Engine;
use domain::{Db, users};
use rand::seq::SliceRandom;
use std::time::{Duration, Instant};

use crate::report::{Figure, Target};
use crate::{PAGE, ms, quantile, served};

/// Search terms of each kind, drawn from the seeded people.
struct Terms {
    substrings: Vec<String>,
    usernames: Vec<String>,
    nobody: Vec<String>,
}

async fn terms(db: &Db) -> Terms {
    // A random sample: ids are time-ordered, so the first ids are the first people seeded
    // (serials 1 to 400, whose short usernames start a thousand others).
    let sample: Vec<(String, String)> =
        sqlx::query_as("SELECT username_key, search_text FROM users ORDER BY RANDOM() LIMIT 400")
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

/// The five slowest terms in the store, with their times: what a p99 is made of.
fn slowest(terms: &[String], times: &[Duration]) -> String {
    let mut timed: Vec<(&String, &Duration)> = terms.iter().zip(times).collect();
    timed.sort_by(|a, b| b.1.cmp(a.1));
    let listed: Vec<String> = timed
        .iter()
        .take(5)
        .map(|(term, time)| format!("`{term}` {:.0} ms", ms(**time)))
        .collect();
    format!("; slowest in the store: {}", listed.join(", "))
}

/// The same searches as the console makes them, each answer read whole.
async fn served_searches(
    console: &served::Console,
    terms: &[String],
) -> Result<Vec<Duration>, String> {
    let mut times = Vec::with_capacity(terms.len());
    for term in terms {
        let t = Instant::now();
        let (status, body) = console.post("users/list", &[("q", term.as_str())]).await?;
        times.push(t.elapsed());
        if !status.is_success() {
            return Err(format!("searching {term:?} answered {status}: {body}"));
        }
    }
    Ok(times)
}

/// Times of each kind of term through HTTP, on a `latchkey` started on this database.
struct Served {
    substring: Vec<Duration>,
    username: Vec<Duration>,
    nobody: Vec<Duration>,
}

async fn served(db: &Db, database_url: &str, terms: &Terms) -> Result<Served, String> {
    let (_server, console) = served::admin_console(db, database_url, "search-admin").await?;
    // Warm the server's caches and connections as a running server's are.
    served_searches(
        &console,
        &terms.substrings[..20.min(terms.substrings.len())],
    )
    .await?;
    Ok(Served {
        substring: served_searches(&console, &terms.substrings).await?,
        username: served_searches(&console, &terms.usernames).await?,
        nobody: served_searches(&console, &terms.nobody).await?,
    })
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
        Engine::Postgres => "SELECT 1 FROM people_search WHERE search_folded LIKE $1 LIMIT $2",
    };
    let mut times = Vec::new();
    for term in terms {
        let bound = match engine {
            Engine::Sqlite => format!("\"{term}\""),
            Engine::Postgres => format!("%{}%", domain::store::search::folded(term)),
        };
        let t = Instant::now();
        // Planned for each term, as the search's own trigram queries are.
        let _: Vec<(i64,)> = sqlx::query_as(sql)
            .persistent(false)
            .bind(bound)
            .bind(i64::from(PAGE) + 1)
            .fetch_all(db.pool())
            .await
            .unwrap();
        times.push(t.elapsed());
    }
    times
}

pub async fn run(
    engine: Engine,
    db: &Db,
    database_url: &str,
    figures: &mut Vec<Figure>,
    notes: &mut Vec<String>,
) {
    let terms = terms(db).await;
    let users_total: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let at = format!("{} users", users_total.0);
    // Warm the caches as a running server's are.
    searches(db, &terms.substrings[..20.min(terms.substrings.len())]).await;

    let mut substring = searches(db, &terms.substrings).await;
    let slowest = slowest(&terms.substrings, &substring);
    let mut scan = full_scan(db, &terms.substrings[..5]).await;
    let mut bare = bare_index(engine, db, &terms.substrings).await;
    let mut username = searches(db, &terms.usernames).await;
    let mut nobody = searches(db, &terms.nobody).await;
    let mut nobody_scan = full_scan(db, &terms.nobody[..3]).await;
    let mut http = match served(db, database_url, &terms).await {
        Ok(http) => Some(http),
        Err(why) => {
            notes.push(format!(
                "{engine:?}: search through HTTP is missing ({why}); its rows give the store's times."
            ));
            None
        }
    };
    // The endpoint's time when it was measured, else the store's, named as what it is.
    let pick = |store: &mut Vec<Duration>, served: Option<&mut Vec<Duration>>, q: f64| {
        let in_store = ms(quantile(store, q));
        match served {
            Some(times) => (
                ms(quantile(times, q)),
                "through POST /api/users/list",
                format!("; {in_store:.1} ms in the store alone"),
            ),
            None => (in_store, "in the store", String::new()),
        }
    };

    for (what, quantile_at) in [("p50", 0.5), ("p99", 0.99)] {
        let (value, path, store_note) = pick(
            &mut substring,
            http.as_mut().map(|h| &mut h.substring),
            quantile_at,
        );
        figures.push(
            Figure::new(
                format!("{engine:?}: search a substring (3–6 chars), {what}, {at}, {path}"),
                "ms",
                value,
            )
            .against("bare index query", ms(quantile(&mut bare, quantile_at)))
            .target(if what == "p99" {
                Target::AtMost(50.0)
            } else {
                Target::None
            })
            .note(format!(
                "{} terms{store_note}; a full-scan LIKE takes {:.0} ms (median of 5){}",
                substring.len(),
                ms(quantile(&mut scan, 0.5)),
                if what == "p99" { &slowest } else { "" }
            )),
        );
    }
    let (value, path, store_note) =
        pick(&mut username, http.as_mut().map(|h| &mut h.username), 0.99);
    figures.push(
        Figure::new(
            format!("{engine:?}: search a username, whole or its start, p99, {at}, {path}"),
            "ms",
            value,
        )
        .target(Target::AtMost(5.0))
        .note(format!("{} terms{store_note}", username.len())),
    );
    let (value, path, store_note) = pick(&mut nobody, http.as_mut().map(|h| &mut h.nobody), 0.99);
    figures.push(
        Figure::new(
            format!("{engine:?}: search with no match, p99, {at}, {path}"),
            "ms",
            value,
        )
        .against(
            "full-scan LIKE, median of 3",
            ms(quantile(&mut nobody_scan, 0.5)),
        )
        .target(Target::AtMost(50.0))
        .note(format!("{} terms{store_note}", nobody.len())),
    );
}

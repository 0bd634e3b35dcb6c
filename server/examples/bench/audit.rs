//! Management > Audit at 1,000,000 events: p50 and p99 of a page of the trail through the
//! endpoint the page calls (`POST /api/audit/events`), at any depth (as "Older" reaches it),
//! and filtered as an administrator filters it (by person, by who acted, by action, by outcome,
//! by day, and two of those at once), beside the same deep pages read by `OFFSET`.

use domain::Db;
use domain::db::Engine;
use model::audit::AuditPage;
use model::time::Timestamp;
use rand::Rng;
use rand::seq::SliceRandom;
use std::time::{Duration, Instant};

use crate::report::{Figure, Target};
use crate::{PAGE, ms, quantile, served};

const EVENTS: i64 = 1_000_000;
/// The people the seeded events are about: sign-ins and changes spread over them.
const PEOPLE: i64 = 20_000;
const DAYS: i64 = 365;
const DAY_MS: i64 = 86_400_000;
/// Pages read at random depths.
const DEEP_PAGES: usize = 200;

/// A year of events, oldest first, shaped as a working trail is: mostly sign-ins (one in
/// thirteen failed), sign-outs, and administrators' changes; rarely a refused request.
/// Built by the database in one statement (a counter from a recursive query, on both engines).
async fn seed_events(db: &Db, start: Timestamp) {
    let step = DAYS * DAY_MS / EVENTS;
    let sql = format!(
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {EVENTS}) \
         INSERT INTO audit_events (at, actor_id, actor_name, target_id, target_name, action, \
         outcome, ip, detail) \
         SELECT $1 + CAST(n AS BIGINT) * {step}, \
           CASE WHEN n % 20 >= 14 AND n % 20 <= 16 THEN 'admin-' || (n % 5) ELSE 'id-' || (n % {PEOPLE}) END, \
           CASE WHEN n % 20 >= 14 AND n % 20 <= 16 THEN 'admin' || (n % 5) ELSE 'user' || (n % {PEOPLE}) END, \
           'id-' || (n % {PEOPLE}), 'user' || (n % {PEOPLE}), \
           CASE WHEN n % 1000 = 19 THEN 'access.denied' \
                WHEN n % 20 < 12 THEN 'sign_in' WHEN n % 20 < 14 THEN 'sign_out' \
                WHEN n % 20 = 14 THEN 'password.force_reset' WHEN n % 20 = 15 THEN 'password.set' \
                WHEN n % 20 = 16 THEN 'password.reset_link' WHEN n % 20 = 17 THEN 'email.sent' \
                ELSE 'password.change_own' END, \
           CASE WHEN n % 1000 = 19 THEN 'denied' WHEN n % 20 < 12 AND n % 13 = 0 THEN 'failure' \
                ELSE 'success' END, \
           '10.0.' || (n % 200) || '.' || (n % 250), 'seeded' \
         FROM g"
    );
    sqlx::query(&sql)
        .bind(start.millis())
        .execute(db.pool())
        .await
        .unwrap();
    if db.engine() == Engine::Postgres {
        sqlx::query("VACUUM (ANALYZE) audit_events")
            .execute(db.pool())
            .await
            .unwrap();
    }
}

/// `YYYY-MM-DD` of the day `day` days after `start`, as the filter's date fields take it.
fn date(start: Timestamp, day: i64) -> String {
    start.plus_seconds(day * 86_400).to_string()[..10].to_owned()
}

/// One filter as the page's form sends it.
type Fields = Vec<(&'static str, String)>;
/// A kind of filter's times, and its slowest filter.
type Timed = (&'static str, Vec<Duration>, String);

/// The filters timed, each kind with its own list of field sets.
fn filters(start: Timestamp) -> Vec<(&'static str, Vec<Fields>)> {
    let mut rng = rand::thread_rng();
    let person = |rng: &mut rand::rngs::ThreadRng| format!("user{}", rng.gen_range(0..PEOPLE));
    let day = |rng: &mut rand::rngs::ThreadRng| date(start, rng.gen_range(1..DAYS - 1));
    let actions = [
        "sign_in",
        "sign_out",
        "password.force_reset",
        "password.set",
        "password.reset_link",
        "email.sent",
        "password.change_own",
        "access.denied",
        // In the list, never recorded here: an empty answer.
        "template.restored",
        "user.deleted",
    ];
    let mut kinds: Vec<(&'static str, Vec<Fields>)> = vec![
        (
            "a person (Target)",
            (0..100)
                .map(|_| vec![("target", person(&mut rng))])
                .collect(),
        ),
        (
            "who acted (Actor)",
            (0..100)
                .map(|i| {
                    let actor = if i % 4 == 0 {
                        format!("admin{}", i % 5)
                    } else {
                        person(&mut rng)
                    };
                    vec![("actor", actor)]
                })
                .collect(),
        ),
        (
            "an action",
            actions
                .iter()
                .cycle()
                .take(100)
                .map(|a| vec![("action", (*a).to_owned())])
                .collect(),
        ),
        (
            "an outcome",
            ["failure", "denied"]
                .iter()
                .cycle()
                .take(100)
                .map(|o| vec![("outcome", (*o).to_owned())])
                .collect(),
        ),
        (
            "one day",
            (0..100)
                .map(|_| {
                    let d = day(&mut rng);
                    vec![("from", d.clone()), ("to", d)]
                })
                .collect(),
        ),
        (
            "a person and an action",
            (0..100)
                .map(|i| {
                    vec![
                        ("target", person(&mut rng)),
                        ("action", actions[i % 3 + 1].to_owned()),
                    ]
                })
                .collect(),
        ),
        (
            "an action over 90 days",
            (0..100)
                .map(|i| {
                    let first = rng.gen_range(1..DAYS - 91);
                    vec![
                        ("action", actions[i % actions.len()].to_owned()),
                        ("from", date(start, first)),
                        ("to", date(start, first + 90)),
                    ]
                })
                .collect(),
        ),
        (
            "an action on one day",
            (0..100)
                .map(|i| {
                    let d = day(&mut rng);
                    vec![
                        ("action", actions[i % actions.len()].to_owned()),
                        ("from", d.clone()),
                        ("to", d),
                    ]
                })
                .collect(),
        ),
    ];
    for (_, sets) in &mut kinds {
        sets.shuffle(&mut rng);
    }
    kinds
}

async fn page(
    console: &served::Console,
    fields: &[(&str, String)],
) -> Result<(Duration, AuditPage), String> {
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let t = Instant::now();
    let (status, body) = console.post("audit/events", &borrowed).await?;
    let took = t.elapsed();
    if !status.is_success() {
        return Err(format!("audit/events {fields:?} answered {status}: {body}"));
    }
    let page: AuditPage = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    Ok((took, page))
}

/// Pages at every depth of the trail, as "Older" reaches them: each continues from a random
/// event (the `before` of a page that far down).
async fn deep_pages(console: &served::Console, depths: &[i64]) -> Result<Vec<Duration>, String> {
    let mut times = Vec::with_capacity(depths.len());
    for before in depths {
        let (took, page) = page(console, &[("before", before.to_string())]).await?;
        if page.entries.len() != PAGE as usize {
            return Err(format!(
                "the page before {before} held {}",
                page.entries.len()
            ));
        }
        times.push(took);
    }
    Ok(times)
}

/// The same pages read by `OFFSET`, the way paging is often written: each page reads and
/// throws away every newer event first.
async fn offset_pages(db: &Db, depths: &[i64]) -> Vec<Duration> {
    let newest: i64 = sqlx::query_scalar("SELECT MAX(id) FROM audit_events")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let mut times = Vec::new();
    for before in depths {
        let t = Instant::now();
        let _: Vec<(i64,)> =
            sqlx::query_as("SELECT id FROM audit_events ORDER BY id DESC LIMIT $1 OFFSET $2")
                .bind(i64::from(PAGE) + 1)
                .bind(newest + 1 - before)
                .fetch_all(db.pool())
                .await
                .unwrap();
        times.push(t.elapsed());
    }
    times
}

async fn served(
    db: &Db,
    database_url: &str,
    start: Timestamp,
    depths: &[i64],
) -> Result<(Vec<Duration>, Vec<Timed>), String> {
    let (_server, console) = served::admin_console(db, database_url, "audit-admin").await?;
    // Warm the server's caches and connections as a running server's are.
    for _ in 0..20 {
        page(&console, &[]).await?;
    }
    let deep = deep_pages(&console, depths).await?;
    let mut kinds = Vec::new();
    for (kind, sets) in filters(start) {
        let mut times = Vec::with_capacity(sets.len());
        let mut slowest = (Duration::ZERO, String::new());
        for fields in &sets {
            let (took, _) = page(&console, fields).await?;
            if took > slowest.0 {
                slowest = (took, format!("{fields:?}"));
            }
            times.push(took);
        }
        kinds.push((kind, times, slowest.1));
    }
    Ok((deep, kinds))
}

pub async fn run(
    engine: Engine,
    db: &Db,
    database_url: &str,
    figures: &mut Vec<Figure>,
    notes: &mut Vec<String>,
) {
    let start = Timestamp(Timestamp::now().millis() - DAYS * DAY_MS);
    let seeding = Instant::now();
    seed_events(db, start).await;
    notes.push(format!(
        "{engine:?}: seeding {EVENTS} audit events took {:.1} s (the audit run).",
        seeding.elapsed().as_secs_f64()
    ));
    let mut rng = rand::thread_rng();
    let depths: Vec<i64> = (0..DEEP_PAGES)
        .map(|_| rng.gen_range(i64::from(PAGE) * 2..EVENTS))
        .collect();
    let mut offset = offset_pages(db, &depths[..DEEP_PAGES / 10]).await;
    let (mut deep, kinds) = match served(db, database_url, start, &depths).await {
        Ok(times) => times,
        Err(why) => {
            notes.push(format!("{engine:?}: the audit figures are missing: {why}."));
            return;
        }
    };
    let at = format!("{EVENTS} events, through POST /api/audit/events");
    figures.push(
        Figure::new(
            format!("{engine:?}: Audit, a page at any depth, p99, {at}"),
            "ms",
            ms(quantile(&mut deep, 0.99)),
        )
        .against(
            format!(
                "the slowest of {} of those pages by OFFSET, in the store",
                offset.len()
            ),
            ms(quantile(&mut offset, 1.0)),
        )
        .target(Target::AtMost(50.0))
        .note(format!(
            "{} pages, each continuing from a random event; p50 {:.1} ms",
            deep.len(),
            ms(quantile(&mut deep, 0.5))
        )),
    );
    for (kind, mut times, slowest) in kinds {
        figures.push(
            Figure::new(
                format!("{engine:?}: Audit filtered by {kind}, p99, {at}"),
                "ms",
                ms(quantile(&mut times, 0.99)),
            )
            .target(Target::AtMost(50.0))
            .note(format!(
                "{} filters; p50 {:.1} ms; slowest {slowest}",
                times.len(),
                ms(quantile(&mut times, 0.5))
            )),
        );
    }
}

//! Demo data: realistic users in bulk, for demos and benchmarks.
//!
//! Seeded accounts get no password (nobody can sign in as them until an administrator sets
//! one), so seeding a demo never creates accounts with a known password.

use model::time::Timestamp;
use rand::Rng;
use rand::seq::SliceRandom;

use crate::db::Db;
use crate::error::DomainResult;
use crate::store;
use crate::users::{self, UserRecord};

const FIRST: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Katherine",
    "John",
    "Hedy",
    "Donald",
    "Sophie",
    "Niklaus",
    "Joan",
    "Brian",
    "Anita",
    "Bjarne",
    "Shafi",
    "Guido",
    "Lynn",
    "Leslie",
    "Mary",
    "Vint",
    "Karen",
    "Whitfield",
    "Annie",
    "Robin",
    "Jean",
    "Yukihiro",
    "Evelyn",
    "Rasmus",
    "Carol",
    "James",
    "Ida",
    "Fernando",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Johnson",
    "McCarthy",
    "Lamarr",
    "Knuth",
    "Wilson",
    "Wirth",
    "Clarke",
    "Kernighan",
    "Borg",
    "Stroustrup",
    "Goldwasser",
    "van Rossum",
    "Conway",
    "Lamport",
    "Keller",
    "Cerf",
    "Jones",
    "Diffie",
    "Easley",
    "Milner",
    "Sammet",
    "Matsumoto",
    "Berezin",
    "Lerdorf",
    "Shaw",
    "Gosling",
    "Rhodes",
    "Corbato",
];
const DOMAINS: &[&str] = &["example.com", "example.org", "corp.example.net"];

/// Rows per INSERT: about 6,000 bound values, well under both engines' limits.
const BATCH: usize = 500;

fn make_user(rng: &mut impl Rng, serial: u64) -> UserRecord {
    let first = FIRST.choose(rng).copied().unwrap_or("Ada");
    let last = LAST.choose(rng).copied().unwrap_or("Lovelace");
    let username = format!(
        "{}.{}{serial}",
        first.to_lowercase(),
        last.to_lowercase().replace([' ', '-'], "")
    );
    let roll: u32 = rng.gen_range(0..100);
    // Every 20th user is active and local with no email address: the person Copy link and
    // temporary passwords are for is in every demo set, however small.
    let phone_only = serial % 20 == 7;
    UserRecord {
        id: crate::store::row_id::new(),
        email: (roll != 0 && !phone_only).then(|| {
            format!(
                "{username}@{}",
                DOMAINS.choose(rng).copied().unwrap_or("example.com")
            )
        }),
        display_name: format!("{first} {last}"),
        username,
        active: roll >= 5 || phone_only,
        external: (5..8).contains(&roll) && !phone_only,
        flagged: (8..10).contains(&roll) && !phone_only,
    }
}

/// Inserts `count` users and returns how many went in (a clash with an existing username is
/// skipped, not an error).
pub async fn seed_users(db: &Db, count: u64) -> DomainResult<u64> {
    let mut rng = rand::thread_rng();
    // Numbering continues after the users already there, so a second seeding adds new names.
    let base = users::count(db).await? + 1;
    let now = Timestamp::now();
    let mut inserted = 0;
    let mut serial = 0;
    while serial < count {
        let n = usize::try_from((count - serial).min(BATCH as u64)).unwrap_or(BATCH);
        let batch: Vec<UserRecord> = (0..n)
            .map(|i| make_user(&mut rng, base + serial + i as u64))
            .collect();
        serial += n as u64;
        inserted += users::insert_many(db, &batch, now).await?;
    }
    store::search::settle(db).await?;
    Ok(inserted)
}

//! Sign-in throughput against raw argon2 on the same cores, what a Users page costs while
//! sign-ins keep every hasher busy. (Their memory is measured on the server process, in
//! `served`.)

use argon2::{Algorithm, Argon2, Block, Version};
use domain::sessions::ClientInfo;
use domain::{Db, Password, Services, users};
use std::time::{Duration, Instant};

use crate::report::{Figure, Target};
use crate::{PAGE, ms, quantile};

const PASSWORD: &str = "correct horse battery staple";
/// Ten a client: 400 took about 3 s, and the storm's start and end (every client at once, the
/// last turned-away clients waiting out their Retry-After) moved the ratio by several points.
const SIGN_INS: usize = 2000;
const CLIENTS: usize = 200;
/// Users pages timed idle before the storm.
const IDLE_LOADS: usize = 300;

/// Hashes per second with the server's parameters, one thread per core and nothing else, each
/// thread hashing into one buffer it keeps, as the server's hashing threads do (allocating the
/// 19 MiB for every hash was slower than the server on some machines: no limit at all).
fn raw_argon2(total: usize) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..cores {
            scope.spawn(|| {
                let params = domain::hashing::params();
                let mut memory = vec![Block::default(); params.block_count()];
                let mut out = vec![0u8; params.output_len().unwrap_or(32)];
                let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
                for _ in 0..total / cores {
                    let salt: [u8; 16] = rand::random();
                    argon2
                        .hash_password_into_with_memory(
                            PASSWORD.as_bytes(),
                            &salt,
                            &mut out,
                            &mut memory,
                        )
                        .unwrap();
                }
            });
        }
    });
    (total / cores * cores) as f64 / started.elapsed().as_secs_f64()
}

async fn people(services: &Services) -> Vec<String> {
    let digest = services
        .hasher
        .hash(&Password::new(PASSWORD))
        .await
        .unwrap();
    let mut names = Vec::new();
    for i in 0..CLIENTS {
        let name = format!("signin-bench-{i}");
        let new = users::NewUser::new(&name, &name, "", model::Role::User).unwrap();
        let mut tx = services.db.begin().await.unwrap();
        users::insert(&mut tx, &new, Some(&digest), model::time::Timestamp::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        names.push(name);
    }
    names
}

pub async fn run(db: &Db, figures: &mut Vec<Figure>) {
    let services = Services::new(
        db.clone(),
        domain::Hasher::for_this_machine().unwrap(),
        "http://bench",
        domain::Keyring::ephemeral(),
    );
    let names = people(&services).await;
    let reference = tokio::task::spawn_blocking(|| raw_argon2(SIGN_INS))
        .await
        .unwrap();

    // As many as the storm's loads, or about: the p99 of 100 was their second slowest, and
    // moved the ratio severalfold run to run.
    let mut idle = Vec::new();
    for _ in 0..IDLE_LOADS {
        let t = Instant::now();
        users::list_page(db, "", None, PAGE).await.unwrap();
        idle.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let services = services.clone();
            let name = names[i].clone();
            tokio::spawn(async move {
                let client = ClientInfo {
                    ip: None,
                    user_agent: None,
                };
                let mut turned_away = 0;
                let mut done = 0;
                while done < SIGN_INS / CLIENTS {
                    // Past the hasher's queue a sign-in is turned away: a client waits the
                    // Retry-After it was given and tries again.
                    match domain::auth::sign_in(&services, &name, &Password::new(PASSWORD), &client)
                        .await
                    {
                        Ok(_) => done += 1,
                        Err(domain::DomainError::Busy { retry_after_secs }) => {
                            turned_away += 1;
                            tokio::time::sleep(Duration::from_secs(retry_after_secs)).await;
                        }
                        Err(e) => panic!("sign-in failed: {e}"),
                    }
                }
                turned_away
            })
        })
        .collect();
    let mut during = Vec::new();
    while clients.iter().any(|c| !c.is_finished()) {
        let t = Instant::now();
        users::list_page(db, "", None, PAGE).await.unwrap();
        during.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took = started.elapsed();
    let mut turned_away = 0;
    for client in clients {
        turned_away += client.await.unwrap();
    }

    let rate = SIGN_INS as f64 / took.as_secs_f64();
    figures.push(
        Figure::new("Sign-ins per second (SQLite)", "/s", rate)
            .against("raw argon2id, one thread a core", reference)
            .target(Target::RatioAtLeast(0.9))
            .note(format!(
                "{SIGN_INS} sign-ins from {CLIENTS} concurrent clients; {turned_away} turned \
                 away with 503 + Retry-After past the hasher's queue, and retried"
            )),
    );
    figures.push(
        Figure::new(
            "Users page p99 while sign-ins saturate the hashers",
            "ms",
            ms(quantile(&mut during, 0.99)),
        )
        .against("Users page p99 idle", ms(quantile(&mut idle, 0.99)))
        .target(Target::RatioAtMost(2.0))
        .note(format!(
            "{} loads during, {} idle",
            during.len(),
            idle.len()
        )),
    );
}

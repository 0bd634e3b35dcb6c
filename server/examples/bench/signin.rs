//! Sign-in throughput against raw argon2 on the same cores, what a Users page costs while
//! sign-ins keep every hasher busy, and the memory those sign-ins take.

use argon2::password_hash::SaltString;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
use domain::sessions::ClientInfo;
use domain::{Db, Password, Services, users};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::report::{Figure, Target};
use crate::{PAGE, ms, quantile};

const PASSWORD: &str = "correct horse battery staple";
const SIGN_INS: usize = 400;
const CLIENTS: usize = 200;

/// Hashes per second with OWASP's parameters, one thread per core and nothing else.
fn raw_argon2(total: usize) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..cores {
            scope.spawn(|| {
                let params = Params::new(19_456, 2, 1, None).unwrap();
                let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
                for _ in 0..total / cores {
                    let salt = SaltString::generate(&mut rand::thread_rng());
                    argon2.hash_password(PASSWORD.as_bytes(), &salt).unwrap();
                }
            });
        }
    });
    (total / cores * cores) as f64 / started.elapsed().as_secs_f64()
}

/// Resident memory of this process, in MiB.
pub fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
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
    let reference = tokio::task::spawn_blocking(|| raw_argon2(64))
        .await
        .unwrap();

    let mut idle = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        users::list_page(db, "", None, PAGE).await.unwrap();
        idle.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let before = rss_mib();
    let peak = Arc::new(AtomicU64::new(before.to_bits()));
    let busy = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, busy) = (peak.clone(), busy.clone());
        tokio::spawn(async move {
            while busy.load(Ordering::Relaxed) {
                let now = rss_mib();
                if now > f64::from_bits(peak.load(Ordering::Relaxed)) {
                    peak.store(now.to_bits(), Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
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
    busy.store(false, Ordering::Relaxed);
    sampler.await.unwrap();
    let peak = f64::from_bits(peak.load(Ordering::Relaxed));
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = rss_mib();

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
        .note(format!("{} loads during", during.len())),
    );
    // As `Hasher::for_this_machine` sizes it.
    let permits = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2) as f64;
    let budget = 1.2 * permits * 19_456.0 / 1024.0;
    figures.push(
        Figure::new(
            "Peak extra memory under 200 concurrent sign-ins",
            "MiB",
            peak - before,
        )
        .target(Target::AtMost(budget))
        .note(format!(
            "target 1.2 × {permits} permits × 19 MiB; {before:.0} MiB before, {after:.0} MiB \
             5 s after"
        )),
    );
}

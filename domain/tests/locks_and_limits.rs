//! Failed sign-ins: locks that grow, the last administrator who stays reachable, and the rate
//! limits every instance shares. Both engines.

mod common;

use common::*;
use domain::auth::{self, LAST_ADMINISTRATOR_THRESHOLD};
use domain::sessions::ClientInfo;
use domain::throttle::Gate;
use domain::{Db, DomainError, Password, Services, both_engines, passwords, resets, users};
use model::time::Timestamp;
use model::user::{Role, UserId};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

fn from(ip: &str) -> ClientInfo {
    ClientInfo {
        ip: Some(ip.into()),
        user_agent: None,
    }
}

/// `n` wrong passwords for `username`, each from its own address and with the per-minute
/// counters cleared as they fill, as a slow guesser's would be: only the account's lock is in
/// play.
async fn guess(s: &Services, username: &str, n: i64, round: &str) {
    for i in 0..n {
        if i % 20 == 19 {
            sqlx::query("DELETE FROM rate_limits")
                .execute(s.db.pool())
                .await
                .unwrap();
        }
        let ip = format!("198.51.100.{}", (i % 250) + 1);
        let _ = auth::sign_in(
            s,
            username,
            &Password::new(format!("wrong {round} {i}")),
            &from(&ip),
        )
        .await;
    }
}

/// How long the account's current lock runs from now, in whole minutes.
async fn lock_minutes(s: &Services, id: &UserId) -> Option<i64> {
    let user = users::get(s.db.pool(), id).await.unwrap().unwrap();
    let now = Timestamp::now();
    user.locked_until
        .filter(|until| *until > now)
        .map(|until| (until.millis() - now.millis() + 30_000) / 60_000)
}

/// Ends the current lock as if its time had run out.
async fn expire_lock(s: &Services, id: &UserId) {
    sqlx::query("UPDATE users SET locked_until = $2 WHERE id = $1")
        .bind(&id.0)
        .bind(Timestamp::now().millis() - 1)
        .execute(s.db.pool())
        .await
        .unwrap();
}

both_engines!(each_lock_in_a_row_lasts_longer, |db: Db| async move {
    let s = services(db);
    create(&s, "root", Role::Administrator).await;
    create(&s, "other", Role::Administrator).await;
    let ada = create(&s, "ada", Role::User).await;
    guess(&s, "ada", lock_threshold(), "a").await;
    assert_eq!(lock_minutes(&s, &ada).await, Some(15));
    expire_lock(&s, &ada).await;
    // After a lock, one more failure locks again, for longer.
    guess(&s, "ada", 1, "b").await;
    assert_eq!(lock_minutes(&s, &ada).await, Some(60));
    expire_lock(&s, &ada).await;
    guess(&s, "ada", 1, "c").await;
    assert_eq!(lock_minutes(&s, &ada).await, Some(240));
    expire_lock(&s, &ada).await;
    guess(&s, "ada", 1, "d").await;
    assert_eq!(
        lock_minutes(&s, &ada).await,
        Some(240),
        "four hours at most"
    );
    // Failures while locked are refused without counting towards a longer lock.
    guess(&s, "ada", 3, "e").await;
    assert_eq!(lock_minutes(&s, &ada).await, Some(240));

    // Reset (seed 004) releases it and starts the ladder again.
    let root = actor(&s, "admin2", Role::Administrator).await;
    passwords::unlock(&s, &root, &ada).await.unwrap();
    assert!(signs_in(&s, "ada", OLD).await.is_some());
    guess(&s, "ada", lock_threshold(), "f").await;
    assert_eq!(lock_minutes(&s, &ada).await, Some(15));
});

both_engines!(a_completed_reset_releases_the_lock, |db: Db| async move {
    let s = services(db);
    let root = actor(&s, "root", Role::Administrator).await;
    let ada = create(&s, "ada", Role::User).await;
    guess(&s, "ada", lock_threshold(), "a").await;
    assert!(lock_minutes(&s, &ada).await.is_some());
    let new = Password::new(NEW);
    passwords::set_password(&s, &root, &ada, &new, &new, passwords::AfterSet::Keep)
        .await
        .unwrap();
    assert_eq!(lock_minutes(&s, &ada).await, None);
    assert!(signs_in(&s, "ada", NEW).await.is_some());
});

both_engines!(
    force_password_reset_releases_the_lock,
    |db: Db| async move {
        let s = services(db);
        let root = actor(&s, "root", Role::Administrator).await;
        let ada = create(&s, "ada", Role::User).await;
        guess(&s, "ada", lock_threshold(), "a").await;
        assert!(lock_minutes(&s, &ada).await.is_some());
        passwords::force_reset(&s, &root, &ada).await.unwrap();
        assert_eq!(lock_minutes(&s, &ada).await, None);
        let user = users::get(s.db.pool(), &ada).await.unwrap().unwrap();
        assert!(user.must_change_password);
        // The old password opens the change page, and the ladder starts again.
        assert_eq!(
            signs_in(&s, "ada", OLD).await,
            Some(domain::sessions::Purpose::PasswordChange)
        );
        guess(&s, "ada", lock_threshold(), "b").await;
        assert_eq!(lock_minutes(&s, &ada).await, Some(15));
    }
);

both_engines!(
    a_lock_never_blocks_forgot_your_password,
    |db: Db| async move {
        let s = services(db);
        let ada = create(&s, "ada", Role::User).await;
        guess(&s, "ada", lock_threshold(), "a").await;
        assert!(lock_minutes(&s, &ada).await.is_some());
        resets::handle_request(&s, "ada", &client()).await.unwrap();
        let status = resets::status(&s.db, &ada).await.unwrap().unwrap();
        assert!(status.is_outstanding(Timestamp::now()));
    }
);

both_engines!(
    the_last_administrator_is_not_locked_by_a_handful_of_guesses,
    |db: Db| async move {
        let s = services(db);
        let root = create(&s, "root", Role::Administrator).await;
        guess(&s, "root", lock_threshold() * 4, "a").await;
        assert_eq!(lock_minutes(&s, &root).await, None);
        assert!(signs_in(&s, "root", OLD).await.is_some());
        // Never more than a hundred failures without a lock.
        guess(&s, "root", LAST_ADMINISTRATOR_THRESHOLD, "b").await;
        assert_eq!(lock_minutes(&s, &root).await, Some(15));
    }
);

both_engines!(
    an_address_that_keeps_failing_is_stopped_before_the_accounts_it_tries,
    |db: Db| async move {
        let s = services(db);
        let (limit, _) = Gate::FailuresFromAddress.limit();
        let names: Vec<String> = (0..limit).map(|i| format!("user{i}")).collect();
        // One wrong password each for many accounts (real and not) from one address.
        for (i, name) in names.iter().enumerate() {
            if i % 2 == 0 {
                create(&s, name, Role::User).await;
            }
            let _ = auth::sign_in(&s, name, &Password::new("guess"), &from("203.0.113.9")).await;
        }
        create(&s, "ada", Role::User).await;
        let refused = auth::sign_in(&s, "ada", &Password::new(OLD), &from("203.0.113.9")).await;
        let Err(DomainError::RateLimited { retry_after_secs }) = refused else {
            panic!("expected a rate limit, got {:?}", refused.map(|_| ()));
        };
        assert!((1..=15 * 60).contains(&retry_after_secs));
        // Another address is not affected, and the account is not locked.
        assert!(
            auth::sign_in(&s, "ada", &Password::new(OLD), &from("203.0.113.10"))
                .await
                .is_ok()
        );
    }
);

both_engines!(
    a_limited_name_answers_alike_whether_or_not_it_exists,
    |db: Db| async move {
        let s = services(db);
        create(&s, "ada", Role::User).await;
        let (limit, _) = Gate::ForgotForAccount.limit();
        for name in ["ada", "nobody-by-this-name"] {
            for i in 0..limit {
                let ip = format!("198.51.100.{}", i + 1);
                resets::request_by_user(&s, name, &from(&ip)).await.unwrap();
            }
            let refused = resets::request_by_user(&s, name, &from("198.51.100.200")).await;
            assert!(
                matches!(refused, Err(DomainError::RateLimited { .. })),
                "{name}: {refused:?}"
            );
        }
        // Nothing about the names is kept in the clear.
        let buckets: Vec<(String,)> = sqlx::query_as("SELECT bucket FROM rate_limits")
            .fetch_all(s.db.pool())
            .await
            .unwrap();
        assert!(!buckets.is_empty());
        assert!(
            buckets
                .iter()
                .all(|(b,)| !b.contains("ada") && !b.contains("nobody"))
        );
    }
);

/// Failed sign-ins in a row that lock an account under the default policy.
fn lock_threshold() -> i64 {
    model::settings::SecuritySettings::default().lock_threshold
}

both_engines!(
    gates_counted_in_one_write_keep_their_own_windows,
    |db: Db| async move {
        use domain::store::limits;
        let t0 = Timestamp::now();
        let later = |seconds: i64| Timestamp(t0.millis() + seconds * 1000);
        // Named out of bucket order: the counts still come back in the order asked.
        let buckets = vec![
            ("z:minute".to_owned(), 60_000),
            ("a:quarter".to_owned(), 900_000),
        ];
        let first = limits::hit_all(&db, &buckets, t0).await.unwrap();
        assert_eq!((first[0].hits, first[1].hits), (1, 1));
        let second = limits::hit_all(&db, &buckets, later(30)).await.unwrap();
        assert_eq!((second[0].hits, second[1].hits), (2, 2));
        // A minute on, the minute's window starts again; the quarter's goes on.
        let third = limits::hit_all(&db, &buckets, later(61)).await.unwrap();
        assert_eq!((third[0].hits, third[0].window_start), (1, later(61)));
        assert_eq!((third[1].hits, third[1].window_start), (3, t0));
        // One bucket alone is counted as before.
        let alone = limits::hit(&db, "a:quarter", 900_000, later(62))
            .await
            .unwrap();
        assert_eq!(alone.hits, 4);
    }
);

both_engines!(
    gates_passed_together_refuse_with_the_longest_wait_and_all_count,
    |db: Db| async move {
        use domain::throttle;
        let (per_account, _) = Gate::SignInToAccount.limit();
        for i in 0..per_account {
            let ip = format!("192.0.2.{}", i + 1);
            let gates = [
                (Gate::SignInFromAddress, Some(ip.as_str())),
                (Gate::SignInToAccount, Some("ada")),
            ];
            throttle::admit_all(&db, &gates).await.unwrap();
        }
        let fresh = [
            (Gate::SignInFromAddress, Some("192.0.2.200")),
            (Gate::SignInToAccount, Some("ada")),
        ];
        let Err(DomainError::RateLimited { retry_after_secs }) =
            throttle::admit_all(&db, &fresh).await
        else {
            panic!("the account's allowance is spent");
        };
        assert!((1..=60).contains(&retry_after_secs), "{retry_after_secs}");
        // The refused request still counted at the address: it is limited by what it asked.
        let (per_address, _) = Gate::SignInFromAddress.limit();
        for _ in 1..per_address {
            let only_address = [(Gate::SignInFromAddress, Some("192.0.2.200"))];
            throttle::admit_all(&db, &only_address).await.unwrap();
        }
        assert!(
            throttle::admit(&db, Gate::SignInFromAddress, Some("192.0.2.200"))
                .await
                .is_err()
        );
        // With a quarter-hour gate spent too, the wait is the quarter hour's.
        let (per_name, _) = Gate::ForgotForAccount.limit();
        for _ in 0..per_name {
            throttle::admit(&db, Gate::ForgotForAccount, Some("ada"))
                .await
                .unwrap();
        }
        let both = [
            (Gate::SignInToAccount, Some("ada")),
            (Gate::ForgotForAccount, Some("ada")),
            (Gate::SignInFromAddress, None),
        ];
        let Err(DomainError::RateLimited { retry_after_secs }) =
            throttle::admit_all(&db, &both).await
        else {
            panic!("both allowances are spent");
        };
        assert!(retry_after_secs > 60, "{retry_after_secs}");
    }
);

/// More checks than a one-thread hasher has room for.
const STORM: usize = 1 + domain::hashing::QUEUE_PER_THREAD + 8;

/// One check of a wrong password, counted in `tried` once it has asked for its place in the
/// hashers' queue (its first poll), before it waits for its turn.
async fn one_check(hasher: domain::Hasher, tried: Arc<AtomicUsize>) -> Result<bool, DomainError> {
    let password = Password::new(OLD);
    let mut check = Box::pin(hasher.verify(&password, None));
    let first = std::future::poll_fn(|cx| Poll::Ready(check.as_mut().poll(cx))).await;
    tried.fetch_add(1, Ordering::SeqCst);
    match first {
        Poll::Ready(answer) => answer,
        Poll::Pending => check.await,
    }
}

both_engines!(
    a_sign_in_the_hashers_have_no_room_for_writes_nothing,
    |db: Db| async move {
        let s = Services::new(
            db,
            domain::Hasher::new(1).unwrap(),
            "https://latchkey.example.com",
            domain::Keyring::ephemeral(),
        );
        create(&s, "ada", Role::User).await;
        let counters = || async {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM rate_limits")
                .fetch_one(s.db.pool())
                .await
                .unwrap();
            n
        };
        // A hash finishing frees a place at any moment: try until a sign-in meets a full queue.
        let mut turned_away = false;
        for attempt in 0..20 {
            let tried = Arc::new(AtomicUsize::new(0));
            let storm: Vec<_> = (0..STORM)
                .map(|_| tokio::spawn(one_check(s.hasher.clone(), tried.clone())))
                .collect();
            // Once every check has asked for its place, none takes one the sign-in was
            // counted for: a sign-in turned away now was turned away before counting.
            while tried.load(Ordering::SeqCst) < STORM {
                tokio::task::yield_now().await;
            }
            if s.hasher.ensure_room().is_err() {
                let before = counters().await;
                let ip = format!("198.51.100.{}", attempt + 1);
                let answer = auth::sign_in(&s, "ada", &Password::new(OLD), &from(&ip)).await;
                if let Err(DomainError::Busy { retry_after_secs }) = answer {
                    assert_eq!(retry_after_secs, domain::hashing::BUSY_RETRY_SECS);
                    assert_eq!(counters().await, before, "a turned-away sign-in counted");
                    turned_away = true;
                }
            }
            for check in storm {
                let _ = check.await.unwrap();
            }
            if turned_away {
                break;
            }
        }
        assert!(turned_away, "the queue was never full when a sign-in came");
        // With room again, the same sign-in goes through and is counted.
        assert!(signs_in(&s, "ada", OLD).await.is_some());
        assert!(counters().await > 0);
    }
);

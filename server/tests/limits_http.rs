//! Rate limits at the HTTP surface: 429 with `Retry-After`, the same for a name that exists
//! and one that does not.

mod support;

use domain::both_engines;
use domain::db::Db;
use domain::throttle::Gate;
use model::user::Role;
use support::TestServer;

both_engines!(
    too_many_sign_ins_for_one_name_answer_429_with_retry_after,
    |db: Db| async move {
        let server = TestServer::start(db).await;
        server.create_user("ada", Role::User).await;
        let (limit, window) = Gate::SignInToAccount.limit();
        for name in ["ada", "nobody-here"] {
            // Every call comes from 127.0.0.1: start each name with that address's count clear.
            sqlx::query("DELETE FROM rate_limits")
                .execute(server.db().pool())
                .await
                .unwrap();
            let browser = server.browser();
            for _ in 0..limit {
                let response = browser
                    .call("login", &[("username", name), ("password", "not it")])
                    .await;
                assert_eq!(response.status(), 401);
            }
            let response = browser
                .call("login", &[("username", name), ("password", "not it")])
                .await;
            assert_eq!(response.status(), 429, "{name}");
            let retry: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=window as u64).contains(&retry), "{retry}");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["RateLimited"]["retry_after"], retry, "{body}");
        }
    }
);

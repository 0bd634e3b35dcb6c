// Each test binary uses a different part of this module.
#![allow(dead_code)]
//! An in-process `latchkey` on a random loopback port, over a throwaway database, and a client
//! that talks to it the way a browser's server-function calls do.

use app::server::{AppState, WebConfig};
use domain::db::Db;
use domain::email_config::{self, EmailEnv};
use domain::mail::{MailConfig, Mailer, RetryPolicy};
use domain::smtp_sink::SmtpSink;
use domain::users::{self, NewUser};
use domain::{Hasher, Password, Services};
use leptos::config::LeptosOptions;
use model::time::Timestamp;
use model::user::{Role, UserId};
use reqwest::{Client, Response};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

pub const PASSWORD: &str = "correct horse battery staple";

fn hasher() -> Hasher {
    static HASHER: OnceLock<Hasher> = OnceLock::new();
    HASHER.get_or_init(|| Hasher::new(4).unwrap()).clone()
}

pub struct TestServer {
    pub url: String,
    pub state: AppState,
    /// The SMTP server on loopback the server's mailer delivers to.
    pub sink: SmtpSink,
}

impl TestServer {
    pub async fn start(db: Db) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sink = SmtpSink::start().await;
        let mut services = Services::new(db, hasher(), &url, domain::Keyring::ephemeral());
        services.email = email_config::Live::new(EmailEnv::loopback_smtp(sink.port));
        let state = AppState {
            leptos_options: LeptosOptions::builder().output_name("latchkey").build(),
            services,
            web: Arc::new(WebConfig::new(&url)),
        };
        let mail = MailConfig {
            retry: RetryPolicy::default(),
            poll: std::time::Duration::from_millis(200),
        };
        Mailer::new(&state.services, &mail).spawn();
        domain::bulk::spawn_runner(state.services.clone()).unwrap();
        let router = server::router::build(state.clone());
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Self { url, state, sink }
    }

    pub fn db(&self) -> &Db {
        &self.state.services.db
    }

    /// A client with its own cookie jar: one browser.
    pub fn browser(&self) -> Browser {
        Browser {
            client: Client::builder()
                .cookie_store(true)
                // A request the server never answers fails the test, naming the step, rather
                // than holding the whole run until CI's limit.
                .timeout(std::time::Duration::from_secs(60))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            url: self.url.clone(),
        }
    }

    pub async fn create_user(&self, username: &str, role: Role) -> UserId {
        self.create_user_with_email(username, role, "").await
    }

    pub async fn create_user_with_email(&self, username: &str, role: Role, email: &str) -> UserId {
        let new = NewUser::new(username, &format!("{username} Test"), email, role).unwrap();
        let digest = self
            .state
            .services
            .hasher
            .hash(&Password::new(PASSWORD))
            .await
            .unwrap();
        let mut tx = self.db().begin().await.unwrap();
        let id = users::insert(&mut tx, &new, Some(&digest), Timestamp::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    pub async fn count(&self, table: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.db().pool())
            .await
            .unwrap();
        n
    }
}

pub struct Browser {
    pub client: Client,
    pub url: String,
}

impl Browser {
    /// Calls a server function the way the WASM client does: a same-origin form POST.
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}/api/{endpoint}", self.url))
            .header("Origin", &self.url)
            .header("Sec-Fetch-Site", "same-origin")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_in(&self, username: &str) -> Response {
        self.call("login", &[("username", username), ("password", PASSWORD)])
            .await
    }

    /// A page load, with the Accept header of a browser navigation.
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.url))
            .header("Accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .unwrap()
    }
}

/// The error a server function answered with, as the JSON the browser receives.
pub async fn error_of(response: Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    (status, body)
}

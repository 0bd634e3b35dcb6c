//! The `latchkey` process as a browser and an operator see it, on the 1,000,000-user SQLite
//! database: what the first load of each page downloads (after brotli), its resident memory
//! idle and under 200 concurrent sign-ins (measured from outside, in `/proc`), and the Users
//! page under `wrk` beside a bare axum handler running the same SQL.
//!
//! Needs the release build `cargo leptos build --release --precompress --split` (`make bench`
//! runs it first); without it these figures are missing and the notes say why.

use domain::{Db, Password, sessions, users};
use model::time::Timestamp;
use reqwest::Client;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

use crate::PAGE;
use crate::report::{Figure, Target};

pub const PASSWORD: &str = "correct horse battery staple";
/// Accounts the concurrent sign-ins are spread over (each account takes 30 a minute).
const ACCOUNTS: usize = 20;
const SIGN_INS: usize = 200;

pub struct Server {
    pub url: String,
    child: Child,
}

impl Server {
    fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Resident memory of the server process, in MiB.
    fn rss_mib(&self) -> f64 {
        self.pid()
            .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
            .and_then(|status| {
                status
                    .lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")),
        PathBuf::from,
    )
}

fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// The release `latchkey serve` on `database_url`, on a free port, once it answers.
pub async fn start(database_url: &str) -> Result<Server, String> {
    let target = target_dir();
    let binary = target.join("release/latchkey");
    let site = target.join("site");
    if !binary.exists() || !site.join("pkg").exists() {
        return Err(format!(
            "{} or {}/pkg is missing: build with `cargo leptos build --release --precompress \
             --split` first",
            binary.display(),
            site.display()
        ));
    }
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let key = base64_key();
    let mail = std::env::temp_dir().join(format!("latchkey-bench-mail-{port}"));
    let log = server_log(port)?;
    let child = Command::new(&binary)
        .arg("serve")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("DATABASE_URL", database_url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_SITE_ROOT", &site)
        .env("LATCHKEY_PUBLIC_URL", &url)
        .env("LATCHKEY_SECRET_KEY", key)
        .env("LATCHKEY_MAIL_DIR", mail)
        .env(
            "RUST_LOG",
            std::env::var("LATCHKEY_BENCH_SERVER_LOG").unwrap_or("warn".into()),
        )
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let server = Server { url, child };
    let client = Client::new();
    for _ in 0..600 {
        if let Ok(response) = client.get(format!("{}/login", server.url)).send().await
            && response.status().is_success()
        {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("latchkey did not start within a minute".into())
}

/// The release server on `database_url`, and a console signed in to it as a new administrator
/// named `username`.
pub async fn admin_console(
    db: &Db,
    database_url: &str,
    username: &str,
) -> Result<(Server, Console), String> {
    accounts(db, &[(username.to_owned(), model::Role::Administrator)]).await;
    let server = start(database_url).await?;
    let console = Console::sign_in(&server.url, username).await?;
    Ok((server, console))
}

/// Where the server's log goes: its warnings by default, or what `LATCHKEY_BENCH_SERVER_LOG`
/// asks for (`sqlx::query=debug` times every statement a job runs).
fn server_log(port: u16) -> Result<std::fs::File, String> {
    let path = std::env::temp_dir().join(format!("latchkey-bench-server-{port}.log"));
    std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))
}

fn base64_key() -> String {
    use base64::Engine as _;
    let key: [u8; 32] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(key)
}

/// An administrator and the accounts the sign-ins use, all with `PASSWORD`.
async fn people(db: &Db) {
    let mut names = vec![("served-admin".to_owned(), model::Role::Administrator)];
    names.extend((0..ACCOUNTS).map(|i| (format!("served-{i}"), model::Role::User)));
    accounts(db, &names).await;
}

/// Accounts of these usernames and roles, all with `PASSWORD`.
pub async fn accounts(db: &Db, names: &[(String, model::Role)]) {
    let digest = domain::Hasher::new(1)
        .unwrap()
        .hash(&Password::new(PASSWORD))
        .await
        .unwrap();
    for (name, role) in names {
        let (name, role) = (name.as_str(), *role);
        let new = users::NewUser::new(name, name, "", role).unwrap();
        let mut tx = db.begin().await.unwrap();
        users::insert(&mut tx, &new, Some(&digest), Timestamp::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
}

/// Signs in as `username`; the `Cookie` header that carries the session.
async fn sign_in(url: &str, username: &str) -> Result<String, String> {
    let response = Client::new()
        .post(format!("{url}/api/login"))
        .header("Origin", url)
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("username", username), ("password", PASSWORD)])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let cookies: Vec<String> = response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next().map(str::to_owned))
        .collect();
    if cookies.is_empty() {
        return Err(format!("signing in answered {}", response.status()));
    }
    Ok(cookies.join("; "))
}

/// An administrator's browser on the console: their session, same-origin posts, one
/// connection kept alive.
pub struct Console {
    url: String,
    cookie: String,
    client: Client,
}

impl Console {
    pub async fn sign_in(url: &str, username: &str) -> Result<Self, String> {
        Ok(Self {
            url: url.to_owned(),
            cookie: sign_in(url, username).await?,
            client: Client::new(),
        })
    }

    /// Posts `fields` to the server function at `/api/{path}`: its status and answer.
    pub async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Result<(reqwest::StatusCode, String), String> {
        let response = self
            .client
            .post(format!("{}/api/{path}", self.url))
            .header("Origin", &self.url)
            .header("Sec-Fetch-Site", "same-origin")
            .header("Cookie", &self.cookie)
            .form(fields)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.text().await.map_err(|e| e.to_string())?;
        Ok((status, body))
    }

    /// A server function's answer, as JSON; panics unless it succeeded.
    pub async fn call<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> T {
        let (status, body) = self.post(path, fields).await.unwrap();
        assert!(status.is_success(), "{path} answered {status}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
    }

    /// Loads a page whole; how long it took. Panics unless it succeeded.
    pub async fn load(&self, path: &str) -> Duration {
        let t = Instant::now();
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .header("Cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(status.is_success(), "{path} answered {status}");
        response.bytes().await.unwrap();
        t.elapsed()
    }
}

/// Bytes on the wire, after brotli, of a page and every file under `/pkg/` or `/favicon` it
/// names (stylesheet, JS, WASM), and the modules that JS imports as it loads (the splitter's
/// loader), as a browser fetches them.
async fn first_load(url: &str, path: &str, cookie: Option<&str>) -> Result<(u64, usize), String> {
    let client = Client::new();
    let get = |address: String| {
        let mut request = client
            .get(address)
            .header("Accept", "text/html,application/xhtml+xml,*/*")
            .header("Accept-Encoding", "br");
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        request.send()
    };
    let page = get(format!("{url}{path}"))
        .await
        .map_err(|e| e.to_string())?;
    if !page.status().is_success() {
        return Err(format!("{path} answered {}", page.status()));
    }
    let mut total = page.bytes().await.map_err(|e| e.to_string())?.len() as u64;
    // Read again uncompressed to find what it names.
    let plain = |address: String| {
        let mut request = client.get(address);
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        async move {
            let response = request.send().await.map_err(|e| e.to_string())?;
            response.text().await.map_err(|e| e.to_string())
        }
    };
    let html = plain(format!("{url}{path}")).await?;
    let mut assets = asset_paths(&html);
    for script in assets.clone().iter().filter(|a| a.ends_with(".js")) {
        let js = plain(format!("{url}{script}")).await?;
        for import in static_imports(script, &js) {
            if !assets.contains(&import) {
                assets.push(import);
            }
        }
    }
    for asset in &assets {
        let response = get(format!("{url}{asset}"))
            .await
            .map_err(|e| e.to_string())?;
        total += response.bytes().await.map_err(|e| e.to_string())?.len() as u64;
    }
    Ok((total, assets.len()))
}

/// The first load of the smallest hydrated Leptos page (`bench/minimal`, which `make bench`
/// builds into `minimal-site` under the target directory), served with brotli at the quality
/// cargo-leptos precompresses the console's files with.
async fn minimal_leptos_page() -> Result<(u64, usize), String> {
    use tower_http::compression::CompressionLayer;
    let site = target_dir().join("minimal-site");
    if !site.join("index.html").is_file() {
        return Err(format!(
            "{} is not built (make bench builds it)",
            site.display()
        ));
    }
    let app = axum::Router::new()
        .fallback_service(tower_http::services::ServeDir::new(site))
        .layer(CompressionLayer::new().quality(tower_http::CompressionLevel::Best));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    first_load(&format!("http://{address}"), "/", None).await
}

/// The addresses of the modules a script imports by a relative path (`from"./x.js"`), which
/// the browser fetches before running it.
fn static_imports(script: &str, js: &str) -> Vec<String> {
    let dir = &script[..script.rfind('/').map_or(0, |i| i + 1)];
    let mut found: Vec<String> = Vec::new();
    for quote in ['"', '\''] {
        let marker = format!("from{quote}./");
        let spaced = format!("from {quote}./");
        for pattern in [marker, spaced] {
            let mut rest = js;
            while let Some(at) = rest.find(&pattern) {
                let tail = &rest[at + pattern.len()..];
                let end = tail.find(quote).unwrap_or(tail.len());
                let path = format!("{dir}{}", &tail[..end]);
                if !found.contains(&path) {
                    found.push(path);
                }
                rest = &tail[end..];
            }
        }
    }
    found
}

/// Every distinct `/pkg/…` or `/favicon…` address in a page.
fn asset_paths(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for start in ["/pkg/", "/favicon"] {
        let mut rest = html;
        while let Some(at) = rest.find(start) {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| c == '"' || c == '\'' || c == ')' || c.is_whitespace())
                .unwrap_or(tail.len());
            let path = tail[..end].to_owned();
            if !found.contains(&path) {
                found.push(path);
            }
            rest = &tail[end..];
        }
    }
    found
}

/// Requests per second `wrk` gets from `url` in 10 s over 16 connections.
async fn wrk(url: &str, cookie: Option<&str>) -> Result<f64, String> {
    let mut command = Command::new("wrk");
    command.args(["-t2", "-c16", "-d10s", "--timeout", "10s"]);
    if let Some(cookie) = cookie {
        command.args(["-H", &format!("Cookie: {cookie}")]);
    }
    let output = command
        .arg(url)
        .output()
        .await
        .map_err(|e| format!("wrk (Debian package wrk): {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("wrk printed no rate: {text}"))
}

/// A bare axum handler that runs the Users page's SQL and writes its rows as a table: with
/// `signed_in`, first the page's session check (its cookie read as the app reads it, then the
/// same query), as the Users page does before it lists anyone; without, the list alone.
async fn bare_axum(db: Db, signed_in: bool) -> String {
    use app::server::{WebConfig, cookies};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{Html, IntoResponse};
    let policy: sessions::SessionPolicy = (&model::settings::SecuritySettings::default()).into();
    let web = WebConfig::new("http://127.0.0.1");
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move |headers: HeaderMap| {
            let (db, web) = (db.clone(), web.clone());
            async move {
                if signed_in {
                    let Some(token) = cookies::read_session(&headers, &web) else {
                        return StatusCode::UNAUTHORIZED.into_response();
                    };
                    let session = sessions::authenticate(&db, &token, &policy, Timestamp::now())
                        .await
                        .unwrap();
                    if session.is_none() {
                        return StatusCode::UNAUTHORIZED.into_response();
                    }
                }
                let (page, _) = users::list_page(&db, "", None, PAGE).await.unwrap();
                let rows: String = page
                    .iter()
                    .map(|u| {
                        format!(
                            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                            u.username,
                            u.display_name,
                            u.email.as_deref().unwrap_or("")
                        )
                    })
                    .collect();
                Html(format!("<table>{rows}</table>")).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/")
}

pub async fn run(db: &Db, database_url: &str, figures: &mut Vec<Figure>, notes: &mut Vec<String>) {
    people(db).await;
    let server = match start(database_url).await {
        Ok(server) => server,
        Err(why) => {
            notes.push(format!("The served figures are missing: {why}."));
            return;
        }
    };
    let admin = match sign_in(&server.url, "served-admin").await {
        Ok(cookie) => cookie,
        Err(why) => {
            notes.push(format!("The served figures are missing: {why}."));
            return;
        }
    };

    let minimal = minimal_leptos_page().await;
    match &minimal {
        Ok((bytes, files)) => figures.push(
            Figure::new(
                "First load of a minimal Leptos page, after brotli",
                "KB",
                *bytes as f64 / 1000.0,
            )
            .note(format!(
                "one hydrated button (bench/minimal, built as the console's WASM is); the page and the {files} files it names or imports"
            )),
        ),
        Err(why) => notes.push(format!("The minimal Leptos page is missing: {why}.")),
    }
    for (path, cookie, what) in [
        ("/users", Some(admin.as_str()), "the console (Users page)"),
        (
            "/management/audit",
            Some(admin.as_str()),
            "Management > Audit",
        ),
        ("/login", None, "/login"),
        ("/forgot", None, "/forgot"),
    ] {
        match first_load(&server.url, path, cookie).await {
            Ok((bytes, files)) => {
                let figure = Figure::new(
                    format!("First load of {what}, after brotli"),
                    "KB",
                    bytes as f64 / 1000.0,
                )
                .note(format!(
                    "the page and the {files} files it names or imports"
                ));
                let figure = match &minimal {
                    Ok((reference, _)) => {
                        figure.against("minimal Leptos page", *reference as f64 / 1000.0)
                    }
                    Err(_) => figure,
                };
                figures.push(if path.starts_with("/users") {
                    figure.target(Target::AtMost(250.0))
                } else {
                    figure
                });
            }
            Err(why) => notes.push(format!("First load of {path}: {why}.")),
        }
    }

    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = server.rss_mib();
    figures.push(
        Figure::new("Server resident memory, idle, 1000000 users", "MiB", idle)
            .target(Target::AtMost(50.0))
            .note("the latchkey process after a few page loads, from /proc"),
    );

    // 200 sign-ins at once, spread over accounts so the per-account limit does not stop them;
    // the per-address limit (120 a minute, all from 127.0.0.1) turns the rest away early.
    let started = Instant::now();
    let attempts: Vec<_> = (0..SIGN_INS)
        .map(|i| {
            let url = server.url.clone();
            tokio::spawn(async move { sign_in(&url, &format!("served-{}", i % ACCOUNTS)).await })
        })
        .collect();
    let mut peak = idle;
    while attempts.iter().any(|a| !a.is_finished()) {
        peak = peak.max(server.rss_mib());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut signed_in = 0;
    for attempt in attempts {
        if matches!(attempt.await, Ok(Ok(_))) {
            signed_in += 1;
        }
    }
    let burst = started.elapsed();
    let settle = Instant::now();
    let mut after = server.rss_mib();
    while after > idle + 5.0 && settle.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        after = server.rss_mib();
    }
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2) as f64;
    figures.push(
        Figure::new(
            "Server peak extra memory under 200 concurrent sign-ins",
            "MiB",
            peak - idle,
        )
        .target(Target::AtMost(1.2 * threads * 19_456.0 / 1024.0))
        .note(format!(
            "target 1.2 × {threads} hashing threads × 19 MiB; {signed_in} signed in within \
             {:.1} s, the rest limited per address; {after:.0} MiB {:.0} s later (idle {idle:.0} MiB)",
            burst.as_secs_f64(),
            settle.elapsed().as_secs_f64()
        )),
    );

    let bare = bare_axum(db.clone(), true).await;
    let list_only = bare_axum(db.clone(), false).await;
    match (
        wrk(&format!("{}/users", server.url), Some(&admin)).await,
        wrk(&bare, Some(&admin)).await,
        wrk(&list_only, None).await,
    ) {
        (Ok(latchkey), Ok(reference), Ok(list_only)) => figures.push(
            Figure::new("Users page under wrk, 16 connections", "req/s", latchkey)
                .against(
                    "bare axum handler, same SQL: the session check and the list",
                    reference,
                )
                .target(Target::RatioAtLeast(0.5))
                .note(format!(
                    "10 s each; wrk shares the 2 cores with the server; the bare handler \
                     without the session check (the list's query alone) {list_only:.0} req/s, \
                     {:.2}×",
                    latchkey / list_only
                )),
        ),
        (Err(why), _, _) | (_, Err(why), _) | (_, _, Err(why)) => {
            notes.push(format!("Users page under wrk: {why}."))
        }
    }
}

//! A real SMTP server on loopback for tests: it speaks the protocol over TCP (EHLO, MAIL,
//! RCPT, DATA, QUIT), keeps what it receives, and answers a recipient whose local part starts
//! with `tempfail` with 451 and one starting with `permfail` with 550, so the mailer's retry
//! rules are tried against real answers rather than a mock transport.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

#[derive(Clone, Debug)]
pub struct Received {
    pub to: Vec<String>,
    /// The message as transmitted (headers and body, dot-unstuffed).
    pub data: String,
}

impl Received {
    /// The body with quoted-printable soft line breaks undone, enough to find a link in it.
    pub fn text(&self) -> String {
        let body = self
            .data
            .split_once("\r\n\r\n")
            .map_or(self.data.as_str(), |(_, b)| b);
        body.replace("=\r\n", "").replace("=3D", "=")
    }

    /// The first `…/reset/<token>` link in the message.
    pub fn reset_link(&self) -> Option<String> {
        let text = self.text();
        let start = text.find("http")?;
        let link: String = text[start..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        link.contains("/reset/").then_some(link)
    }
}

#[derive(Clone, Default)]
pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
    /// Offers AUTH and refuses every login with `535 5.7.8`, as a server given a wrong
    /// password does.
    refuses_login: bool,
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::listen(false).await
    }

    /// A server that asks for a login and refuses every one.
    pub async fn start_refusing_login() -> Self {
        Self::listen(true).await
    }

    async fn listen(refuses_login: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind SMTP sink");
        let sink = Self {
            port: listener.local_addr().expect("address").port(),
            refuses_login,
            ..Self::default()
        };
        let server = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let session = server.clone();
                tokio::spawn(async move {
                    let _ = session.serve(stream).await;
                });
            }
        });
        sink
    }

    /// How many messages have arrived, without copying them.
    pub fn count(&self) -> usize {
        self.received.lock().expect("sink lock").len()
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("sink lock").clone()
    }

    /// Waits (up to 10 s) until a message for `to` has arrived, and returns the latest.
    pub async fn wait_for(&self, to: &str) -> Received {
        self.wait_for_one(to, |_| true).await
    }

    /// Waits (up to 10 s) for a message to `to` whose raw text contains `text`: the one a test
    /// expects, not an earlier one to the same person that is already there.
    pub async fn wait_for_containing(&self, to: &str, text: &str) -> Received {
        self.wait_for_one(to, |m| m.data.contains(text)).await
    }

    /// Waits (up to 10 s) for a message to `to` that carries a reset link: the latest such,
    /// though a notice queued before it may arrive after it (links go out first).
    pub async fn wait_for_link(&self, to: &str) -> Received {
        self.wait_for_one(to, |m| m.reset_link().is_some()).await
    }

    async fn wait_for_one(&self, to: &str, wanted: impl Fn(&Received) -> bool) -> Received {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let notified = self.arrived.notified();
            if let Some(found) = self
                .received()
                .into_iter()
                .rev()
                .find(|m| m.to.iter().any(|t| t == to) && wanted(m))
            {
                return found;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("no such email for {to} arrived at the SMTP sink within 10 s");
            }
        }
    }

    async fn serve(&self, stream: TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 sink.test ESMTP\r\n").await?;
        let mut to = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_ascii_uppercase();
            let reply: &[u8] = if command.starts_with("EHLO") && self.refuses_login {
                b"250-sink.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
            } else if command.starts_with("EHLO") {
                b"250-sink.test\r\n250 8BITMIME\r\n"
            } else if command.starts_with("AUTH") && self.refuses_login {
                b"535 5.7.8 Authentication failed\r\n"
            } else if command.starts_with("HELO") || command.starts_with("MAIL FROM") {
                to.clear();
                b"250 OK\r\n"
            } else if let Some(rest) = command.strip_prefix("RCPT TO:") {
                let address = rest.trim().trim_matches(['<', '>']).to_ascii_lowercase();
                if address.starts_with("tempfail") {
                    b"451 4.3.0 Mailbox temporarily unavailable\r\n"
                } else if address.starts_with("permfail") {
                    b"550 5.1.1 No such user here\r\n"
                } else {
                    to.push(address);
                    b"250 OK\r\n"
                }
            } else if command == "DATA" {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                self.received.lock().expect("sink lock").push(Received {
                    to: std::mem::take(&mut to),
                    data,
                });
                self.arrived.notify_waiters();
                b"250 OK queued\r\n"
            } else if command == "QUIT" {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            } else if command == "RSET" || command == "NOOP" {
                to.clear();
                b"250 OK\r\n"
            } else {
                b"502 Command not implemented\r\n"
            };
            write.write_all(reply).await?;
        }
    }
}

//! Delivers the outbox: over SMTP with lettre, or, when no SMTP server is configured, as `.eml`
//! files in a folder so a new installation can follow a reset link without a mail server.
//!
//! Temporary failures (no connection, 4xx answers) are retried with growing delays; permanent
//! ones (5xx answers, an address that cannot be parsed) fail at once. Either way the row keeps
//! the reason, which the console shows.

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, Message, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use model::time::Timestamp;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tracing::{info, warn};

use crate::Services;
use crate::audit::{self, AuditAction, AuditEvent, Outcome, Party};
use crate::db::{Db, Tx};
use crate::email_config::{self, Connection, Effective};
use crate::error::DomainResult;
use crate::keys::Keyring;
use crate::mail_folder;
use crate::outbox::{self, Claimed};

/// When to try again after a temporary failure, and when to give up.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub max_attempts: i64,
    pub first_delay: Duration,
    pub factor: u32,
}

impl Default for RetryPolicy {
    /// 30 s, 2 min, 8 min, 32 min, then about 2 h: a mail server down for an afternoon still
    /// gets the email, and a link that has long expired is not sent.
    fn default() -> Self {
        Self {
            max_attempts: 6,
            first_delay: Duration::from_secs(30),
            factor: 4,
        }
    }
}

impl RetryPolicy {
    fn delay_after(&self, attempt: i64) -> Duration {
        let exponent = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX)
            .min(10);
        self.first_delay
            .saturating_mul(self.factor.saturating_pow(exponent))
    }
}

/// How the mailer paces itself; where it sends comes from [`crate::email_config`].
#[derive(Clone, Debug)]
pub struct MailConfig {
    pub retry: RetryPolicy,
    /// How often each instance looks for due emails besides being woken by its own requests.
    pub poll: Duration,
}

/// Wakes this instance's mailer when a request has queued an email, so it goes out at once.
#[derive(Clone, Debug, Default)]
pub struct MailWake(Arc<Notify>);

impl MailWake {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

enum Attempt {
    Delivered,
    Temporary(String),
    Permanent(String),
}

/// What the senders of one round share: the emails they may still claim under the rate, and
/// the addresses being sent to now.
struct Round {
    left: usize,
    busy: Vec<String>,
}

pub struct Mailer {
    db: Db,
    email: email_config::Live,
    /// The pooled transport of the server last used, kept while the configuration names it.
    smtp: Mutex<Option<(Connection, AsyncSmtpTransport<Tokio1Executor>)>>,
    retry: RetryPolicy,
    poll: Duration,
    wake: MailWake,
    keys: Keyring,
    /// The last round found the rate's allowance spent.
    held_back: AtomicBool,
}

const LEASE_MS: i64 = 2 * 60 * 1000;
/// Emails per round (twenty a sender) before the loop checks in again.
const BATCH: usize = 20 * SENDERS;
/// Emails in flight at once, each on a connection of the transport's pool. lettre writes the
/// end of a message on its own, after the body, so every message waits out the mail server's
/// delayed acknowledgement (about 40 ms): one connection carries about 25 emails a second,
/// whatever the server's speed. Three, because that is as many connections as Exchange Online
/// accepts at once from one sender.
pub const SENDERS: usize = 3;

impl Mailer {
    /// A mailer for `services`' database, sending where its email configuration says, as it
    /// says at the moment of each email.
    pub fn new(services: &Services, config: &MailConfig) -> Self {
        Self {
            db: services.db.clone(),
            email: services.email.clone(),
            smtp: Mutex::new(None),
            retry: config.retry,
            poll: config.poll,
            wake: services.mail.clone(),
            keys: services.keys.clone(),
            held_back: AtomicBool::new(false),
        }
    }

    /// Runs until the process ends. Errors of the store are logged and retried on the next
    /// round: a database hiccup must not stop email for good.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                match self.deliver_due().await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(e) => warn!(error = %e, "mail delivery round failed"),
                }
                let pause = self.pause().await;
                tokio::select! {
                    () = self.wake.0.notified() => {}
                    () = tokio::time::sleep(pause) => {}
                }
            }
        })
    }

    /// Delivers what is due now, [`SENDERS`] emails at a time, each claimed just before it is
    /// sent (so no claim outlives its lease while others are being sent); returns how many
    /// emails it tried.
    pub async fn deliver_due(&self) -> DomainResult<usize> {
        // Read once a round, not once an email: a change reaches the next round.
        let config = self.email.current(&self.db, &self.keys).await?;
        let allowance = self.allowance(&config).await?;
        self.held_back.store(allowance == 0, Ordering::Relaxed);
        let round = tokio::sync::Mutex::new(Round {
            left: BATCH.min(allowance),
            busy: Vec::new(),
        });
        // Every sender runs to its end even when another fails: one dropped between the
        // server's answer and its record would send its email again once the lease ran out.
        let senders =
            futures_util::future::join_all((0..SENDERS).map(|_| self.send_while(&config, &round)))
                .await;
        let mut tried = 0;
        for sent in senders {
            tried += sent?;
        }
        Ok(tried)
    }

    /// One sender: claims and delivers emails one after another while the round's budget lasts
    /// and emails are due. Claiming holds the round's lock, so the senders together never
    /// claim more than the budget, nor two emails to one address at once; sending does not.
    async fn send_while(
        &self,
        config: &Effective,
        round: &tokio::sync::Mutex<Round>,
    ) -> DomainResult<usize> {
        let mut tried = 0;
        loop {
            let email = {
                let mut round = round.lock().await;
                if round.left == 0 {
                    break;
                }
                let claimed =
                    outbox::claim_next(&self.db, Timestamp::now(), LEASE_MS, &round.busy).await?;
                if let Some(email) = &claimed {
                    round.left -= 1;
                    round.busy.push(email.to.clone());
                }
                claimed
            };
            let Some(email) = email else { break };
            tried += 1;
            let delivered = self.deliver(config, &email).await;
            let mut round = round.lock().await;
            if let Some(at) = round.busy.iter().position(|to| *to == email.to) {
                round.busy.swap_remove(at);
            }
            delivered?;
        }
        Ok(tried)
    }

    /// One claimed email: withdrawn if what it carries no longer holds, else sent, and its
    /// outcome recorded.
    async fn deliver(&self, config: &Effective, email: &Claimed) -> DomainResult<()> {
        let (id, attempt) = (email.id.as_str(), email.attempt);
        if let Some(reason) = outbox::withdrawal_reason(&self.db, id, Timestamp::now()).await? {
            info!(email = %id, %reason, "email withdrawn before sending");
            return outbox::mark_withdrawn(&self.db, id, attempt, &reason, Timestamp::now()).await;
        }
        let outcome = self.attempt(config, email).await;
        let now = Timestamp::now();
        match outcome {
            Attempt::Delivered => {
                let mut tx = self.db.begin().await?;
                let sent = outbox::mark_sent(&mut tx, id, attempt, now).await?;
                record_end(&mut tx, sent, None, now).await?;
                tx.commit().await?;
            }
            Attempt::Temporary(reason) if attempt < self.retry.max_attempts => {
                let delay = self.retry.delay_after(attempt);
                let retry_at =
                    Timestamp(now.millis() + i64::try_from(delay.as_millis()).unwrap_or(0));
                warn!(email = %id, attempt, %reason, "email deferred");
                outbox::mark_retry(&self.db, id, attempt, &reason, retry_at, now).await?;
            }
            Attempt::Temporary(reason) | Attempt::Permanent(reason) => {
                warn!(email = %id, attempt, %reason, "email failed");
                let mut tx = self.db.begin().await?;
                let failed = outbox::mark_failed(&mut tx, id, attempt, &reason, now).await?;
                record_end(&mut tx, failed, Some(&reason), now).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Until the next round: the poll interval, or, while the rate limit holds emails back, the
    /// moment it lets another go (the oldest send of the last minute leaves it), so a held-back
    /// queue goes out at the limit, not a poll interval behind it.
    async fn pause(&self) -> Duration {
        if !self.held_back.load(Ordering::Relaxed) {
            return self.poll;
        }
        let now = Timestamp::now();
        match outbox::minute_frees_at(&self.db, now).await {
            Ok(Some(at)) => {
                let wait = u64::try_from(at.millis() - now.millis()).unwrap_or(0);
                self.poll.min(Duration::from_millis(wait))
            }
            Ok(None) => self.poll,
            Err(e) => {
                warn!(error = %e, "could not read the last minute's sends");
                self.poll
            }
        }
    }

    /// How many emails may go out now under the configured rate, counted across every instance
    /// sharing the database (emails being sent count too). Instances that count at the same
    /// moment may together send a little more than the limit: set it a little under the mail
    /// service's own.
    async fn allowance(&self, config: &Effective) -> DomainResult<usize> {
        let (minute, day) = outbox::recent_sends(&self.db, Timestamp::now()).await?;
        let left = (i64::from(config.settings.per_minute) - minute)
            .min(i64::from(config.settings.per_day) - day);
        Ok(usize::try_from(left).unwrap_or(0))
    }

    async fn attempt(&self, config: &Effective, email: &Claimed) -> Attempt {
        let (Ok(text), Ok(html)) = (email.open_body(&self.keys), email.open_html(&self.keys))
        else {
            return Attempt::Permanent(
                "the message cannot be opened with this server's secret key".into(),
            );
        };
        let to: Mailbox = match email.to.parse() {
            Ok(to) => to,
            Err(e) => return Attempt::Permanent(format!("invalid recipient address: {e}")),
        };
        let from = match config.sender() {
            Ok(from) => from,
            Err(e) => return Attempt::Temporary(e),
        };
        let builder = Message::builder().from(from).to(to).subject(&email.subject);
        let built = match html {
            Some(html) => builder.multipart(
                MultiPart::alternative()
                    .singlepart(readable_part(ContentType::TEXT_PLAIN, &text))
                    .singlepart(readable_part(ContentType::TEXT_HTML, &html)),
            ),
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(readable_body(&text)),
        };
        let message = match built {
            Ok(message) => message,
            Err(e) => return Attempt::Permanent(format!("could not build the message: {e}")),
        };
        match config.connection() {
            Some(connection) => {
                let smtp = match self.transport_for(&connection) {
                    Ok(smtp) => smtp,
                    Err(e) => return Attempt::Temporary(e),
                };
                match smtp.send(message).await {
                    Ok(_) => {
                        info!(email = %email.id, "email sent");
                        Attempt::Delivered
                    }
                    Err(e) if e.is_permanent() => Attempt::Permanent(e.to_string()),
                    Err(e) => Attempt::Temporary(e.to_string()),
                }
            }
            None => match mail_folder::write_eml(&config.mail_dir, &email.id, &message.formatted())
                .await
            {
                Ok(path) => {
                    info!(email = %email.id, path = %path.display(), "email written to a file (no SMTP server configured)");
                    Attempt::Delivered
                }
                Err(e) => Attempt::Temporary(e),
            },
        }
    }

    /// The pooled transport for `connection`: the one in use while the configuration is the
    /// same, a new one (and the old pool dropped) once an administrator changed it.
    fn transport_for(
        &self,
        connection: &Connection,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let mut kept = self
            .smtp
            .lock()
            .map_err(|_| "the SMTP transport lock was poisoned".to_owned())?;
        if let Some((used, smtp)) = kept.as_ref()
            && used.same_as(connection)
        {
            return Ok(smtp.clone());
        }
        let smtp = connection.transport()?;
        info!(host = %connection.host, port = connection.port, "sending email over SMTP");
        *kept = Some((connection.clone(), smtp.clone()));
        Ok(smtp)
    }
}

/// One part of a multipart/alternative email, readable in a raw file like a plain one.
fn readable_part(kind: ContentType, text: &str) -> SinglePart {
    SinglePart::builder().header(kind).body(readable_body(text))
}

/// 7bit when the text allows it, so a link stays whole in a raw `.eml` file; quoted-printable
/// otherwise (a name with accents), never base64, which no one can read in a raw file.
fn readable_body(text: &str) -> Body {
    let encoding = if text.is_ascii() && text.lines().all(|l| l.len() < 990) {
        ContentTransferEncoding::SevenBit
    } else {
        ContentTransferEncoding::QuotedPrintable
    };
    Body::new_with_encoding(text.to_owned(), encoding)
        .unwrap_or_else(|_| Body::new(text.to_owned()))
}

/// The audit row of an email that reached its end: sent, or given up on with the server's
/// reason. Written in the transaction that marks it, so the trail and the outbox agree.
async fn record_end(
    tx: &mut Tx,
    ended: Option<outbox::Ended>,
    failure: Option<&str>,
    now: Timestamp,
) -> DomainResult<()> {
    let Some(ended) = ended else {
        return Ok(());
    };
    let target = match &ended.user {
        Some(id) => crate::users::get(&mut **tx, id).await?.map(|u| Party {
            id: u.id,
            name: u.username,
        }),
        None => None,
    };
    let (action, outcome) = match failure {
        None => (AuditAction::EmailSent, Outcome::Success),
        Some(_) => (AuditAction::EmailFailed, Outcome::Failure),
    };
    let mut detail = format!("{} email to {}", ended.kind, ended.to);
    if let Some(reason) = failure {
        detail.push_str(": ");
        detail.push_str(reason);
    }
    let event = AuditEvent {
        at: now,
        actor: None,
        target,
        action,
        outcome,
        ip: None,
        detail: Some(detail),
    };
    audit::record(&mut **tx, &event).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        let retry = RetryPolicy::default();
        assert_eq!(retry.delay_after(1), Duration::from_secs(30));
        assert_eq!(retry.delay_after(2), Duration::from_secs(120));
        assert!(retry.delay_after(1000) >= retry.delay_after(5));
    }
}

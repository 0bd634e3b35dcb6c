//! The transactional outbox: an email is a row written in the same transaction as the action
//! that causes it, so a reset and its email happen together or not at all, and nothing is lost
//! when the process stops. [`crate::mail`] delivers the rows.
//!
//! Several instances may share one database: a row is claimed with a conditional update and a
//! lease, so each email goes out once, and a row whose sender died is picked up when its lease
//! runs out.
//!
//! A body is stored sealed with the server's secret key ([`crate::keys`]), never in the clear:
//! while an email waits for a mail server that is down, its link or password must not be
//! readable from the database's files or a backup.

use model::reset::{DeliveryState, EmailRecord, EmailStatus};
use model::time::Timestamp;
use model::user::UserId;
use serde_json::json;
use sqlx::{Any, Executor};

use crate::db::{Db, Tx, engine_of};
use crate::error::{DomainError, DomainResult};
use crate::keys::Keyring;
use crate::store::lease;
use crate::store::packed;

/// An email about to be queued. `body` may carry a link or a password: it lives only in this
/// row, sealed, and only until the message is delivered, abandoned or cancelled.
#[derive(Clone)]
pub struct OutgoingEmail {
    pub user_id: Option<UserId>,
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The HTML alternative of `body`, for the emails an organisation words in Management >
    /// Templates; sealed like the body.
    pub html: Option<String>,
}

impl std::fmt::Debug for OutgoingEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingEmail")
            .field("kind", &self.kind)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

/// Queues an email inside the caller's transaction and returns its id. The body is sealed to
/// this row before it reaches the database.
pub async fn enqueue(
    tx: &mut Tx,
    keys: &Keyring,
    email: &OutgoingEmail,
    now: Timestamp,
) -> DomainResult<String> {
    let ids = enqueue_all(tx, keys, std::slice::from_ref(email), now).await?;
    ids.into_iter()
        .next()
        .ok_or_else(|| DomainError::Internal("an email was not queued".into()))
}

/// [`enqueue`] for many emails in a few statements (a Bulk Change batch); their ids, in order.
pub async fn enqueue_all(
    tx: &mut Tx,
    keys: &Keyring,
    emails: &[OutgoingEmail],
    now: Timestamp,
) -> DomainResult<Vec<String>> {
    use packed::Column::Text;
    let ids: Vec<String> = emails.iter().map(|_| super::row_id::new()).collect();
    let mut rows = packed::Rows::default();
    for (email, id) in emails.iter().zip(&ids) {
        let html = email.html.as_ref();
        rows.push(json!([
            id,
            email.user_id.as_ref().map(|u| u.0.as_str()),
            email.kind,
            email.to,
            email.subject,
            keys.seal(id, &email.body),
            html.map(|html| keys.seal(&html_context(id), html)),
        ]));
    }
    if rows.is_empty() {
        return Ok(ids);
    }
    let columns = [
        Text("id"),
        Text("user_id"),
        Text("kind"),
        Text("to_address"),
        Text("subject"),
        Text("body"),
        Text("html"),
    ];
    // The time starts each email's due, created and updated times.
    let sql = format!(
        "INSERT INTO email_outbox (id, user_id, kind, to_address, subject, body, html, \
         next_attempt_at, state, created_at, updated_at, send_rank) \
         SELECT id, user_id, kind, to_address, subject, body, html, $2, 'queued', $2, $2, \
         {SEND_RANK} FROM ({}) AS queued",
        packed::rows(engine_of(tx), 1, &columns)
    );
    sqlx::query(&sql)
        .bind(rows.into_json())
        .bind(now.millis())
        .execute(&mut **tx)
        .await?;
    Ok(ids)
}

/// Marks `ids` as the link emails of the bulk job `job`, so its page can count their delivery
/// without reading the job's items ([`job_deliveries`]).
pub async fn belong_to_job(tx: &mut Tx, job: &str, ids: &[String]) -> DomainResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE email_outbox SET bulk_job_id = $1 WHERE id IN {}",
        packed::set(engine_of(tx), 2)
    );
    sqlx::query(&sql)
        .bind(job)
        .bind(packed::strings(ids.iter().map(String::as_str)))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// How many of a bulk job's link emails were sent, and how many failed for good.
pub async fn job_deliveries(db: &Db, job: &str) -> DomainResult<(i64, i64)> {
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, COUNT(*) FROM email_outbox \
         WHERE bulk_job_id = $1 AND state IN ('sent', 'failed') GROUP BY state",
    )
    .bind(job)
    .fetch_all(db.pool())
    .await?;
    let of = |state: &str| {
        counts
            .iter()
            .find(|(s, _)| s == state)
            .map_or(0, |(_, n)| *n)
    };
    Ok((of("sent"), of("failed")))
}

/// The HTML part is sealed to its row and to its role, so it cannot be swapped for the body.
fn html_context(id: &str) -> String {
    format!("{id}/html")
}

/// Withdraws an email that has not gone out yet (its link was revoked or superseded). One
/// being sent right now is withdrawn too: if its sender is mid-conversation the message may
/// still arrive, but its body is erased and no retry will send it again.
pub async fn cancel(tx: &mut Tx, id: &str, now: Timestamp) -> DomainResult<()> {
    cancel_all(tx, &[id.to_owned()], now).await
}

/// [`cancel`] for many emails in one statement.
pub async fn cancel_all(tx: &mut Tx, ids: &[String], now: Timestamp) -> DomainResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE email_outbox SET state = 'cancelled', body = NULL, html = NULL, \
         lease_until = NULL, updated_at = $1 WHERE id IN {} AND state IN ('queued', 'sending')",
        packed::set(engine_of(tx), 2)
    );
    sqlx::query(&sql)
        .bind(now.millis())
        .bind(packed::strings(ids.iter().map(String::as_str)))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Withdraws every email to a user that has not gone out: their account is being deleted.
pub async fn cancel_all_for_user(tx: &mut Tx, user: &UserId, now: Timestamp) -> DomainResult<()> {
    sqlx::query(
        "UPDATE email_outbox SET state = 'cancelled', body = NULL, html = NULL, lease_until = NULL, \
         last_error = 'the account was deleted', updated_at = $2 \
         WHERE user_id = $1 AND state IN ('queued', 'sending')",
    )
    .bind(&user.0)
    .bind(now.millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An email claimed for one delivery attempt.
pub struct Claimed {
    pub id: String,
    pub to: String,
    pub subject: String,
    /// Sealed: [`Claimed::open_body`] gives the text.
    body: String,
    html: Option<String>,
    /// Including this one. It is also the claim's fencing token: the outcome is recorded only
    /// if no other sender has claimed the email since (after this claim's lease ran out).
    pub attempt: i64,
}

impl Claimed {
    pub fn open_body(&self, keys: &Keyring) -> Result<String, crate::keys::KeyError> {
        keys.open(&self.id, &self.body)
    }

    pub fn open_html(&self, keys: &Keyring) -> Result<Option<String>, crate::keys::KeyError> {
        self.html
            .as_ref()
            .map(|html| keys.open(&html_context(&self.id), html))
            .transpose()
    }
}

/// `to_address, subject, body, html, attempts` of a row just claimed.
type ClaimedRow = (String, String, Option<String>, Option<String>, i64);

/// The window the per-minute sending limit counts.
const MINUTE_MS: i64 = 60_000;

const DUE: &str = "((state = 'queued' AND next_attempt_at <= $1) \
                    OR (state = 'sending' AND lease_until <= $1))";

/// An email's place in the order of sending, stored when it is queued (migration 0014): 0 for
/// those that carry a link or a password that expires (a reset link, a welcome link, a temporary
/// or emailed password), 1 for notices. A Bulk Change > Reset Password of 100,000 people queues
/// a notice to each, hours of mail at 300 a minute, and a reset link queued behind them would
/// expire before it was sent. Within a rank, emails go in the order queued.
const SEND_RANK: &str = "CASE WHEN kind IN ('reset_link', 'welcome', 'access_info', \
                         'password_set') THEN 0 ELSE 1 END";

/// Claims the next due email for `lease_ms`, just before sending it (by [`SEND_RANK`]), passing
/// over the emails to the `busy` addresses (those this instance's other senders are sending
/// to, so one person's emails go out one after another). A row another instance claimed
/// first is skipped, not sent twice.
pub async fn claim_next(
    db: &Db,
    now: Timestamp,
    lease_ms: i64,
    busy: &[String],
) -> DomainResult<Option<Claimed>> {
    // Queued emails and those whose sender's lease ran out, each read in the order of sending
    // from the front of the index on (state, send_rank, next_attempt_at): a few entries, not
    // every due email sorted, however long the queue.
    let not_busy = packed::set(db.engine(), 3);
    let sql = format!(
        "SELECT id FROM (\
           SELECT * FROM (SELECT id, send_rank, next_attempt_at FROM email_outbox \
             WHERE state = 'queued' AND next_attempt_at <= $1 AND to_address NOT IN {not_busy} \
             ORDER BY send_rank, next_attempt_at LIMIT $2) AS queued \
           UNION ALL \
           SELECT * FROM (SELECT id, send_rank, next_attempt_at FROM email_outbox \
             WHERE state = 'sending' AND lease_until <= $1 AND to_address NOT IN {not_busy} \
             ORDER BY send_rank, next_attempt_at LIMIT $2) AS abandoned\
         ) AS due ORDER BY send_rank, next_attempt_at LIMIT $2"
    );
    let query = sqlx::query_as::<_, (String,)>(&sql)
        .bind(now.millis())
        .bind(lease::CANDIDATES)
        .bind(packed::strings(busy.iter().map(String::as_str)));
    let ids = query.fetch_all(db.pool()).await?;
    lease::first_claimed(ids.into_iter().map(|(id,)| id), |id| async move {
        let row: Option<ClaimedRow> = sqlx::query_as(&format!(
            "UPDATE email_outbox SET state = 'sending', attempts = attempts + 1, \
             lease_until = $2, updated_at = $1 WHERE id = $3 AND {DUE} \
             RETURNING to_address, subject, body, html, attempts"
        ))
        .bind(now.millis())
        .bind(now.millis() + lease_ms)
        .bind(&id)
        .fetch_optional(&mut *db.writer().await?)
        .await?;
        Ok(match row {
            Some((to, subject, Some(body), html, attempt)) => Some(Claimed {
                id,
                to,
                subject,
                body,
                html,
                attempt,
            }),
            Some((_, _, None, _, attempt)) => {
                end_unsent(
                    db,
                    &id,
                    attempt,
                    DeliveryState::Failed,
                    "message body missing",
                    now,
                )
                .await?;
                None
            }
            None => None,
        })
    })
    .await
}

/// Who an email that reached its end was for, and what kind it was, for the audit trail.
#[derive(Clone, Debug)]
pub struct Ended {
    pub user: Option<UserId>,
    pub kind: String,
    pub to: String,
}

type EndedRow = (Option<String>, String, String);

fn ended(row: Option<EndedRow>) -> Option<Ended> {
    row.map(|(user, kind, to)| Ended {
        user: user.map(UserId),
        kind,
        to,
    })
}

/// Marks a claimed email sent, in the caller's transaction; `None` when this attempt's claim was
/// lost (its lease ran out and another instance took it).
pub async fn mark_sent(
    tx: &mut Tx,
    id: &str,
    attempt: i64,
    now: Timestamp,
) -> DomainResult<Option<Ended>> {
    let row: Option<EndedRow> = sqlx::query_as(
        "UPDATE email_outbox SET state = 'sent', body = NULL, html = NULL, sent_at = $2, lease_until = NULL, \
         updated_at = $2 WHERE id = $1 AND state = 'sending' AND attempts = $3 \
         RETURNING user_id, kind, to_address",
    )
    .bind(id)
    .bind(now.millis())
    .bind(attempt)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(ended(row))
}

/// A temporary failure: the email goes back in the queue until `retry_at`.
pub async fn mark_retry(
    db: &Db,
    id: &str,
    attempt: i64,
    error: &str,
    retry_at: Timestamp,
    now: Timestamp,
) -> DomainResult<()> {
    sqlx::query(
        "UPDATE email_outbox SET state = 'queued', next_attempt_at = $2, last_error = $3, \
         lease_until = NULL, updated_at = $4 WHERE id = $1 AND state = 'sending' AND attempts = $5",
    )
    .bind(id)
    .bind(retry_at.millis())
    .bind(error)
    .bind(now.millis())
    .bind(attempt)
    .execute(&mut *db.writer().await?)
    .await?;
    Ok(())
}

/// A permanent failure, or the last attempt failed: the email will not be sent.
pub async fn mark_failed(
    tx: &mut Tx,
    id: &str,
    attempt: i64,
    error: &str,
    now: Timestamp,
) -> DomainResult<Option<Ended>> {
    let row: Option<EndedRow> = sqlx::query_as(
        "UPDATE email_outbox SET state = 'failed', body = NULL, html = NULL, last_error = $2, \
         lease_until = NULL, updated_at = $3 WHERE id = $1 AND state = 'sending' AND attempts = $4 \
         RETURNING user_id, kind, to_address",
    )
    .bind(id)
    .bind(error)
    .bind(now.millis())
    .bind(attempt)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(ended(row))
}

/// Withdraws a claimed email at the moment it would have been sent, with the reason the
/// console shows.
pub async fn mark_withdrawn(
    db: &Db,
    id: &str,
    attempt: i64,
    reason: &str,
    now: Timestamp,
) -> DomainResult<()> {
    end_unsent(db, id, attempt, DeliveryState::Cancelled, reason, now).await
}

/// Ends a claimed email without sending it: its body is erased, the reason kept. Fenced by the
/// attempt, so a sender whose lease ran out cannot overwrite a later claim's outcome.
async fn end_unsent(
    db: &Db,
    id: &str,
    attempt: i64,
    state: DeliveryState,
    reason: &str,
    now: Timestamp,
) -> DomainResult<()> {
    sqlx::query(
        "UPDATE email_outbox SET state = $5, body = NULL, html = NULL, last_error = $2, \
         lease_until = NULL, updated_at = $3 WHERE id = $1 AND state = 'sending' AND attempts = $4",
    )
    .bind(id)
    .bind(reason)
    .bind(now.millis())
    .bind(attempt)
    .bind(state.as_str())
    .execute(&mut *db.writer().await?)
    .await?;
    Ok(())
}

/// The reset an email hands over, as the mailer checks it before sending.
#[derive(sqlx::FromRow)]
struct CarriedReset {
    kind: String,
    used_at: Option<i64>,
    voided_at: Option<i64>,
    void_reason: Option<String>,
    expires_at: i64,
}

/// Why an email must not go out now, although it was valid when queued: the link or temporary
/// password it carries has expired, was used, voided or revoked, the password it carries was
/// replaced since, or the account was disabled. Read just before each attempt, because a mail
/// server may be down for hours and the message must never outlive what it hands over.
pub async fn withdrawal_reason(db: &Db, id: &str, now: Timestamp) -> DomainResult<Option<String>> {
    let reset: Option<CarriedReset> = sqlx::query_as(
        "SELECT kind, used_at, voided_at, void_reason, expires_at FROM password_resets \
         WHERE email_id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    if let Some(reset) = reset {
        let what = if reset.kind == "link" {
            "link"
        } else {
            "temporary password"
        };
        if reset.voided_at.is_some() {
            let why = reset.void_reason.unwrap_or_else(|| "voided".into());
            return Ok(Some(format!("the {what} no longer works ({why})")));
        }
        if reset.used_at.is_some() {
            return Ok(Some(format!("the {what} was already used")));
        }
        if reset.expires_at <= now.millis() {
            return Ok(Some(format!("the {what} expired before it could be sent")));
        }
    }
    let email: Option<(String, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT e.kind, e.created_at, u.active, u.password_changed_at FROM email_outbox e \
         LEFT JOIN users u ON u.id = e.user_id WHERE e.id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let Some((kind, created_at, active, changed_at)) = email else {
        return Ok(None);
    };
    if active == Some(0) {
        return Ok(Some("the account was disabled".into()));
    }
    if kind == "password_set" && changed_at.is_some_and(|at| at > created_at) {
        return Ok(Some(
            "the password it carries was replaced before it could be sent".into(),
        ));
    }
    Ok(None)
}

/// Records the secret key's fingerprint on first use, and refuses a key other than the one
/// this database was set up with: the queued mail of the other key could not be opened.
pub async fn adopt_secret_key(db: &Db, keys: &Keyring) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO secret_key_check (id, fingerprint) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
    )
    .bind(keys.fingerprint())
    .execute(db.pool())
    .await?;
    let (stored,): (String,) =
        sqlx::query_as("SELECT fingerprint FROM secret_key_check WHERE id = 1")
            .fetch_one(db.pool())
            .await?;
    if stored == keys.fingerprint() {
        return Ok(());
    }
    Err(DomainError::Conflict(format!(
        "this database was set up with another secret key (fingerprint {stored}, this one is \
         {}). Start every instance with the same LATCHKEY_SECRET_KEY or key file; restore it \
         from your backup. If it is lost for good, run `latchkey replace-secret-key`, which \
         withdraws the emails still queued (they cannot be read without the old key).",
        keys.fingerprint()
    )))
}

/// For a lost key: withdraws every email not yet sent (its body cannot be opened any more)
/// and records the new key's fingerprint. Returns how many emails were withdrawn.
pub async fn replace_secret_key(db: &Db, keys: &Keyring, now: Timestamp) -> DomainResult<u64> {
    let mut tx = db.begin().await?;
    let withdrawn = sqlx::query(
        "UPDATE email_outbox SET state = 'cancelled', body = NULL, html = NULL, lease_until = NULL, \
         last_error = 'sealed with a secret key that was replaced', updated_at = $1 \
         WHERE state IN ('queued', 'sending')",
    )
    .bind(now.millis())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query("DELETE FROM secret_key_check")
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO secret_key_check (id, fingerprint) VALUES (1, $1)")
        .bind(keys.fingerprint())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(withdrawn)
}

/// Seals bodies queued in the clear by a version before sealing existed, at start-up.
pub async fn seal_plain_bodies(db: &Db, keys: &Keyring) -> DomainResult<u64> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, body FROM email_outbox WHERE body IS NOT NULL AND body NOT LIKE 'v1.%'",
    )
    .fetch_all(db.pool())
    .await?;
    for (id, body) in &rows {
        sqlx::query("UPDATE email_outbox SET body = $2 WHERE id = $1 AND body = $3")
            .bind(id)
            .bind(keys.seal(id, body))
            .bind(body)
            .execute(db.pool())
            .await?;
    }
    Ok(rows.len() as u64)
}

#[derive(sqlx::FromRow)]
struct StatusRow {
    to_address: String,
    state: String,
    attempts: i64,
    last_error: Option<String>,
    sent_at: Option<i64>,
}

impl StatusRow {
    fn into_status(self, id: &str) -> DomainResult<EmailStatus> {
        Ok(EmailStatus {
            state: self
                .state
                .parse::<DeliveryState>()
                .map_err(|_| DomainError::Internal(format!("email {id}: bad state")))?,
            to: self.to_address,
            attempts: self.attempts,
            last_error: self.last_error,
            sent_at: self.sent_at.map(Timestamp),
        })
    }
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    id: String,
    subject: String,
    created_at: i64,
    #[sqlx(flatten)]
    status: StatusRow,
}

/// The newest `limit` emails to a user, newest first: what the details panel lists.
pub async fn recent_for_user<'e, E>(
    executor: E,
    user: &UserId,
    limit: i64,
) -> DomainResult<Vec<EmailRecord>>
where
    E: Executor<'e, Database = Any>,
{
    let rows: Vec<RecordRow> = sqlx::query_as(
        "SELECT id, subject, created_at, to_address, state, attempts, last_error, sent_at \
         FROM email_outbox WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(&user.0)
    .bind(limit)
    .fetch_all(executor)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(EmailRecord {
                status: r.status.into_status(&r.id)?,
                subject: r.subject,
                queued_at: Timestamp(r.created_at),
            })
        })
        .collect()
}

pub async fn status<'e, E>(executor: E, id: &str) -> DomainResult<Option<EmailStatus>>
where
    E: Executor<'e, Database = Any>,
{
    let row: Option<StatusRow> = sqlx::query_as(
        "SELECT to_address, state, attempts, last_error, sent_at FROM email_outbox WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(executor)
    .await?;
    row.map(|r| r.into_status(id)).transpose()
}

/// Emails handed to a mail server (or being handed) in the last minute and the last day, across
/// every instance: what the sending rate is measured against.
pub async fn recent_sends(db: &Db, now: Timestamp) -> DomainResult<(i64, i64)> {
    let since = |ms: i64| now.millis() - ms;
    let count = |from: i64| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM email_outbox WHERE sent_at >= $1")
            .bind(from)
            .fetch_one(db.pool())
    };
    let in_flight: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM email_outbox WHERE state = 'sending' AND lease_until > $1",
    )
    .bind(now.millis())
    .fetch_one(db.pool())
    .await?;
    let minute = count(since(MINUTE_MS)).await?;
    let day = count(since(24 * 3_600_000)).await?;
    Ok((minute + in_flight, day + in_flight))
}

/// When the oldest email sent in the last minute leaves it: the next moment the per-minute
/// limit lets one more go. `None` when none was sent in the last minute.
pub async fn minute_frees_at(db: &Db, now: Timestamp) -> DomainResult<Option<Timestamp>> {
    let oldest: Option<i64> =
        sqlx::query_scalar("SELECT MIN(sent_at) FROM email_outbox WHERE sent_at >= $1")
            .bind(now.millis() - MINUTE_MS)
            .fetch_one(db.pool())
            .await?;
    // `recent_sends` counts a send made exactly a minute ago: it leaves a millisecond later.
    Ok(oldest.map(|at| Timestamp(at + MINUTE_MS + 1)))
}

/// How many emails wait to be sent (queued or being sent now).
pub async fn waiting(db: &Db) -> DomainResult<i64> {
    Ok(
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM email_outbox WHERE state IN ('queued', 'sending')",
        )
        .fetch_one(db.pool())
        .await?,
    )
}

//! Server-side sessions. The browser holds a random token; the table holds its SHA-256, so a
//! leaked database cannot be replayed as a cookie.

use model::time::Timestamp;
use model::user::UserId;
use std::collections::HashMap;
use std::time::Duration;

use crate::db::{Db, Tx, engine_of};
use crate::error::DomainResult;
use crate::store::packed;
use crate::tokens::SecretToken;
use crate::users::{self, User};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A normal signed-in session.
    Full,
    /// Opened by a password that must be changed: it may set a new password and nothing else.
    PasswordChange,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Full => "full",
            Purpose::PasswordChange => "password_change",
        }
    }
}

/// How long sessions live: `idle` since the last request, `absolute` since sign-in.
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
}

/// Writing `last_seen_at` on every request would turn every page view into a write; a minute's
/// slack on a 30-minute idle limit is harmless.
const TOUCH_EVERY_MS: i64 = 60_000;

#[derive(Clone, Debug)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Session {
    pub user: User,
    pub purpose: Purpose,
    /// When the owner last typed their password in this session.
    pub verified_at: Timestamp,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub async fn create(
    tx: &mut Tx,
    user: &UserId,
    purpose: Purpose,
    policy: &SessionPolicy,
    client: &ClientInfo,
    now: Timestamp,
) -> DomainResult<SecretToken> {
    let token = SecretToken::generate();
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, purpose, created_at, last_seen_at, expires_at, \
         ip, user_agent) VALUES ($1, $2, $3, $4, $4, $5, $6, $7)",
    )
    .bind(token.digest().0)
    .bind(&user.0)
    .bind(purpose.as_str())
    .bind(now.millis())
    .bind(now.millis().saturating_add(millis(policy.absolute)))
    .bind(client.ip.as_deref())
    .bind(
        client
            .user_agent
            .as_deref()
            .map(|ua| ua.chars().take(256).collect::<String>()),
    )
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

/// A live session and its user, read together: every request that carries a cookie reads it.
#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    user: users::UserRow,
    purpose: String,
    last_seen_at: i64,
    session_verified_at: i64,
}

/// The live session a token names, if any: not expired (idle or absolute), and its user still
/// active. Keeps the session alive by touching it.
pub async fn authenticate(
    db: &Db,
    token: &SecretToken,
    policy: &SessionPolicy,
    now: Timestamp,
) -> DomainResult<Option<Session>> {
    let digest = token.digest();
    let idle_cutoff = now.millis().saturating_sub(millis(policy.idle));
    let row = sqlx::query_as::<_, SessionRow>(&format!(
        "SELECT {}, s.purpose, s.last_seen_at, \
         COALESCE(s.verified_at, s.created_at) AS session_verified_at \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3",
        *users::JOINED_COLUMNS
    ))
    .bind(&digest.0)
    .bind(now.millis())
    .bind(idle_cutoff)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let user = User::try_from(row.user)?;
    if !user.active {
        return Ok(None);
    }
    if now.millis() - row.last_seen_at > TOUCH_EVERY_MS {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
            .bind(&digest.0)
            .bind(now.millis())
            .execute(&mut *db.writer().await?)
            .await?;
    }
    let purpose = if row.purpose == Purpose::PasswordChange.as_str() {
        Purpose::PasswordChange
    } else {
        Purpose::Full
    };
    Ok(Some(Session {
        user,
        purpose,
        verified_at: Timestamp(row.session_verified_at),
    }))
}

/// The owner typed their password again in this session (sudo mode).
pub async fn mark_verified(tx: &mut Tx, token: &SecretToken, now: Timestamp) -> DomainResult<bool> {
    let done = sqlx::query("UPDATE sessions SET verified_at = $2 WHERE id_hash = $1")
        .bind(token.digest().0)
        .bind(now.millis())
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn revoke(db: &Db, token: &SecretToken) -> DomainResult<bool> {
    let done = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(token.digest().0)
        .execute(&mut *db.writer().await?)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Ends every session of a user: after any password change or reset, and when disabled.
pub async fn revoke_all_for_user(tx: &mut Tx, user: &UserId) -> DomainResult<u64> {
    let ended = revoke_all_for_users(tx, std::slice::from_ref(user)).await?;
    Ok(ended.get(&user.0).copied().unwrap_or(0))
}

/// Ends every session of each of `users` in one statement; how many each had, by user id.
pub async fn revoke_all_for_users(
    tx: &mut Tx,
    users: &[UserId],
) -> DomainResult<HashMap<String, u64>> {
    let mut ended = HashMap::new();
    if users.is_empty() {
        return Ok(ended);
    }
    let sql = format!(
        "DELETE FROM sessions WHERE user_id IN {} RETURNING user_id",
        packed::set(engine_of(tx), 1)
    );
    let query = sqlx::query_scalar::<_, String>(&sql).bind(packed::user_ids(users));
    for user in query.fetch_all(&mut **tx).await? {
        *ended.entry(user).or_default() += 1;
    }
    Ok(ended)
}

#[cfg(feature = "test-support")]
pub async fn count_for_user(db: &Db, user: &UserId) -> DomainResult<i64> {
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions WHERE user_id = $1")
        .bind(&user.0)
        .fetch_one(db.pool())
        .await?;
    Ok(count)
}

/// Drops sessions past their absolute expiry; run now and then by the server.
pub async fn purge_expired(db: &Db, now: Timestamp) -> DomainResult<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now.millis())
        .execute(&mut *db.writer().await?)
        .await?;
    Ok(done.rows_affected())
}

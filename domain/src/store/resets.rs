//! The `password_resets` table: links, temporary and generated passwords, one open per user
//! (a partial unique index), tokens stored only as SHA-256 digests.

use model::reset::{ResetKind, ResetStatus};
use model::time::Timestamp;
use model::user::UserId;
use serde_json::json;
use sqlx::{Any, Executor};

use crate::authority::Actor;
use crate::error::{DomainError, DomainResult};
use crate::store::db::{Db, Tx, engine_of, flag, is_set, is_unique_violation};
use crate::store::outbox;
use crate::store::packed;
use crate::tokens::TokenDigest;

/// A reset not yet used or voided (it may have expired).
pub struct OpenReset {
    pub id: String,
    pub created_by_admin: bool,
    pub expires_at: Timestamp,
    pub email_id: Option<String>,
}

pub async fn open_for_user(tx: &mut Tx, user: &UserId) -> DomainResult<Vec<OpenReset>> {
    let rows: Vec<(String, Option<String>, i64, Option<String>)> = sqlx::query_as(
        "SELECT id, created_by_id, expires_at, email_id FROM password_resets \
         WHERE user_id = $1 AND used_at IS NULL AND voided_at IS NULL",
    )
    .bind(&user.0)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, created_by, expires_at, email_id)| OpenReset {
            id,
            created_by_admin: created_by.is_some(),
            expires_at: Timestamp(expires_at),
            email_id,
        })
        .collect())
}

pub async fn void(tx: &mut Tx, id: &str, reason: &str, now: Timestamp) -> DomainResult<()> {
    sqlx::query(
        "UPDATE password_resets SET voided_at = $2, void_reason = $3 \
         WHERE id = $1 AND used_at IS NULL AND voided_at IS NULL",
    )
    .bind(id)
    .bind(now.millis())
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks the user's open temporary or generated password used.
pub async fn mark_temporary_used(tx: &mut Tx, user: &UserId, now: Timestamp) -> DomainResult<()> {
    sqlx::query(
        "UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL \
         AND voided_at IS NULL AND kind IN ('temporary_password', 'emailed_password')",
    )
    .bind(&user.0)
    .bind(now.millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub struct NewReset<'a> {
    pub user: &'a UserId,
    pub kind: ResetKind,
    pub token: Option<TokenDigest>,
    /// `None` when the user asked for it ("Forgot your password?").
    pub actor: Option<&'a Actor>,
    pub expires_at: Timestamp,
    pub email_id: Option<String>,
    pub invalidated_password: bool,
}

pub async fn insert(tx: &mut Tx, reset: NewReset<'_>, now: Timestamp) -> DomainResult<String> {
    let ids = insert_all(tx, std::slice::from_ref(&reset), now).await?;
    ids.into_iter()
        .next()
        .ok_or_else(|| DomainError::Internal("a reset was not inserted".into()))
}

/// Inserts resets in a few statements (a Bulk Change batch) and returns their ids, in order.
pub async fn insert_all(
    tx: &mut Tx,
    resets: &[NewReset<'_>],
    now: Timestamp,
) -> DomainResult<Vec<String>> {
    use packed::Column::{Int, Text};
    let ids: Vec<String> = resets.iter().map(|_| super::row_id::new()).collect();
    let mut rows = packed::Rows::default();
    for (reset, id) in resets.iter().zip(&ids) {
        rows.push(json!([
            id,
            reset.user.0,
            reset.kind.as_str(),
            reset.token.as_ref().map(|t| t.0.as_str()),
            reset.actor.map(|a| a.id().0.as_str()),
            reset.actor.map(Actor::username),
            reset.expires_at.millis(),
            reset.email_id,
            flag(reset.invalidated_password),
        ]));
    }
    if rows.is_empty() {
        return Ok(ids);
    }
    let columns = [
        Text("id"),
        Text("user_id"),
        Text("kind"),
        Text("token_hash"),
        Text("created_by_id"),
        Text("created_by_name"),
        Int("expires_at"),
        Text("email_id"),
        Int("invalidated_password"),
    ];
    let sql = format!(
        "INSERT INTO password_resets (id, user_id, kind, token_hash, created_at, \
         created_by_id, created_by_name, expires_at, email_id, invalidated_password) \
         SELECT id, user_id, kind, token_hash, $2, created_by_id, created_by_name, expires_at, \
         email_id, invalidated_password FROM ({}) AS issued",
        packed::rows(engine_of(tx), 1, &columns)
    );
    sqlx::query(&sql)
        .bind(rows.into_json())
        .bind(now.millis())
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                DomainError::Conflict(
                    "Another reset for this user was started at the same moment. Reload the \
                     user and try again."
                        .into(),
                )
            } else {
                e.into()
            }
        })?;
    Ok(ids)
}

/// The emails of the open resets of `users`: withdrawn when those resets are voided.
pub async fn open_emails_of(tx: &mut Tx, users: &[UserId]) -> DomainResult<Vec<String>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT email_id FROM password_resets WHERE user_id IN {} AND used_at IS NULL \
         AND voided_at IS NULL AND email_id IS NOT NULL",
        packed::set(engine_of(tx), 1)
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(packed::user_ids(users))
        .fetch_all(&mut **tx)
        .await?)
}

/// Voids every open reset of `users` in one statement.
pub async fn void_open_of(
    tx: &mut Tx,
    users: &[UserId],
    reason: &str,
    now: Timestamp,
) -> DomainResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE password_resets SET voided_at = $1, void_reason = $2 \
         WHERE user_id IN {} AND used_at IS NULL AND voided_at IS NULL",
        packed::set(engine_of(tx), 3)
    );
    sqlx::query(&sql)
        .bind(now.millis())
        .bind(reason)
        .bind(packed::user_ids(users))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The email of a reset that still works (for Revoke): `None` when it was used, voided or has
/// expired; `Some(None)` when it has no email.
pub async fn live_email_of(
    tx: &mut Tx,
    reset_id: &str,
    user: &UserId,
    now: Timestamp,
) -> DomainResult<Option<Option<String>>> {
    let row: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT email_id FROM password_resets WHERE id = $1 AND user_id = $2 \
         AND used_at IS NULL AND voided_at IS NULL AND expires_at > $3",
    )
    .bind(reset_id)
    .bind(&user.0)
    .bind(now.millis())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(email,)| email))
}

#[derive(sqlx::FromRow)]
struct ResetRow {
    id: String,
    kind: String,
    created_at: i64,
    created_by_name: Option<String>,
    expires_at: i64,
    used_at: Option<i64>,
    voided_at: Option<i64>,
    void_reason: Option<String>,
    email_id: Option<String>,
    invalidated_password: i64,
}

/// The latest reset of a user, with its email's delivery state: the reset status card.
/// Two resets can share a millisecond; the newer one is then the one still open, or else the
/// one voided last (a newer reset voids the older at the moment it is created).
pub async fn latest(db: &Db, user: &UserId) -> DomainResult<Option<ResetStatus>> {
    let row: Option<ResetRow> = sqlx::query_as(
        "SELECT id, kind, created_at, created_by_name, expires_at, used_at, voided_at, \
         void_reason, email_id, invalidated_password FROM password_resets \
         WHERE user_id = $1 \
         ORDER BY created_at DESC, (voided_at IS NULL) DESC, voided_at DESC, id DESC LIMIT 1",
    )
    .bind(&user.0)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let email = match &row.email_id {
        Some(id) => outbox::status(db.pool(), id).await?,
        None => None,
    };
    Ok(Some(ResetStatus {
        kind: row
            .kind
            .parse()
            .map_err(|_| DomainError::Internal(format!("reset {}: bad kind", row.id)))?,
        id: row.id,
        created_at: Timestamp(row.created_at),
        created_by: row.created_by_name,
        expires_at: Timestamp(row.expires_at),
        used_at: row.used_at.map(Timestamp),
        voided_at: row.voided_at.map(Timestamp),
        void_reason: row.void_reason,
        invalidated_password: is_set(row.invalidated_password),
        email,
    }))
}

const VALID_LINK: &str = "token_hash = $1 AND kind = 'link' AND used_at IS NULL \
                          AND voided_at IS NULL AND expires_at > $2";

/// A link's holder and state, whether or not it still works: for the audit trail's "opened"
/// and "refused" rows.
pub async fn link_state(
    db: &Db,
    digest: &TokenDigest,
    now: Timestamp,
) -> DomainResult<Option<(UserId, &'static str)>> {
    let row: Option<(String, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT user_id, expires_at, used_at, voided_at FROM password_resets \
         WHERE token_hash = $1 AND kind = 'link'",
    )
    .bind(&digest.0)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|(user, expires_at, used_at, voided_at)| {
        let state = if used_at.is_some() {
            "already used"
        } else if voided_at.is_some() {
            "revoked or replaced"
        } else if expires_at <= now.millis() {
            "expired"
        } else {
            "valid"
        };
        (UserId(user), state)
    }))
}

/// A link that still works: its user and expiry, without consuming it.
pub async fn find_valid_link<'e>(
    executor: impl Executor<'e, Database = Any>,
    digest: &TokenDigest,
    now: Timestamp,
) -> DomainResult<Option<(UserId, Timestamp)>> {
    let row: Option<(String, i64)> = sqlx::query_as(&format!(
        "SELECT user_id, expires_at FROM password_resets WHERE {VALID_LINK}"
    ))
    .bind(&digest.0)
    .bind(now.millis())
    .fetch_optional(executor)
    .await?;
    Ok(row.map(|(user, expires_at)| (UserId(user), Timestamp(expires_at))))
}

/// Spends a link with one conditional update, so of any racing requests exactly one wins.
/// Returns its user, or `None` when it no longer works.
pub async fn consume_link(
    tx: &mut Tx,
    digest: &TokenDigest,
    now: Timestamp,
) -> DomainResult<Option<UserId>> {
    let consumed: Option<(String,)> = sqlx::query_as(&format!(
        "UPDATE password_resets SET used_at = $2 WHERE {VALID_LINK} RETURNING user_id"
    ))
    .bind(&digest.0)
    .bind(now.millis())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(consumed.map(|(user,)| UserId(user)))
}

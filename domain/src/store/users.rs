//! The users table: every query that reads or writes it.

use model::fields::{self, FieldError};
use model::time::Timestamp;
use model::user::{Role, UserId, UserSource, UserSummary};
use serde_json::{Value, json};
use sqlx::{Any, Executor};
use std::sync::LazyLock;

use crate::db::{Db, Engine, Tx, engine_of, flag, is_set, is_unique_violation};
use crate::error::{DomainError, DomainResult};
use crate::hashing::PasswordDigest;
use crate::store::packed;
use crate::store::search::{self, Matches};
use crate::store::search_keys;

const COLUMNS: &str = "id, username, display_name, email, active, source, role, password_hash, \
     must_change_password, password_changed_at, password_expires_at, failed_logins, locked_until, \
     created_at, updated_at";

/// [`COLUMNS`] as read through the alias `u` in a join. Made once: every signed-in request
/// reads its session through it.
pub(crate) static JOINED_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    COLUMNS
        .split(',')
        .map(|column| format!("u.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ")
});

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    username: String,
    display_name: String,
    email: Option<String>,
    active: i64,
    source: String,
    role: String,
    password_hash: Option<String>,
    must_change_password: i64,
    password_changed_at: Option<i64>,
    password_expires_at: Option<i64>,
    failed_logins: i64,
    locked_until: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

/// A user as the server knows them, hash included. Never sent to a browser: [`User::summary`]
/// is the wire form.
#[derive(Clone, Debug)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub active: bool,
    pub source: UserSource,
    pub role: Role,
    pub password_hash: Option<PasswordDigest>,
    pub must_change_password: bool,
    pub password_changed_at: Option<Timestamp>,
    /// Set while the password is a temporary one (see [`crate::resets`]).
    pub password_expires_at: Option<Timestamp>,
    pub failed_logins: i64,
    pub locked_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl TryFrom<UserRow> for User {
    type Error = DomainError;

    fn try_from(row: UserRow) -> DomainResult<Self> {
        let corrupt = |what: &str| DomainError::Internal(format!("user {}: bad {what}", row.id));
        Ok(User {
            source: row.source.parse().map_err(|_| corrupt("source"))?,
            role: row.role.parse().map_err(|_| corrupt("role"))?,
            id: UserId(row.id),
            username: row.username,
            display_name: row.display_name,
            email: row.email,
            active: is_set(row.active),
            password_hash: row.password_hash.map(PasswordDigest),
            must_change_password: is_set(row.must_change_password),
            password_changed_at: row.password_changed_at.map(Timestamp),
            password_expires_at: row.password_expires_at.map(Timestamp),
            failed_logins: row.failed_logins,
            locked_until: row.locked_until.map(Timestamp),
            created_at: Timestamp(row.created_at),
            updated_at: Timestamp(row.updated_at),
        })
    }
}

impl User {
    pub fn summary(&self) -> UserSummary {
        UserSummary {
            id: self.id.clone(),
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            role: self.role,
            source: self.source,
            active: self.active,
            must_change_password: self.must_change_password,
            locked_until: self.locked_until,
        }
    }

    pub fn is_locked(&self, now: Timestamp) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// A user about to be created. Fields are validated by [`NewUser::new`].
#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub source: UserSource,
    pub must_change_password: bool,
    /// Is Active: an inactive person cannot sign in and gets no mail.
    pub active: bool,
}

impl NewUser {
    pub fn new(
        username: &str,
        display_name: &str,
        email: &str,
        role: Role,
    ) -> Result<Self, fields::FieldError> {
        Ok(Self {
            username: fields::username(username)?,
            display_name: fields::display_name(display_name)?,
            email: fields::email(email)?,
            role,
            source: UserSource::Local,
            must_change_password: false,
            active: true,
        })
    }
}

/// The six columns that name a person, bound in the order every insert lists them: username,
/// its key, display name, email, its key, and the search text.
trait BindNames<'q> {
    fn bind_names(self, username: &'q str, display_name: &'q str, email: Option<&'q str>) -> Self;
}

impl<'q> BindNames<'q> for sqlx::query::Query<'q, Any, <Any as sqlx::Database>::Arguments<'q>> {
    fn bind_names(self, username: &'q str, display_name: &'q str, email: Option<&'q str>) -> Self {
        self.bind(username)
            .bind(fields::username_key(username))
            .bind(display_name)
            .bind(email)
            .bind(email.map(fields::email_key))
            .bind(search_text(username, display_name, email))
    }
}

/// The six columns that name a person, as [`BindNames`] binds them, for packed rows.
const NAMES: &str = "username, username_key, display_name, email, email_key, search_text";
const NAME_COLUMNS: [packed::Column; 6] = [
    packed::Column::Text("username"),
    packed::Column::Text("username_key"),
    packed::Column::Text("display_name"),
    packed::Column::Text("email"),
    packed::Column::Text("email_key"),
    packed::Column::Text("search_text"),
];

/// The values of [`NAME_COLUMNS`] for one person.
fn names(username: &str, display_name: &str, email: Option<&str>) -> [Value; 6] {
    [
        json!(username),
        json!(fields::username_key(username)),
        json!(display_name),
        json!(email),
        json!(email.map(fields::email_key)),
        json!(search_text(username, display_name, email)),
    ]
}

/// What the search box matches: name, username and email, folded once at write time so a
/// search is one `LIKE` on one column in either engine.
pub(crate) fn search_text(username: &str, display_name: &str, email: Option<&str>) -> String {
    format!(
        "{} {} {}",
        username.to_lowercase(),
        display_name.to_lowercase(),
        email.unwrap_or_default().to_lowercase()
    )
}

/// An insert refused by the unique username or email index, said as such.
fn name_taken(e: sqlx::Error) -> DomainError {
    if is_unique_violation(&e) {
        DomainError::Conflict("A user with that username or email already exists.".into())
    } else {
        e.into()
    }
}

pub async fn insert(
    tx: &mut Tx,
    new: &NewUser,
    password: Option<&PasswordDigest>,
    now: Timestamp,
) -> DomainResult<UserId> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO users (id, username, username_key, display_name, email, email_key, \
         search_text, active, source, role, password_hash, must_change_password, \
         password_changed_at, failed_logins, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $14, $8, $9, $10, $11, $12, 0, $13, $13)",
    )
    .bind(&id.0)
    .bind_names(&new.username, &new.display_name, new.email.as_deref())
    .bind(new.source.as_str())
    .bind(new.role.as_str())
    .bind(password.map(|p| p.0.as_str()))
    .bind(flag(new.must_change_password))
    .bind(password.map(|_| now.millis()))
    .bind(now.millis())
    .bind(flag(new.active))
    .execute(&mut **tx)
    .await
    .map_err(name_taken)?;
    search_keys::place_crowded(tx).await?;
    Ok(id)
}

/// A fresh user id, time-ordered ([`super::row_id`]).
pub fn new_id() -> UserId {
    UserId(super::row_id::new())
}

/// `rows` sorted by username key, the order a multi-row insert should go in: SQLite's search
/// index is keyed in username order, and FTS5 writes out what it holds of the transaction
/// whenever a key comes below the one before (100,000 people in batches of 500 took 9.3 s in
/// random order and 5.9 s sorted, in the sqlite3 shell).
fn in_username_order<T>(rows: &[T], username: impl Fn(&T) -> &str) -> Vec<&T> {
    let mut sorted: Vec<(String, &T)> = rows
        .iter()
        .map(|row| (fields::username_key(username(row)), row))
        .collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    sorted.into_iter().map(|(_, row)| row).collect()
}

/// Inserts many new users, without passwords, in one statement (Import): a clash with an
/// existing username or email fails the whole call, as [`insert`] fails.
pub async fn insert_all(
    tx: &mut Tx,
    rows: &[(UserId, &NewUser)],
    now: Timestamp,
) -> DomainResult<()> {
    use packed::Column::{Int, Text};
    let mut packed_rows = packed::Rows::default();
    for (id, new) in in_username_order(rows, |(_, new)| &new.username) {
        let mut row = vec![json!(id.0)];
        row.extend(names(
            &new.username,
            &new.display_name,
            new.email.as_deref(),
        ));
        row.extend([
            json!(flag(new.active)),
            json!(new.source.as_str()),
            json!(new.role.as_str()),
            json!(flag(new.must_change_password)),
        ]);
        packed_rows.push(Value::Array(row));
    }
    if packed_rows.is_empty() {
        return Ok(());
    }
    let columns = [
        &[Text("id")][..],
        &NAME_COLUMNS,
        &[
            Int("active"),
            Text("source"),
            Text("role"),
            Int("must_change_password"),
        ],
    ]
    .concat();
    let sql = format!(
        "INSERT INTO users (id, {NAMES}, active, source, role, must_change_password, \
         failed_logins, lock_count, created_at, updated_at) \
         SELECT id, {NAMES}, active, source, role, must_change_password, 0, 0, $2, $2 \
         FROM ({}) AS new",
        packed::rows(engine_of(tx), 1, &columns)
    );
    sqlx::query(&sql)
        .bind(packed_rows.into_json())
        .bind(now.millis())
        .execute(&mut **tx)
        .await
        .map_err(name_taken)?;
    search_keys::place_crowded(tx).await
}

pub async fn get<'e>(
    exec: impl Executor<'e, Database = Any>,
    id: &UserId,
) -> DomainResult<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    sqlx::query_as::<_, UserRow>(&sql)
        .bind(&id.0)
        .fetch_optional(exec)
        .await?
        .map(User::try_from)
        .transpose()
}

/// The users of `ids` that exist, read in the caller's transaction with their rows locked
/// (PostgreSQL; SQLite's write transactions are serial already): Bulk Change's batch, in one
/// query.
pub async fn get_many_locked(tx: &mut Tx, ids: &[UserId]) -> DomainResult<Vec<User>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let lock = match engine_of(tx) {
        Engine::Postgres => " FOR UPDATE",
        Engine::Sqlite => "",
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE id IN {}{lock}",
        packed::set(engine_of(tx), 1)
    );
    sqlx::query_as::<_, UserRow>(&sql)
        .bind(packed::user_ids(ids))
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(User::try_from)
        .collect()
}

/// Which of a username and an email address another account already has, ignoring case:
/// `(username_taken, email_taken)`. `except` is the account being edited.
pub async fn taken<'e>(
    exec: impl Executor<'e, Database = Any>,
    username: Option<&str>,
    email: Option<&str>,
    except: Option<&UserId>,
) -> DomainResult<(bool, bool)> {
    let (names, emails): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN username_key = $1 THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN email_key = $2 THEN 1 ELSE 0 END), 0) \
         FROM users WHERE (username_key = $1 OR email_key = $2) AND id <> $3",
    )
    .bind(username.map(fields::username_key))
    .bind(email.map(fields::email_key))
    .bind(except.map_or("", |id| id.0.as_str()))
    .fetch_one(exec)
    .await?;
    Ok((names > 0, emails > 0))
}

/// The accounts with these username keys (an import's batch of rows).
pub async fn by_username_keys(db: &Db, keys: &[String]) -> DomainResult<Vec<User>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE username_key IN {}",
        packed::set(db.engine(), 1)
    );
    sqlx::query_as::<_, UserRow>(&sql)
        .bind(packed::strings(keys.iter().map(String::as_str)))
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .map(User::try_from)
        .collect()
}

/// Who has each of these email keys: (email key, username).
pub async fn email_owners(db: &Db, keys: &[String]) -> DomainResult<Vec<(String, String)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT email_key, username FROM users WHERE email_key IN {}",
        packed::set(db.engine(), 1)
    );
    Ok(sqlx::query_as(&sql)
        .bind(packed::strings(keys.iter().map(String::as_str)))
        .fetch_all(db.pool())
        .await?)
}

/// What an administrator may edit of a local account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub display_name: String,
    pub email: Option<String>,
    pub active: bool,
}

pub async fn update_profile(
    tx: &mut Tx,
    user: &User,
    profile: &Profile,
    now: Timestamp,
) -> DomainResult<()> {
    sqlx::query(
        "UPDATE users SET display_name = $2, email = $3, email_key = $4, search_text = $5, \
         active = $6, updated_at = $7 WHERE id = $1",
    )
    .bind(&user.id.0)
    .bind(&profile.display_name)
    .bind(profile.email.as_deref())
    .bind(profile.email.as_deref().map(fields::email_key))
    .bind(search_text(
        &user.username,
        &profile.display_name,
        profile.email.as_deref(),
    ))
    .bind(flag(profile.active))
    .bind(now.millis())
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            FieldError::new("email", "Another user already has that email address.").into()
        } else {
            DomainError::from(e)
        }
    })?;
    Ok(())
}

pub async fn set_role(tx: &mut Tx, id: &UserId, role: Role, now: Timestamp) -> DomainResult<()> {
    sqlx::query("UPDATE users SET role = $2, updated_at = $3 WHERE id = $1")
        .bind(&id.0)
        .bind(role.as_str())
        .bind(now.millis())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes the account; its sessions and resets go with it (foreign keys), its emails keep
/// their delivery record without it.
pub async fn delete(tx: &mut Tx, id: &UserId) -> DomainResult<()> {
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(&id.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Locks every active administrator's row for the rest of the transaction and returns their
/// ids. Two administrators demoting each other at once then take turns, and the second sees
/// the first's change: the "last administrator" check cannot be raced.
pub async fn lock_active_administrators(tx: &mut Tx) -> DomainResult<Vec<UserId>> {
    sqlx::query("UPDATE users SET id = id WHERE role = 'administrator' AND active = 1")
        .execute(&mut **tx)
        .await?;
    let ids: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM users WHERE role = 'administrator' AND active = 1")
            .fetch_all(&mut **tx)
            .await?;
    Ok(ids.into_iter().map(|(id,)| UserId(id)).collect())
}

/// The account a sign-in name refers to: a username first, else an email address.
pub async fn find_by_login_name(db: &Db, name: &str) -> DomainResult<Option<User>> {
    let key = name.trim().to_lowercase();
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE username_key = $1 OR email_key = $1 \
         ORDER BY CASE WHEN username_key = $1 THEN 0 ELSE 1 END LIMIT 1"
    );
    sqlx::query_as::<_, UserRow>(&sql)
        .bind(key)
        .fetch_optional(db.pool())
        .await?
        .map(User::try_from)
        .transpose()
}

/// One page of people matching `search` (see [`crate::store::search`] for how), in username
/// order after the keyset cursor `after`, and the cursor of the next page.
pub async fn list_page(
    db: &Db,
    search: &str,
    after: Option<&str>,
    limit: u32,
) -> DomainResult<(Vec<User>, Option<String>)> {
    let after = after.unwrap_or("");
    let want = i64::from(limit) + 1;
    let rows = match search::matches(search) {
        Matches::All => {
            let sql = format!(
                "SELECT {COLUMNS} FROM users WHERE username_key > $1 ORDER BY username_key LIMIT $2"
            );
            sqlx::query_as::<_, UserRow>(&sql)
                .bind(after)
                .bind(want)
                .fetch_all(db.pool())
                .await?
        }
        Matches::UsernamePrefix { from, to } => {
            let sql = format!(
                "SELECT {COLUMNS} FROM users WHERE username_key > $1 AND username_key >= $2 \
                 AND username_key < $3 ORDER BY username_key LIMIT $4"
            );
            sqlx::query_as::<_, UserRow>(&sql)
                .bind(after)
                .bind(from)
                .bind(to)
                .bind(want)
                .fetch_all(db.pool())
                .await?
        }
        Matches::Substring(term) => {
            by_ids_in_order(db, &search::page_ids(db, &term, after, want).await?).await?
        }
    };
    let mut users = rows
        .into_iter()
        .map(User::try_from)
        .collect::<DomainResult<Vec<_>>>()?;
    let next = if users.len() > limit as usize {
        users.truncate(limit as usize);
        users.last().map(|u| fields::username_key(&u.username))
    } else {
        None
    };
    Ok((users, next))
}

/// The rows of `ids` (a page's worth), in username order.
async fn by_ids_in_order(db: &Db, ids: &[String]) -> DomainResult<Vec<UserRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE id IN {} ORDER BY username_key",
        packed::set(db.engine(), 1)
    );
    Ok(sqlx::query_as(&sql)
        .bind(packed::strings(ids.iter().map(String::as_str)))
        .fetch_all(db.pool())
        .await?)
}

pub async fn count_administrators<'e>(
    exec: impl Executor<'e, Database = Any>,
) -> DomainResult<i64> {
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM users WHERE role = 'administrator' AND active = 1")
            .fetch_one(exec)
            .await?;
    Ok(count)
}

/// How an account locks after failed sign-ins.
#[derive(Clone, Copy, Debug)]
pub struct Lockout {
    /// Failures in a row that lock it.
    pub threshold: i64,
    /// The first lock's length, the second's, and every later one's (seconds).
    pub durations: [i64; 3],
}

/// Counts a failed sign-in and, once `lockout.threshold` failures run together and no lock is
/// running, locks the account for longer than the lock before. One statement, so concurrent
/// failures cannot lose a count or lock twice.
pub async fn record_failed_sign_in(
    tx: &mut Tx,
    id: &UserId,
    lockout: Lockout,
    now: Timestamp,
) -> DomainResult<Option<Timestamp>> {
    // Every SET expression reads the row as it was, so the condition is spelled twice.
    let locks = "failed_logins + 1 >= $2 AND (locked_until IS NULL OR locked_until <= $3)";
    let sql = format!(
        "UPDATE users SET failed_logins = failed_logins + 1, \
         locked_until = CASE WHEN {locks} THEN $3 + 1000 * CASE lock_count WHEN 0 THEN $4 \
         WHEN 1 THEN $5 ELSE $6 END ELSE locked_until END, \
         lock_count = CASE WHEN {locks} THEN lock_count + 1 ELSE lock_count END, \
         updated_at = $3 WHERE id = $1 RETURNING locked_until"
    );
    let [first, second, later] = lockout.durations;
    let locked_until: Option<Option<i64>> = sqlx::query_scalar(&sql)
        .bind(&id.0)
        .bind(lockout.threshold)
        .bind(now.millis())
        .bind(first)
        .bind(second)
        .bind(later)
        .fetch_optional(&mut **tx)
        .await?;
    // Only a failure that started a lock leaves it in the future: it was not locked before.
    Ok(locked_until
        .flatten()
        .filter(|until| *until > now.millis())
        .map(Timestamp))
}

/// Runs `UPDATE users SET {set} WHERE id IN (ids) {and}`, with `$NOW` in either standing for
/// the time: the per-user writes below, for one user or a Bulk Change batch in one statement.
async fn update_each(
    tx: &mut Tx,
    ids: &[UserId],
    set: &str,
    and: &str,
    now: Timestamp,
) -> DomainResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE users SET {set} WHERE id IN {} {and}",
        packed::set(engine_of(tx), 1)
    )
    .replace("$NOW", "$2");
    let mut query = sqlx::query(&sql).bind(packed::user_ids(ids));
    if sql.contains("$2") {
        query = query.bind(now.millis());
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// Takes the user's row lock for the rest of the transaction (on PostgreSQL; SQLite's write
/// transactions are serial already), so a concurrent password change waits for it.
pub async fn lock_row(tx: &mut Tx, id: &UserId) -> DomainResult<()> {
    update_each(tx, std::slice::from_ref(id), "id = id", "", Timestamp(0)).await
}

/// What clearing the failed-sign-in count and the lock writes: the one definition, used by
/// [`clear_failed_sign_ins`] and by [`force_reset_of`], which clears them with its flag.
const CLEAR_LOCK: &str = "failed_logins = 0, locked_until = NULL, lock_count = 0";

/// Where the failed-sign-in count and the lock are cleared: a successful sign-in, any password
/// written or reset issued, and Unlock all come here (Force Password Reset through
/// [`force_reset_of`]).
pub async fn clear_failed_sign_ins(tx: &mut Tx, id: &UserId, now: Timestamp) -> DomainResult<()> {
    clear_failed_sign_ins_of(tx, std::slice::from_ref(id), now).await
}

/// [`clear_failed_sign_ins`] for many users in one statement.
pub async fn clear_failed_sign_ins_of(
    tx: &mut Tx,
    ids: &[UserId],
    now: Timestamp,
) -> DomainResult<()> {
    update_each(
        tx,
        ids,
        &format!("{CLEAR_LOCK}, updated_at = $NOW"),
        "AND (failed_logins <> 0 OR locked_until IS NOT NULL OR lock_count <> 0)",
        now,
    )
    .await
}

/// Writes a new password hash and its state; the lock is cleared separately
/// ([`clear_failed_sign_ins`]).
/// The stored hash of `id`, read in the caller's transaction.
pub async fn password_hash(tx: &mut Tx, id: &UserId) -> DomainResult<Option<PasswordDigest>> {
    let hash: Option<Option<String>> =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(&id.0)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(hash.flatten().map(PasswordDigest))
}

pub async fn set_password_hash(
    tx: &mut Tx,
    id: &UserId,
    digest: &PasswordDigest,
    must_change: bool,
    expires_at: Option<Timestamp>,
    now: Timestamp,
) -> DomainResult<()> {
    sqlx::query(
        "UPDATE users SET password_hash = $2, must_change_password = $3, password_changed_at = $4, \
         password_expires_at = $5, updated_at = $4 WHERE id = $1",
    )
    .bind(&id.0)
    .bind(&digest.0)
    .bind(flag(must_change))
    .bind(now.millis())
    .bind(expires_at.map(Timestamp::millis))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Force Password Reset on Next Login: the current password then opens only the change page,
/// the lock is cleared ([`clear_failed_sign_ins_of`]) and a live temporary password ends
/// ([`end_temporary_passwords`]). One statement, since the flag rewrites every row anyway: a
/// Bulk Change batch then finds each person once instead of three times.
pub async fn force_reset_of(tx: &mut Tx, ids: &[UserId], now: Timestamp) -> DomainResult<()> {
    update_each(
        tx,
        ids,
        &format!(
            "must_change_password = 1, {CLEAR_LOCK}, password_expires_at = CASE \
             WHEN password_expires_at > $NOW THEN $NOW ELSE password_expires_at END, \
             updated_at = $NOW"
        ),
        "",
        now,
    )
    .await
}

/// "Invalidate current password now": no password works until a new one is set.
pub async fn invalidate_passwords(tx: &mut Tx, ids: &[UserId], now: Timestamp) -> DomainResult<()> {
    update_each(
        tx,
        ids,
        "password_hash = NULL, must_change_password = 1, password_expires_at = NULL, \
         updated_at = $NOW",
        "",
        now,
    )
    .await
}

/// Ends a live temporary password now.
pub async fn end_temporary_passwords(
    tx: &mut Tx,
    ids: &[UserId],
    now: Timestamp,
) -> DomainResult<()> {
    update_each(
        tx,
        ids,
        "password_expires_at = $NOW",
        "AND password_expires_at > $NOW",
        now,
    )
    .await
}

/// Spends a temporary password by one conditional update on the value it was checked against
/// (`expected`, which spending changes), not on the clock: of two sign-ins racing with it,
/// whichever order they read the time in, only one finds the value unchanged.
pub async fn spend_temporary_password(
    tx: &mut Tx,
    id: &UserId,
    expected: Timestamp,
    now: Timestamp,
) -> DomainResult<bool> {
    let spent = sqlx::query(
        "UPDATE users SET password_expires_at = $3 WHERE id = $1 AND password_expires_at = $2 \
         AND password_expires_at > $3",
    )
    .bind(&id.0)
    .bind(expected.millis())
    .bind(now.millis())
    .execute(&mut **tx)
    .await?;
    Ok(spent.rows_affected() == 1)
}

/// A user written whole, without a password (demo data, imports).
pub struct UserRecord {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub active: bool,
    pub external: bool,
    /// Must change the password at the next sign-in.
    pub flagged: bool,
}

pub async fn count(db: &Db) -> DomainResult<u64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(db.pool())
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Inserts many users in one statement (a clash with an existing username or email is skipped,
/// not an error) and returns how many went in.
pub async fn insert_many(db: &Db, batch: &[UserRecord], now: Timestamp) -> DomainResult<u64> {
    use packed::Column::{Int, Text};
    let mut rows = packed::Rows::default();
    for user in in_username_order(batch, |user| &user.username) {
        let mut row = vec![json!(user.id)];
        row.extend(names(
            &user.username,
            &user.display_name,
            user.email.as_deref(),
        ));
        row.extend([
            json!(flag(user.active)),
            json!(if user.external { "external" } else { "local" }),
            json!(flag(user.flagged)),
        ]);
        rows.push(Value::Array(row));
    }
    let columns = [
        &[Text("id")][..],
        &NAME_COLUMNS,
        &[Int("active"), Text("source"), Int("must_change_password")],
    ]
    .concat();
    // `WHERE true`: without it SQLite would read `ON CONFLICT` as the start of a join.
    let sql = format!(
        "INSERT INTO users (id, {NAMES}, active, source, must_change_password, created_at, \
         updated_at, role, failed_logins, password_changed_at) \
         SELECT id, {NAMES}, active, source, must_change_password, $2, $2, 'user', 0, NULL \
         FROM ({}) AS new WHERE true ON CONFLICT DO NOTHING",
        packed::rows(db.engine(), 1, &columns)
    );
    let query = sqlx::query(&sql).bind(rows.into_json()).bind(now.millis());
    let mut tx = db.begin().await?;
    let done = query.execute(&mut *tx).await?;
    search_keys::place_crowded(&mut tx).await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

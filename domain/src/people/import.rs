//! Import users from CSV, the usual export of HR systems and directories: the file read and
//! refused whole when it is not a CSV Latchkey can trust, every row sorted into new, updated,
//! unchanged or error before anything changes, then applied in batches, each one transaction.
//! Idempotent by username: importing the same file twice changes nothing the second time.

use model::Role;
use model::fields::{self, FieldError};
use model::import::{ImportState, ImportSummary};
use model::people::{AccountChange, account_refusal};
use model::time::Timestamp;
use model::user::{Permission, UserId};
use std::collections::HashMap;

use super::edit::{changes, edit_in_tx};
use super::{event_by, send_welcome};
use crate::Services;
use crate::audit::{self, AuditAction, AuditEvent, Party};
use crate::authority::Actor;
use crate::credentials::{load, target_of};
use crate::error::{DomainError, DomainResult};
use crate::store;
use crate::users::{self, NewUser, Profile, User};

/// The largest file accepted: a directory of a few hundred thousand people.
pub const MAX_BYTES: usize = 50 * 1024 * 1024;
/// Rows per transaction when applying: short enough to keep the write lock brief.
const BATCH: usize = 500;
/// Rows an import needs before the search index is settled after it: settling rewrites the
/// whole index (seconds at a million people), which pays after thousands of new rows, not
/// after a few that FTS5's own merging takes care of.
const SETTLE_FROM_ROWS: usize = 1_000;

/// One data row of the file, as typed.
#[derive(Clone, Debug)]
pub struct ImportRow {
    /// The row's line in the file (the header is line 1).
    pub line: u64,
    pub username: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: Option<String>,
    pub active: Option<String>,
}

fn refused(reason: impl Into<String>) -> DomainError {
    FieldError::new("file", reason).into()
}

/// The columns a header may name, by what directories and HR exports call them.
fn column_of(header: &str) -> Option<&'static str> {
    let key: String = header
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    match key.as_str() {
        "username" | "user" | "login" | "loginname" | "samaccountname" | "uid" => Some("username"),
        "displayname" | "name" | "fullname" | "cn" => Some("display_name"),
        "email" | "mail" | "emailaddress" | "userprincipalname" => Some("email"),
        "role" => Some("role"),
        "active" | "isactive" | "enabled" | "status" => Some("active"),
        _ => None,
    }
}

/// Refuses a file over [`MAX_BYTES`] before it is read.
pub fn check_size(len: u64) -> DomainResult<()> {
    if len > MAX_BYTES as u64 {
        return Err(refused(
            "The file is larger than 50 MB. Split it into smaller files and import each.",
        ));
    }
    Ok(())
}

/// Reads a CSV file, or refuses it whole with a reason that says how to fix it: too large, not
/// UTF-8 (with the line where it stops being so), not CSV, no username column, no rows.
pub fn parse(bytes: &[u8]) -> DomainResult<Vec<ImportRow>> {
    check_size(bytes.len() as u64)?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        return Err(refused(format!(
            "The file is not UTF-8 text (line {line}). Save it as \"CSV UTF-8\" and import it \
             again."
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| refused(format!("The first line is not a CSV header: {e}.")))?
        .clone();
    let mut at: HashMap<&'static str, usize> = HashMap::new();
    for (i, header) in headers.iter().enumerate() {
        if let Some(column) = column_of(header) {
            at.entry(column).or_insert(i);
        }
    }
    let Some(&username_at) = at.get("username") else {
        return Err(refused(
            "The file has no username column. Its first line must name the columns, for \
             example: username,display_name,email,role,active",
        ));
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => refused(format!(
                    "Line {line} has {len} fields where the header has {expected_len}. Check \
                     for a missing or extra comma, or an unclosed quote."
                )),
                _ => refused(format!("Line {line} is not valid CSV.")),
            }
        })?;
        let line = record.position().map_or(0, csv::Position::line);
        let cell = |column: &str| {
            at.get(column)
                .and_then(|&i| record.get(i))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        rows.push(ImportRow {
            line,
            username: record.get(username_at).unwrap_or_default().to_owned(),
            display_name: cell("display_name"),
            email: cell("email"),
            role: cell("role"),
            active: cell("active"),
        });
    }
    if rows.is_empty() {
        return Err(refused("The file has a header but no rows to import."));
    }
    Ok(rows)
}

/// What importing a row would do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    New,
    /// With what changes, in the audit trail's words.
    Updated(String),
    Unchanged,
    /// Why the row cannot be imported; the other rows still can.
    Error(String),
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::New => "new",
            Verdict::Updated(_) => "updated",
            Verdict::Unchanged => "unchanged",
            Verdict::Error(_) => "error",
        }
    }

    pub fn detail(&self) -> &str {
        match self {
            Verdict::Updated(d) | Verdict::Error(d) => d,
            _ => "",
        }
    }
}

/// A row, checked against the directory.
#[derive(Clone, Debug)]
pub struct Planned {
    pub line: u64,
    pub username: String,
    pub verdict: Verdict,
    change: Change,
}

#[derive(Clone, Debug)]
enum Change {
    None,
    Create(NewUser),
    Edit(Box<User>, Profile),
}

fn parse_active(raw: Option<&str>) -> Result<Option<bool>, String> {
    let Some(raw) = raw else { return Ok(None) };
    match raw.to_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "active" | "enabled" => Ok(Some(true)),
        "0" | "false" | "no" | "n" | "inactive" | "disabled" => Ok(Some(false)),
        other => Err(format!("active must be yes or no, not {other:?}")),
    }
}

fn parse_role(raw: Option<&str>) -> Result<Option<Role>, String> {
    let Some(raw) = raw else { return Ok(None) };
    let key: String = raw
        .to_lowercase()
        .chars()
        .filter(char::is_ascii_alphabetic)
        .collect();
    match key.as_str() {
        "user" => Ok(Some(Role::User)),
        "passwordmanager" | "helpdesk" => Ok(Some(Role::PasswordManager)),
        "administrator" | "admin" => Ok(Some(Role::Administrator)),
        _ => Err(format!(
            "role must be User or Password Manager, not {raw:?}"
        )),
    }
}

/// Sorts every row into new, updated, unchanged or error, changing nothing: the preview.
pub async fn plan(
    services: &Services,
    actor: &Actor,
    rows: &[ImportRow],
) -> DomainResult<Vec<Planned>> {
    actor.must_hold(Permission::UserManagement)?;
    let mut existing: HashMap<String, User> = HashMap::new();
    let keys: Vec<String> = rows
        .iter()
        .map(|r| fields::username_key(&r.username))
        .collect();
    for chunk in keys.chunks(BATCH) {
        for user in users::by_username_keys(&services.db, chunk).await? {
            existing.insert(fields::username_key(&user.username), user);
        }
    }
    let emails: Vec<String> = rows
        .iter()
        .filter_map(|r| r.email.as_deref().map(fields::email_key))
        .collect();
    let mut email_owner: HashMap<String, String> = HashMap::new();
    for chunk in emails.chunks(BATCH) {
        for (key, username) in users::email_owners(&services.db, chunk).await? {
            email_owner.insert(key, username);
        }
    }
    let mut seen_names: HashMap<String, u64> = HashMap::new();
    let mut seen_emails: HashMap<String, u64> = HashMap::new();
    Ok(rows
        .iter()
        .map(|row| {
            let (verdict, change) = judge(
                actor,
                row,
                &existing,
                &email_owner,
                &mut seen_names,
                &mut seen_emails,
            )
            .unwrap_or_else(|reason| (Verdict::Error(reason), Change::None));
            Planned {
                line: row.line,
                username: row.username.clone(),
                verdict,
                change,
            }
        })
        .collect())
}

fn judge(
    actor: &Actor,
    row: &ImportRow,
    existing: &HashMap<String, User>,
    email_owner: &HashMap<String, String>,
    seen_names: &mut HashMap<String, u64>,
    seen_emails: &mut HashMap<String, u64>,
) -> Result<(Verdict, Change), String> {
    let username = fields::username(&row.username).map_err(|e| e.reason)?;
    let key = fields::username_key(&username);
    if let Some(first) = seen_names.insert(key.clone(), row.line) {
        return Err(format!("the same username is on line {first}"));
    }
    let email = fields::email(row.email.as_deref().unwrap_or_default()).map_err(|e| e.reason)?;
    if let Some(email) = &email {
        let email_key = fields::email_key(email);
        if let Some(first) = seen_emails.insert(email_key.clone(), row.line) {
            return Err(format!("the same email address is on line {first}"));
        }
        if let Some(owner) = email_owner.get(&email_key)
            && fields::username_key(owner) != key
        {
            return Err(format!("{owner} already has that email address"));
        }
    }
    let active = parse_active(row.active.as_deref())?;
    let role = parse_role(row.role.as_deref())?;
    let display_name = row.display_name.as_deref();
    match existing.get(&key) {
        None => {
            if role == Some(Role::Administrator) {
                return Err("administrators are added one at a time with Add user".into());
            }
            let display_name = display_name.unwrap_or(&username);
            let mut new = NewUser::new(
                &username,
                display_name,
                email.as_deref().unwrap_or_default(),
                role.unwrap_or(Role::User),
            )
            .map_err(|e| e.reason)?;
            new.active = active.unwrap_or(true);
            Ok((Verdict::New, Change::Create(new)))
        }
        Some(user) => {
            let profile = Profile {
                display_name: match display_name {
                    Some(name) => fields::display_name(name).map_err(|e| e.reason)?,
                    None => user.display_name.clone(),
                },
                // A file without an email column leaves addresses alone; a row with an empty
                // cell in that column does too: an import never removes an address.
                email: email.or_else(|| user.email.clone()),
                active: active.unwrap_or(user.active),
            };
            let changed = changes(user, &profile);
            if changed.is_empty() {
                return Ok((Verdict::Unchanged, Change::None));
            }
            let target = target_of(actor, user);
            let change = if user.active == profile.active {
                AccountChange::Edit
            } else {
                AccountChange::SetActive
            };
            if let Some(reason) = account_refusal(actor.role(), change, &target) {
                return Err(reason.trim_end_matches('.').to_lowercase());
            }
            if user.role == Role::Administrator {
                return Err("administrators are changed one at a time in the console".into());
            }
            Ok((
                Verdict::Updated(changed.join("; ")),
                Change::Edit(Box::new(user.clone()), profile),
            ))
        }
    }
}

/// What an import did to one row.
#[derive(Clone, Debug)]
pub struct RowResult {
    pub line: u64,
    pub username: String,
    pub result: &'static str,
    pub detail: String,
}

/// Applies a plan: new people created (and sent a welcome link when asked, if they have an
/// address and are active), changed ones edited, each batch of rows one transaction; a row
/// the directory no longer allows (changed since the preview) fails alone. `progress` hears
/// how many rows are done after each batch. Administrators, with a recently confirmed password.
pub async fn apply(
    services: &Services,
    actor: &Actor,
    plan: &[Planned],
    send_links: bool,
    mut progress: impl FnMut(usize),
) -> DomainResult<Vec<RowResult>> {
    actor.must_hold(Permission::UserManagement)?;
    actor.must_be_confirmed()?;
    let mut results = Vec::with_capacity(plan.len());
    let mut done = 0;
    for batch in plan.chunks(BATCH) {
        results.extend(apply_chunk(services, actor, batch, send_links, None).await?);
        done += batch.len();
        progress(done);
    }
    services.mail.wake();
    Ok(results)
}

/// One batch, in one transaction. A row the directory refuses now (changed since the
/// preview) spoils its batch's transaction: the batch is then redone a row at a time, so only
/// that row fails. With a `job`, each row's result is recorded in the transaction that did it.
/// Refused whole (`Forbidden`) once the actor may no longer import.
async fn apply_chunk(
    services: &Services,
    actor: &Actor,
    batch: &[Planned],
    send_links: bool,
    job: Option<Runner<'_>>,
) -> DomainResult<Vec<RowResult>> {
    match apply_batch(services, actor, batch, send_links, job).await {
        Ok(results) => return Ok(results),
        Err(DomainError::Forbidden) => return Err(DomainError::Forbidden),
        Err(_) => {}
    }
    let mut results = Vec::with_capacity(batch.len());
    for planned in batch {
        let one = std::slice::from_ref(planned);
        match apply_batch(services, actor, one, send_links, job).await {
            Ok(mut done) => results.append(&mut done),
            Err(DomainError::Forbidden) => return Err(DomainError::Forbidden),
            // Nothing was written: the resumer tries the row again once the database is back.
            Err(e @ DomainError::Unavailable(_)) => return Err(e),
            Err(e) => {
                let failed = RowResult {
                    line: planned.line,
                    username: planned.username.clone(),
                    result: "failed",
                    detail: match e {
                        DomainError::Invalid(field) => field.reason,
                        DomainError::Database(_) | DomainError::Internal(_) => {
                            "internal error".to_owned()
                        }
                        other => other.to_string(),
                    },
                };
                if let Some(job) = job {
                    let mut tx = services.db.begin().await?;
                    let row = [(failed.line, failed.result, failed.detail.as_str())];
                    let now = Timestamp::now();
                    store::imports::record_results(&mut tx, job.id, job.runner, &row, now).await?;
                    tx.commit().await?;
                }
                results.push(failed);
            }
        }
    }
    Ok(results)
}

async fn apply_batch(
    services: &Services,
    actor: &Actor,
    batch: &[Planned],
    send_links: bool,
    job: Option<Runner<'_>>,
) -> DomainResult<Vec<RowResult>> {
    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    // The import may run for minutes: whoever started it must still be allowed to, batch by
    // batch, as a bulk job's administrator is.
    super::actor_still_may(&mut tx, actor).await?;
    let mut results = Vec::with_capacity(batch.len());
    // New people without a welcome email are written together at the end of the batch: a few
    // statements for hundreds of rows, as `latchkey seed` writes them.
    let mut created: Vec<(UserId, &NewUser)> = Vec::new();
    let mut events: Vec<AuditEvent> = Vec::new();
    for planned in batch {
        let (result, detail) = match &planned.change {
            Change::None => (planned.verdict.label(), planned.verdict.detail().to_owned()),
            Change::Create(new) if !(send_links && new.active && new.email.is_some()) => {
                let id = users::new_id();
                let target = Party {
                    id: id.clone(),
                    name: new.username.clone(),
                };
                let note = format!("imported from line {}; {}", planned.line, new.role.label());
                let event = AuditEvent::success(
                    now,
                    AuditAction::UserCreated,
                    actor.party(),
                    target,
                    actor.ip().map(str::to_owned),
                );
                events.push(event.with_detail(Some(note)));
                created.push((id, new));
                ("created", String::new())
            }
            Change::Create(new) => {
                let id = users::insert(&mut tx, new, None, now).await?;
                let user = load(&mut tx, &id).await?;
                let event = event_by(actor, AuditAction::UserCreated, &user, now);
                let note = format!("imported from line {}; {}", planned.line, user.role.label());
                audit::record(&mut *tx, &event.with_detail(Some(note))).await?;
                let minutes = model::reset::LINK_MINUTES_MAX;
                send_welcome(&mut tx, services, actor, &user, minutes, now).await?;
                ("created", "welcome email queued".to_owned())
            }
            Change::Edit(before, profile) => {
                let user = load(&mut tx, &before.id).await?;
                // The row was judged against the account as it was then; a change made in the
                // console since must not be overwritten with what the file left blank.
                if user.updated_at != before.updated_at || user.role == Role::Administrator {
                    return Err(DomainError::Conflict(
                        "the account changed since the preview: import the file again".into(),
                    ));
                }
                edit_in_tx(&mut tx, &services.keys, actor, &user, profile, now).await?;
                ("updated", changes(&user, profile).join("; "))
            }
        };
        results.push(RowResult {
            line: planned.line,
            username: planned.username.clone(),
            result,
            detail,
        });
    }
    users::insert_all(&mut tx, &created, now).await?;
    store::audit::insert_all(&mut tx, &events).await?;
    if let Some(job) = job {
        let recorded: Vec<(u64, &str, &str)> = results
            .iter()
            .map(|r| (r.line, r.result, r.detail.as_str()))
            .collect();
        store::imports::record_results(&mut tx, job.id, job.runner, &recorded, now).await?;
    }
    tx.commit().await?;
    Ok(results)
}

/// The report of an import as CSV, a row per line of the file, with spreadsheet formulas
/// defused as in every CSV Latchkey writes.
pub fn report_csv(results: &[RowResult]) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    let _ = out.write_record(["line", "username", "result", "detail"]);
    for row in results {
        let _ = out.write_record([
            row.line.to_string(),
            crate::bulk::defuse(&row.username),
            row.result.to_owned(),
            crate::bulk::defuse(&row.detail),
        ]);
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// How long a running import may go without a batch before it counts as interrupted.
const HEARTBEAT_MS: i64 = 60_000;
/// How many error rows the preview lists (the report has every row).
const LISTED: i64 = 200;
/// How many of the rows that will change something the preview shows, as a sample.
const SAMPLED: i64 = 20;

/// Upload: reads and sorts the file, and stores its rows and their verdicts for the preview.
/// Nothing in the directory changes. Returns the import's id.
pub async fn stage(
    services: &Services,
    actor: &Actor,
    file_name: &str,
    bytes: &[u8],
) -> DomainResult<String> {
    actor.must_hold(Permission::UserManagement)?;
    let rows = parse(bytes)?;
    let planned = plan(services, actor, &rows).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let name: String = file_name
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let mut tx = services.db.begin().await?;
    store::imports::insert_job(
        &mut tx,
        store::imports::NewJob {
            id: &id,
            created_by_id: &actor.id().0,
            created_by_name: actor.username(),
            file_name: &name,
            total: i64::try_from(rows.len()).unwrap_or(i64::MAX),
        },
        Timestamp::now(),
    )
    .await?;
    let staged: Vec<(&ImportRow, &str, &str)> = rows
        .iter()
        .zip(&planned)
        .map(|(row, p)| (row, p.verdict.label(), p.verdict.detail()))
        .collect();
    store::imports::insert_rows(&mut tx, &id, &staged).await?;
    tx.commit().await?;
    Ok(id)
}

/// The preview, and once started the progress and outcome, of the import `id` (its creator's
/// only).
pub async fn summary(services: &Services, actor: &Actor, id: &str) -> DomainResult<ImportSummary> {
    actor.must_hold(Permission::UserManagement)?;
    let job = own_job(services, actor, id).await?;
    let counts: HashMap<String, i64> = store::imports::verdict_counts(&services.db, id)
        .await?
        .into_iter()
        .collect();
    let count = |v: &str| u64::try_from(counts.get(v).copied().unwrap_or(0)).unwrap_or(0);
    let now = Timestamp::now().millis();
    let state = match (job.started_at, job.finished_at, job.heartbeat_at) {
        (None, _, _) => ImportState::Previewed,
        (_, Some(_), _) => ImportState::Finished,
        (_, None, Some(beat)) if now - beat > HEARTBEAT_MS => ImportState::Interrupted,
        _ => ImportState::Running,
    };
    Ok(ImportSummary {
        id: job.id.clone(),
        file_name: job.file_name.clone(),
        created_at: Timestamp(job.created_at),
        total: u64::try_from(job.total).unwrap_or(0),
        new: count("new"),
        updated: count("updated"),
        unchanged: count("unchanged"),
        errors: count("error"),
        problems: store::imports::lines(&services.db, id, &["error"], LISTED).await?,
        changes: store::imports::lines(&services.db, id, &["new", "updated"], SAMPLED).await?,
        state,
        processed: u64::try_from(job.processed).unwrap_or(0),
        results: store::imports::result_counts(&services.db, id)
            .await?
            .into_iter()
            .map(|(r, n)| (r, u64::try_from(n).unwrap_or(0)))
            .collect(),
    })
}

async fn own_job(
    services: &Services,
    actor: &Actor,
    id: &str,
) -> DomainResult<store::imports::JobRow> {
    match store::imports::job(&services.db, id).await? {
        Some(job) if job.created_by_id == actor.id().0 => Ok(job),
        // Another administrator's upload is theirs to start; it may hold names they were
        // asked to keep to themselves.
        _ => Err(DomainError::NotFound),
    }
}

/// Start import: runs the staged rows in the background, re-checked against the directory as
/// it is now. Once only, however many times it is asked. Administrators, with a recently
/// confirmed password.
pub async fn start(
    services: &Services,
    actor: &Actor,
    id: &str,
    send_links: bool,
) -> DomainResult<()> {
    let result = try_start(services, actor, id, send_links).await;
    audit::audited(
        &services.db,
        actor,
        None,
        AuditAction::UsersImported,
        result,
    )
    .await
}

async fn try_start(
    services: &Services,
    actor: &Actor,
    id: &str,
    send_links: bool,
) -> DomainResult<()> {
    actor.must_hold(Permission::UserManagement)?;
    actor.must_be_confirmed()?;
    let job = own_job(services, actor, id).await?;
    let now = Timestamp::now();
    let mut tx = services.db.begin().await?;
    let runner = uuid::Uuid::new_v4().to_string();
    if !store::imports::claim_start(&mut tx, id, send_links, &runner, now).await? {
        return Ok(());
    }
    let event = AuditEvent {
        at: now,
        actor: Some(actor.party()),
        target: None,
        action: AuditAction::UsersImported,
        outcome: audit::Outcome::Success,
        ip: actor.ip().map(str::to_owned),
        detail: Some(format!(
            "{} ({} rows){}",
            job.file_name,
            job.total,
            if send_links {
                "; welcome links to new users"
            } else {
                ""
            }
        )),
    };
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    let (actor, import) = (actor.clone(), id.to_owned());
    // Below the requests, as a bulk job: thousands of rows are seconds of both cores.
    let started =
        crate::background::spawn("import", services.clone(), move |services| async move {
            let job = Runner {
                id: &import,
                runner: &runner,
            };
            if let Err(e) = run(&services, &actor, job, send_links).await {
                tracing::warn!(error = %e, import = %import, "an import stopped");
            }
        });
    if let Err(e) = started {
        // Claimed and recorded: the resumer takes it up once it counts as stalled.
        tracing::warn!(error = %e, import = %id, "an import waits for the resumer");
    }
    Ok(())
}

/// A started import and the runner that holds it: every batch commits only while it does.
#[derive(Clone, Copy)]
struct Runner<'a> {
    id: &'a str,
    runner: &'a str,
}

/// How long an import's runner may go without a batch before another instance takes it over.
const STALLED_MS: i64 = 60_000;

/// Takes over one import whose runner stopped (its instance died mid-import) and runs the
/// rest of it: only rows without a result, since each row's result committed with its change.
/// `false` when there was none.
pub async fn resume_stalled(services: &Services) -> DomainResult<bool> {
    let runner = uuid::Uuid::new_v4().to_string();
    let now = Timestamp::now();
    let stale = Timestamp(now.millis() - STALLED_MS);
    let Some((id, by_id, by_name, send_links)) =
        store::imports::claim_stalled(&services.db, &runner, stale, now).await?
    else {
        return Ok(false);
    };
    tracing::info!(import = %id, "resuming an import whose runner stopped");
    // Its creator's authority, checked against their current row before every batch.
    let actor = Actor::restored(UserId(by_id), by_name, Role::Administrator, None);
    let job = Runner {
        id: &id,
        runner: &runner,
    };
    run(services, &actor, job, send_links).await?;
    Ok(true)
}

/// Every instance looks for stalled imports now and then, and resumes them below the requests.
pub fn spawn_resumer(services: Services) -> DomainResult<()> {
    crate::background::spawn("import-resumer", services, |services| async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            if let Err(e) = resume_stalled(&services).await {
                tracing::warn!(error = %e, "could not resume an import");
            }
        }
    })
}

async fn run(
    services: &Services,
    actor: &Actor,
    job: Runner<'_>,
    send_links: bool,
) -> DomainResult<()> {
    let pending = store::imports::pending(&services.db, job.id).await?;
    // Sorted again, since the directory may have changed since the preview; a row the preview
    // refused stays refused (its reason may be another row of the file, done already).
    let (refused, open): (Vec<_>, Vec<_>) = pending.into_iter().partition(|p| p.verdict == "error");
    let rows: Vec<ImportRow> = open.into_iter().map(|p| p.row).collect();
    let mut planned = plan(services, actor, &rows).await?;
    planned.extend(refused.into_iter().map(|p| Planned {
        line: p.row.line,
        username: p.row.username,
        verdict: Verdict::Error(p.detail),
        change: Change::None,
    }));
    planned.sort_by_key(|p| p.line);
    for batch in planned.chunks(BATCH) {
        match apply_chunk(services, actor, batch, send_links, Some(job)).await {
            Ok(_) => services.mail.wake(),
            // The rest stays unapplied, and the report says so ("not imported").
            Err(DomainError::Forbidden) => {
                tracing::warn!(import = %job.id, "the administrator may no longer import; stopped");
                break;
            }
            Err(e) => return Err(e),
        }
    }
    store::imports::finish(&services.db, job.id, job.runner, Timestamp::now()).await?;
    // After the import, not during it: its people are searchable at once either way, and the
    // index is reshaped once, not per batch. A failure leaves it slower, not wrong.
    if planned.len() >= SETTLE_FROM_ROWS
        && let Err(e) = store::search::settle(&services.db).await
    {
        tracing::warn!(import = %job.id, error = %e, "could not settle the search index");
    }
    Ok(())
}

/// The downloadable report: every row of the file and what happened to it.
pub async fn report(services: &Services, actor: &Actor, id: &str) -> DomainResult<String> {
    actor.must_hold(Permission::UserManagement)?;
    own_job(services, actor, id).await?;
    let lines = store::imports::report_lines(&services.db, id).await?;
    let results: Vec<RowResult> = lines
        .into_iter()
        .map(|l| RowResult {
            line: l.line,
            username: l.username,
            result: match l.verdict.as_str() {
                "created" => "created",
                "updated" => "updated",
                "unchanged" => "unchanged",
                "failed" => "failed",
                "error" => "error",
                // A row the job never reached (it was stopped, or not started).
                _ => "not imported",
            },
            detail: l.detail,
        })
        .collect();
    Ok(report_csv(&results))
}

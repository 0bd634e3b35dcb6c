//! Creating a job (idempotent per request key) and reading its progress.

use model::bulk::{BulkJob, BulkKind};
use model::time::Timestamp;
use model::user::Permission;

use super::{JobOptions, Selection};
use crate::Services;
use crate::audit::{self, AuditAction, AuditEvent};
use crate::authority::Actor;
use crate::db::Db;
use crate::error::{DomainError, DomainResult};
use crate::store;

/// Whether a request key has the shape the preview hands out (a UUID), so anything else is
/// refused before it reaches the database.
fn check_request_key(key: &str) -> DomainResult<()> {
    if (1..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        Ok(())
    } else {
        Err(model::fields::FieldError::new(
            "request_key",
            "This Bulk Change request is not valid. Open the preview again.",
        )
        .into())
    }
}

/// Creates a job over the selection and returns its id; the work happens in the background.
/// Idempotent per `request_key` (from the preview): a repeated start, however close to the
/// first, returns the job the first one created and changes nothing more.
pub async fn create_job(
    services: &Services,
    actor: &Actor,
    options: JobOptions,
    selection: &Selection,
    request_key: &str,
) -> DomainResult<String> {
    let result = try_create_job(services, actor, options, selection, request_key).await;
    audit::audited(&services.db, actor, None, AuditAction::BulkStarted, result).await
}

/// The steps, unaudited: the public function records how they ended.
async fn try_create_job(
    services: &Services,
    actor: &Actor,
    options: JobOptions,
    selection: &Selection,
    request_key: &str,
) -> DomainResult<String> {
    actor.must_hold(Permission::UserManagement)?;
    // A borrowed console session must not be able to reset a whole organisation.
    actor.must_be_confirmed()?;
    check_request_key(request_key)?;
    if let Some(existing) = store::bulk::job_for_key(&services.db, actor.id(), request_key).await? {
        return Ok(existing);
    }
    if options.kind == BulkKind::SendLink {
        model::reset::check_link_minutes(options.link_minutes)?;
    }
    let now = Timestamp::now();
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = services.db.begin().await?;
    let job = store::bulk::NewJob {
        id: &id,
        kind: options.kind,
        link_minutes: options.link_minutes,
        invalidate_password: options.invalidate_password,
        actor,
        request_key,
    };
    if !store::bulk::insert_job(&mut tx, job, now).await? {
        // The same start, racing this one, committed first (the unique index on the key).
        drop(tx);
        return store::bulk::job_for_key(&services.db, actor.id(), request_key)
            .await?
            .ok_or_else(|| DomainError::Internal("a bulk job key vanished".into()));
    }
    // A selection refused here (none ticked, too many, a bad search) rolls the job back.
    let total = store::bulk::insert_items(&mut tx, &id, selection).await?;
    if total == 0 {
        return Err(
            model::fields::FieldError::new("selection", "No users match this selection.").into(),
        );
    }
    let event = AuditEvent::success(
        now,
        AuditAction::BulkStarted,
        actor.party(),
        actor.party(),
        actor.ip().map(str::to_owned),
    )
    .with_detail(Some(format!(
        "{} for {total} selected user(s); job {id}",
        options.kind.label()
    )));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    services.bulk.wake();
    Ok(id)
}

/// A job's progress and tally, for its page. Administrators only, as Bulk Change is.
pub async fn job(db: &Db, actor: &Actor, id: &str) -> DomainResult<Option<BulkJob>> {
    actor.must_hold(Permission::UserManagement)?;
    let Some(row) = store::bulk::job(db, id).await? else {
        return Ok(None);
    };
    let deliveries = if row.link_queued_count > 0 {
        store::outbox::job_deliveries(db, id).await?
    } else {
        (0, 0)
    };
    let tally = tally(&row, deliveries);
    Ok(Some(BulkJob {
        kind: row
            .kind
            .parse()
            .map_err(|_| DomainError::Internal(format!("bulk job {id}: bad kind")))?,
        id: row.id,
        created_by: row.created_by_name,
        created_at: Timestamp(row.created_at),
        finished_at: row.finished_at.map(Timestamp),
        total: u64::try_from(row.total).unwrap_or(0),
        processed: u64::try_from(row.processed).unwrap_or(0),
        tally,
    }))
}

/// How many items ended each way, by name, with a link's item split by what became of its
/// email (`sent`, `failed`, from the outbox): the kinds that occurred, in the order of their
/// names.
fn tally(row: &store::bulk::JobRow, (sent, failed): (i64, i64)) -> Vec<(String, u64)> {
    let mut tally = vec![
        ("email_failed", failed),
        ("failed", row.failed_count),
        ("link_queued", row.link_queued_count - sent - failed),
        ("link_sent", sent),
        ("reset", row.reset_count),
        ("skipped", row.skipped_count),
    ];
    tally.retain(|(_, n)| *n > 0);
    tally
        .into_iter()
        .map(|(kind, n)| (kind.to_owned(), n.unsigned_abs()))
        .collect()
}

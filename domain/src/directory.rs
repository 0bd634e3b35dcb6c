//! Reading people: the Users list, one person's details, their activity. Each read demands an
//! [`Actor`] holding the permission it needs: another person's data is never read without one.

use model::audit::{ACTIVITY_DAYS, Activity, AuditFilter, AuditPage, DayCount};
use model::time::Timestamp;
use model::user::{Permission, UserDetails, UserId, UserSummary};

use crate::Services;
use crate::authority::Actor;
use crate::error::{DomainError, DomainResult};
use crate::{audit, outbox, resets, users};

/// One page of people matching `search` (name, username or email) after the keyset cursor
/// `after`, and the cursor of the next page. Administrators and Password Managers.
pub async fn list_users(
    services: &Services,
    actor: &Actor,
    search: &str,
    after: Option<&str>,
    limit: u32,
) -> DomainResult<(Vec<UserSummary>, Option<String>)> {
    actor.must_hold(Permission::SetPasswords)?;
    let (page, next) = users::list_page(&services.db, search, after, limit).await?;
    Ok((page.iter().map(users::User::summary).collect(), next))
}

/// The details panel of one person: their account, the reset status card, their latest emails
/// and the settings the panel's buttons depend on.
pub async fn user_details(
    services: &Services,
    actor: &Actor,
    id: &UserId,
) -> DomainResult<UserDetails> {
    actor.must_hold(Permission::SetPasswords)?;
    let settings = services.security().await?;
    let user = users::get(services.db.pool(), id)
        .await?
        .ok_or(DomainError::NotFound)?;
    Ok(UserDetails {
        summary: user.summary(),
        password_changed_at: user.password_changed_at,
        failed_logins: user.failed_logins,
        created_at: user.created_at,
        updated_at: user.updated_at,
        now: Timestamp::now(),
        reset: resets::status(&services.db, id).await?,
        emails: outbox::recent_for_user(services.db.pool(), id, 5).await?,
        emailed_passwords_allowed: settings.allow_emailed_passwords,
        temporary_password_hours: settings.temporary_password_hours,
    })
}

/// The Activity tab: the newest audit events about a person. Administrators only: the trail
/// says who did what, which a helpdesk account has no need to read.
pub async fn activity(
    services: &Services,
    actor: &Actor,
    id: &UserId,
    limit: u32,
) -> DomainResult<Activity> {
    actor.must_hold(Permission::UserManagement)?;
    let entries = audit::for_user(&services.db, id, limit).await?;
    let today = Timestamp::now().day();
    let first = today - (ACTIVITY_DAYS - 1);
    let counted =
        crate::store::audit::sign_ins_per_day(&services.db, id, Timestamp(first * 86_400_000))
            .await?;
    // Every day of the range, quiet ones too: a chart with gaps misleads.
    let days = (first..=today)
        .map(|day| {
            let (ok, failed) = counted
                .iter()
                .find(|(d, _, _)| *d == day)
                .map_or((0, 0), |(_, ok, failed)| (*ok, *failed));
            DayCount {
                day,
                sign_ins: u32::try_from(ok).unwrap_or(u32::MAX),
                failures: u32::try_from(failed).unwrap_or(u32::MAX),
            }
        })
        .collect();
    Ok(Activity { entries, days })
}

/// Management > Audit: one page of the trail, filtered, newest first.
pub async fn audit_page(
    services: &Services,
    actor: &Actor,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: u32,
) -> DomainResult<AuditPage> {
    actor.must_hold(Permission::UserManagement)?;
    let checked = filter.check()?;
    let mut entries =
        crate::store::audit::search(&services.db, &checked, before, limit + 1).await?;
    let older = if entries.len() > limit as usize {
        entries.truncate(limit as usize);
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(AuditPage { entries, older })
}

/// One chunk of Management > Audit's Export CSV: up to `limit` events of the filtered view
/// older than `before`, as CSV lines (the header first when `before` is `None`), and where the
/// next chunk starts. Cells a spreadsheet would run as a formula are defused.
pub async fn audit_csv_chunk(
    services: &Services,
    actor: &Actor,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: u32,
) -> DomainResult<(String, Option<i64>)> {
    let page = audit_page(services, actor, filter, before, limit).await?;
    let mut csv = csv::Writer::from_writer(Vec::new());
    let failed = |e: csv::Error| DomainError::Internal(e.to_string());
    if before.is_none() {
        csv.write_record([
            "id",
            "time (UTC)",
            "actor",
            "target",
            "action",
            "outcome",
            "ip",
            "detail",
        ])
        .map_err(failed)?;
    }
    for e in &page.entries {
        let cells = [
            e.id.to_string(),
            e.at.to_string(),
            e.actor.clone().unwrap_or_default(),
            e.target.clone().unwrap_or_default(),
            e.action.clone(),
            e.outcome.clone(),
            e.ip.clone().unwrap_or_default(),
            e.detail.clone().unwrap_or_default(),
        ];
        csv.write_record(cells.iter().map(|c| crate::bulk::defuse(c)))
            .map_err(failed)?;
    }
    let bytes = csv
        .into_inner()
        .map_err(|e| DomainError::Internal(e.to_string()))?;
    Ok((String::from_utf8_lossy(&bytes).into_owned(), page.older))
}

//! One batch of a job, set-based: the batch's users are read in one query, the skip rule picks
//! who is affected, and the change is written for all of them at once (a few statements for
//! the flags, sessions, voided links, audit rows and, for links, tokens and emails), with each
//! item's outcome. A batch costs about what one user did.

use model::bulk::{BulkKind, Candidate, ItemOutcome, skip_reason};
use model::time::Timestamp;
use model::user::UserId;
use std::collections::HashMap;

use super::JobOptions;
use crate::Services;
use crate::authority::Actor;
use crate::db::Tx;
use crate::error::DomainResult;
use crate::passwords;
use crate::resets::{self, LinkDelivery, LinkRequest};
use crate::store::{self, bulk::Finished};
use crate::users::{self, User};

/// What the skip rule reads of `user`, for a job run with `actor`'s authority.
fn candidate(actor: &Actor, user: &User) -> Candidate {
    Candidate {
        is_actor: &user.id == actor.id(),
        role: user.role,
        source: user.source,
        active: user.active,
        must_change_password: user.must_change_password,
        has_email: user.email.is_some(),
    }
}

fn skipped(user: &UserId, reason: &str) -> Finished {
    Finished {
        user: user.clone(),
        outcome: ItemOutcome::Skipped.as_str(),
        reason: Some(reason.to_owned()),
        email_id: None,
    }
}

/// One job as a batch sees it: which, what to do, and on whose authority.
pub(super) struct JobRef<'a> {
    pub id: &'a str,
    pub options: JobOptions,
    pub actor: &'a Actor,
}

/// Applies the job to `items` (their users) inside the batch's transaction and says how each
/// item ended, in the items' order.
pub(super) async fn apply(
    tx: &mut Tx,
    services: &Services,
    job: JobRef<'_>,
    items: &[UserId],
    now: Timestamp,
) -> DomainResult<Vec<Finished>> {
    let mut found: HashMap<String, User> = users::get_many_locked(tx, items)
        .await?
        .into_iter()
        .map(|user| (user.id.0.clone(), user))
        .collect();
    let mut finished = Vec::with_capacity(items.len());
    // The affected users and the place of each one's outcome in `finished`.
    let mut affected: Vec<(usize, User)> = Vec::new();
    for id in items {
        let Some(user) = found.remove(&id.0) else {
            finished.push(skipped(id, "user deleted"));
            continue;
        };
        if let Some(reason) = skip_reason(job.options.kind, candidate(job.actor, &user)) {
            finished.push(skipped(id, reason.as_str()));
            continue;
        }
        affected.push((finished.len(), user));
        finished.push(Finished {
            user: id.clone(),
            outcome: match job.options.kind {
                BulkKind::ForceReset => ItemOutcome::Reset,
                BulkKind::SendLink => ItemOutcome::LinkQueued,
            }
            .as_str(),
            reason: None,
            email_id: None,
        });
    }
    let (places, users): (Vec<usize>, Vec<User>) = affected.into_iter().unzip();
    if users.is_empty() {
        return Ok(finished);
    }
    let note = format!("bulk job {}; ", job.id);
    match job.options.kind {
        BulkKind::ForceReset => {
            passwords::flag_each(tx, &services.keys, job.actor, &users, now, &note).await?;
        }
        BulkKind::SendLink => {
            let request = LinkRequest {
                minutes: job.options.link_minutes,
                invalidate_password: job.options.invalidate_password,
                delivery: LinkDelivery::Email,
            };
            let text = resets::LinkText::Reset { note: &note };
            let issued =
                resets::issue_links(tx, services, job.actor, &users, request, text, now).await?;
            let emails: Vec<String> = issued.iter().filter_map(|l| l.email_id.clone()).collect();
            store::outbox::belong_to_job(tx, job.id, &emails).await?;
            for (place, link) in places.into_iter().zip(issued) {
                finished[place].email_id = link.email_id;
            }
        }
    }
    Ok(finished)
}

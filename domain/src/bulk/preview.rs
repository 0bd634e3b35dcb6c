//! The preview dialog: who would be affected and who skipped, and why, before anything changes.

use model::bulk::{BulkKind, BulkPreview, Candidate, SkipReason, skip_reason};
use model::user::{Permission, Role};
use std::collections::BTreeMap;

use super::{EXAMPLES, Selection};
use crate::audit::{self, AuditAction};
use crate::authority::Actor;
use crate::db::{Db, is_set};
use crate::error::DomainResult;
use crate::store::{self, bulk::CandidateGroup};

/// What the skip rule sees of one group of the selection.
fn candidate(group: &CandidateGroup) -> Candidate {
    Candidate {
        is_actor: is_set(group.is_actor),
        // An unreadable role counts as the most protected one.
        role: group.role.parse().unwrap_or(Role::Administrator),
        source: group.source.parse().unwrap_or(model::UserSource::External),
        active: is_set(group.active),
        must_change_password: is_set(group.must_change_password),
        has_email: is_set(group.has_email),
    }
}

/// The preview dialog: nothing changes. The skip rule is the model's, applied per group.
pub async fn preview(
    db: &Db,
    actor: &Actor,
    kind: BulkKind,
    selection: &Selection,
) -> DomainResult<BulkPreview> {
    let result = try_preview(db, actor, kind, selection).await;
    audit::audited(db, actor, None, AuditAction::BulkPreviewed, result).await
}

/// The steps, unaudited: the public function records how they ended.
async fn try_preview(
    db: &Db,
    actor: &Actor,
    kind: BulkKind,
    selection: &Selection,
) -> DomainResult<BulkPreview> {
    actor.must_hold(Permission::UserManagement)?;
    let groups = store::bulk::candidate_groups(db, actor.id(), selection).await?;
    let mut selected = 0;
    let mut skipped: BTreeMap<SkipReason, u64> = BTreeMap::new();
    let mut examples = Vec::new();
    for group in &groups {
        let users = u64::try_from(group.users).unwrap_or(0);
        selected += users;
        let Some(reason) = skip_reason(kind, candidate(group)) else {
            continue;
        };
        *skipped.entry(reason).or_default() += users;
        // A few names from each skipped group, for the dialog's list.
        let names = store::bulk::group_examples(db, actor.id(), selection, group, EXAMPLES).await?;
        examples.extend(names.into_iter().map(|name| (name, reason)));
    }
    examples.sort_by_key(|(name, _)| name.to_lowercase());
    examples.truncate(EXAMPLES);
    let skipped_total: u64 = skipped.values().sum();
    Ok(BulkPreview {
        kind,
        // Handed back by the dialog's OK: a second start with it returns the first job.
        request_key: uuid::Uuid::new_v4().to_string(),
        selected,
        affected: selected - skipped_total,
        skipped: skipped.into_iter().collect(),
        examples,
    })
}

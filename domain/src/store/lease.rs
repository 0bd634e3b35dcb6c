//! Leased claims, for work any instance may take (an email to send, a bulk job to run): a few
//! due candidates are read, then each is claimed by a conditional update that only one
//! claimant can win. The winner holds it until its lease runs out; a row whose holder died is
//! due again from then on, so work is neither done twice nor lost with an instance.

use std::future::Future;

use crate::error::DomainResult;

/// How many due rows a claimant reads before trying to claim them one by one: enough that
/// instances racing for the first ones still find one left.
pub const CANDIDATES: i64 = 5;

/// Tries `claim` (a conditional update) on each candidate in order and returns the first won;
/// `None` when others won them all.
pub async fn first_claimed<T, F, Fut>(
    candidates: impl IntoIterator<Item = String>,
    mut claim: F,
) -> DomainResult<Option<T>>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = DomainResult<Option<T>>>,
{
    for id in candidates {
        if let Some(won) = claim(id).await? {
            return Ok(Some(won));
        }
    }
    Ok(None)
}

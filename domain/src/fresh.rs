//! A value read from the database that each instance may trust for a few seconds: the settings
//! and templates of Management. Another instance's change reaches this one within that time;
//! the instance that made it forgets its copy at once.

use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long an instance trusts what it last read before reading the row again.
pub const FRESH_FOR: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct Fresh<T>(Arc<RwLock<Slot<T>>>);

#[derive(Debug)]
struct Slot<T> {
    /// Counts the changes this instance made. A read begun before a change must not be kept
    /// after it, or the old value would be trusted for [`FRESH_FOR`] after the change was saved.
    generation: u64,
    value: Option<(Instant, T)>,
}

impl<T> Clone for Fresh<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Default for Fresh<T> {
    fn default() -> Self {
        Self(Arc::new(RwLock::new(Slot {
            generation: 0,
            value: None,
        })))
    }
}

impl<T: Clone> Fresh<T> {
    /// The value last read if it is younger than [`FRESH_FOR`], or else what `load` reads now.
    /// A read that a [`Fresh::forget`] overtook is returned to its caller but not kept.
    pub async fn get_or_load<E, F>(&self, load: impl FnOnce() -> F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        let generation = {
            let slot = self
                .0
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some((at, value)) = &slot.value
                && at.elapsed() < FRESH_FOR
            {
                return Ok(value.clone());
            }
            slot.generation
        };
        let value = load().await?;
        let mut slot = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.generation == generation {
            slot.value = Some((Instant::now(), value.clone()));
        }
        Ok(value)
    }

    /// Drops the value: called by the instance that changed it, after the change committed.
    pub fn forget(&self) {
        let mut slot = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slot.generation += 1;
        slot.value = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_read_overtaken_by_a_change_is_not_kept() {
        let fresh = Fresh::<u32>::default();
        let old: Result<u32, ()> = fresh
            .get_or_load(|| async {
                // The change commits and forgets while this read of the old row is in flight.
                fresh.forget();
                Ok(15)
            })
            .await;
        assert_eq!(old, Ok(15), "the caller still gets what it read");
        let now: Result<u32, ()> = fresh.get_or_load(|| async { Ok(10) }).await;
        assert_eq!(
            now,
            Ok(10),
            "the next caller reads the changed row, not the stale copy"
        );
        let kept: Result<u32, ()> = fresh.get_or_load(|| async { Ok(99) }).await;
        assert_eq!(kept, Ok(10), "an undisturbed read is kept");
    }
}

//! A value read from the database that each instance may trust for a few seconds: the settings
//! and templates of Management. Another instance's change reaches this one within that time;
//! the instance that made it forgets its copy at once.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long an instance trusts what it last read before reading the row again.
pub const FRESH_FOR: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct Fresh<T>(Arc<RwLock<Option<(Instant, T)>>>);

impl<T> Clone for Fresh<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Default for Fresh<T> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<T: Clone> Fresh<T> {
    /// The value last put, if it is younger than [`FRESH_FOR`].
    pub fn get(&self) -> Option<T> {
        let cached = self.0.read().ok()?;
        let (at, value) = cached.as_ref()?;
        (at.elapsed() < FRESH_FOR).then(|| value.clone())
    }

    pub fn put(&self, value: T) {
        if let Ok(mut cached) = self.0.write() {
            *cached = Some((Instant::now(), value));
        }
    }

    pub fn forget(&self) {
        if let Ok(mut cached) = self.0.write() {
            *cached = None;
        }
    }
}

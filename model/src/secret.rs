//! Passwords and tokens on their way from a form to the server.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A secret a person typed. It must be serialisable to travel in a request, but its `Debug`
/// hides it, so logging a request struct cannot leak it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_never_shows_the_value() {
        let s = super::Secret::new("hunter2hunter2hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}

//! Import users from CSV, as the console shows it: the preview of every row, then the job's
//! progress and outcome.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// One row of the file and what importing it would do (the preview) or did (the report).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportLine {
    /// The line in the file; the header is line 1.
    pub line: u64,
    pub username: String,
    /// new, updated, unchanged or error; after the import: created, updated, unchanged,
    /// error or failed.
    pub verdict: String,
    pub detail: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportState {
    /// Sorted, nothing changed yet.
    Previewed,
    Running,
    Finished,
    /// The instance running it stopped; another (or the same, restarted) takes it over and
    /// imports only the rows not yet done.
    Interrupted,
}

/// An uploaded file: its preview, and once started the job's progress and outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub id: String,
    pub file_name: String,
    pub created_at: Timestamp,
    pub total: u64,
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub errors: u64,
    /// The rows with errors, first ones first (at most a few hundred).
    pub problems: Vec<ImportLine>,
    /// The first few rows that would change something, as a sample.
    pub changes: Vec<ImportLine>,
    pub state: ImportState,
    pub processed: u64,
    /// After the import: how many rows ended each way (created, updated, unchanged, error,
    /// failed).
    pub results: Vec<(String, u64)>,
}

impl ImportSummary {
    /// How far the job is, in percent.
    pub fn percent(&self) -> u64 {
        (self.processed * 100)
            .checked_div(self.total)
            .unwrap_or(100)
    }
}

//! Ids of the rows Latchkey writes in numbers: people, emails, resets.
//!
//! Time-ordered (UUIDv7, monotonic within the process) rather than random: a new id sorts after
//! every earlier one, so a new row's entry lands on the last pages of each index keyed by it,
//! and rows written together sit together. A Bulk Change walks its people in id order (see
//! `store::bulk::next_items`), so one batch's people, their audit rows' and emails' index
//! entries and its items share a few pages instead of touching one page each; on SQLite every
//! page a transaction touches is written to the log once more at its commit.
//!
//! An id tells when its row was made, to the millisecond. Nothing here is secret: the console
//! shows when an account was created, and an id grants nothing without the session's rights.

pub fn new() -> String {
    uuid::Uuid::now_v7().to_string()
}

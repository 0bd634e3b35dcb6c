//! All of Latchkey's SQL, one module per table or aggregate. Operations call these functions;
//! nothing outside this folder writes a query. Both engines run the same SQL through sqlx
//! `Any` (see ARCHITECTURE.md for why), except where one engine can do much better, which
//! stays behind one function here.

pub mod audit;
pub mod bulk;
pub mod db;
pub mod history;
pub mod imports;
pub mod lease;
pub mod limits;
pub mod outbox;
pub(crate) mod packed;
pub mod resets;
pub mod row_id;
pub mod search;
pub(crate) mod search_keys;
pub(crate) mod search_pieces;
pub mod sessions;
pub mod settings;
pub mod setup;
pub mod users;

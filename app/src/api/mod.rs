//! The `#[server]` functions, by capability. Each is a public HTTP endpoint under `/api/`: its
//! first line establishes who calls and what they may do.

pub mod auth;
pub mod bulk;
pub mod email;
pub mod passwords;
pub mod people;
pub mod resets;
pub mod settings;
pub mod setup;
pub mod users;

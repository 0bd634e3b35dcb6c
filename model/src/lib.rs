//! What the browser and the server agree on: wire types, field rules and the password policy.
//!
//! Everything here compiles to WASM as well as natively, so a rule written once gives the
//! browser instant feedback and the server its real check.

pub mod audit;
pub mod bulk;
pub mod eligibility;
pub mod email;
pub mod fields;
pub mod import;
pub mod people;
pub mod policy;
pub mod query;
pub mod reset;
pub mod secret;
pub mod settings;
pub mod templates;
pub mod time;
pub mod user;

pub use policy::{PasswordPolicy, PolicyContext, PolicyViolation};
pub use user::{Me, Permission, Role, UserId, UserSource};

/// A stored or submitted name (a role, a kind, a state) that matches none of the known ones.
#[derive(Debug, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownValue(pub String);

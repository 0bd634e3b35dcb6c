//! One file per route.

pub mod account;
pub mod change_password;
pub mod home;
pub mod login;
pub mod not_found;
pub mod setup;
pub mod users;

//! One file per route.

pub mod account;
pub mod add_user;
pub mod audit;
pub mod bulk_job;
pub mod change_password;
pub mod email_settings;
pub mod forgot;
pub mod home;
pub mod import_users;
pub mod login;
pub mod not_found;
pub mod password_policy;
pub mod reset;
pub mod setup;
pub mod templates;
pub mod users;

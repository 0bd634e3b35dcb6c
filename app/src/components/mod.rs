//! Reusable pieces of the console.

pub mod admin_shell;
pub mod confirm_dialog;
pub mod form_error;
pub mod links;
pub mod password_actions;
pub mod password_fields;
pub mod status_badges;
pub mod user_panel;
pub mod user_table;

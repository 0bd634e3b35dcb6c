//! Reusable pieces of the console.

pub mod account_actions;
pub mod activity_chart;
pub mod admin_shell;
pub mod bulk_change;
pub mod checked_field;
pub mod confirm_dialog;
pub mod confirm_password;
pub mod confirmed_form;
pub mod email_list;
pub mod form_error;
pub mod link_lifetime;
pub mod links;
pub mod outcome_chart;
pub mod panel_actions;
pub mod password_actions;
pub mod password_fields;
pub mod policy_checklist;
pub mod reset_actions;
pub mod reset_card;
pub mod secret_reveal;
pub mod setting_field;
pub mod status_badges;
pub mod successes;
pub mod user_panel;
pub mod user_table;

//! Server-only glue between HTTP requests and the domain: the shared state, the session cookie,
//! and who is calling.

pub mod assets;
pub mod audit_export;
pub mod bulk_report;
pub mod caller;
pub mod cookies;
pub mod csp;
pub mod import_upload;
pub mod request_fields;
pub mod reset_link;
pub mod state;

pub use caller::{Caller, client_info, current_caller, provide_request_context, require, state};
pub use state::{AppState, WebConfig};

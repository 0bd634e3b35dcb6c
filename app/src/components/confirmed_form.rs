use leptos::prelude::*;
use leptos::server_fn::client::Client;
use leptos::server_fn::codec::PostUrl;
use leptos::server_fn::request::ClientReq;
use leptos::server_fn::{Http, ServerFn};
use serde::de::DeserializeOwned;
use web_sys::FormData;

use super::confirm_dialog::ConfirmDialog;
use super::form_error::{FormError, action_error};
use crate::error::AppError;

/// An operation on one user that changes nothing until it is confirmed: a form posting the
/// user's `id` to `action`, its fields and the button that opens the confirmation (the
/// children), the action's error, and the dialog whose button submits. Every password
/// operation of the details panel is one of these.
#[component]
pub fn ConfirmedForm<S, O>(
    /// The server function the form posts to.
    action: ServerAction<S>,
    /// The user the operation applies to, posted as `id`.
    #[prop(into)]
    user_id: String,
    /// The dialog's element id prefix, unique on the page.
    dialog_id: &'static str,
    /// The dialog's title.
    #[prop(into)]
    title: String,
    /// The dialog's confirm button, in the seeds' words.
    #[prop(default = "Yes, Reset Password")]
    confirm_label: &'static str,
    /// Open while true.
    open: RwSignal<bool>,
    /// The error to show instead of the action's own (a form that shows some errors beside
    /// their fields passes the rest here).
    #[prop(optional, into)]
    error: Option<Signal<Option<AppError>>>,
    /// What the confirmation says will happen.
    #[prop(into)]
    message: ViewFn,
    /// The fields and the button that opens the confirmation.
    children: Children,
) -> impl IntoView
where
    S: DeserializeOwned
        + ServerFn<Protocol = Http<PostUrl, O>, Error = AppError>
        + Clone
        + Send
        + Sync
        + 'static,
    <<S::Client as Client<AppError>>::Request as ClientReq<AppError>>::FormData: From<FormData>,
    S::Output: Clone + Send + Sync + 'static,
    S::Client: Client<AppError>,
    O: 'static,
{
    let error = error.unwrap_or_else(|| action_error(action));
    view! {
        <ActionForm action=action>
            <input type="hidden" name="id" value=user_id/>
            {children()}
            <FormError error=error/>
            <ConfirmDialog id=dialog_id title=title confirm_label=confirm_label open=open>
                {message.run()}
            </ConfirmDialog>
        </ActionForm>
    }
}

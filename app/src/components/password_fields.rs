use leptos::prelude::*;
use model::PolicyContext;
use model::policy::confirms;

use super::policy_checklist::{Checklist, use_requirements};
use crate::api::settings::current_password_policy;
use crate::error::AppError;

/// New Password and Confirm Password with a "Show password in clear text" toggle and a live
/// checklist against the password policy: the same Rust rule the server enforces.
#[component]
pub fn PasswordFields(
    /// The account's username, which the password must not contain.
    #[prop(into)]
    username: Signal<String>,
    /// The account's email address, which the password must not contain.
    #[prop(into)]
    email: Signal<String>,
    /// The account's display name, whose parts the password must not contain.
    #[prop(optional, into)]
    display_name: Signal<String>,
    /// Form field names for the two inputs.
    #[prop(default = "password")]
    name: &'static str,
    #[prop(default = "confirm")] confirm_name: &'static str,
    /// Set to whether the browser's own checks pass (the policy, and Confirm repeating New), so
    /// a form can keep Save disabled until they do. The server still checks for itself.
    #[prop(optional)]
    acceptable: Option<RwSignal<bool>>,
    /// The server's last refusal: one about either field is shown beside that field.
    #[prop(optional, into)]
    error: Option<Signal<Option<AppError>>>,
) -> impl IntoView {
    // The policy in force is the server's: an administrator may have changed it a moment ago.
    let policy = Resource::new(|| (), |()| current_password_policy());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let reveal = RwSignal::new(false);
    let input_type = move || if reveal.get() { "text" } else { "password" };
    let ctx = Signal::derive(move || PolicyContext {
        username: username.get(),
        email: Some(email.get()).filter(|e| !e.is_empty()),
        display_name: display_name.get(),
    });
    let requirements = use_requirements(
        Signal::derive(move || policy.get().and_then(Result::ok)),
        password.into(),
        ctx,
    );
    let mismatch = move || !confirm.get().is_empty() && !confirms(&password.get(), &confirm.get());
    if let Some(acceptable) = acceptable {
        Effect::new(move |_| {
            let ok = !password.get().is_empty()
                && confirms(&password.get(), &confirm.get())
                && requirements.with(|lines| !lines.is_empty() && lines.iter().all(|r| r.met));
            acceptable.set(ok);
        });
    }
    let server_error = move |field: &'static str| {
        error
            .and_then(|e| e.get())
            .filter(|e| e.field() == Some(field))
            .map(|e| e.to_string())
    };

    view! {
        <div class="field">
            <label for="new-password">"New Password"</label>
            <input
                id="new-password"
                name=name
                type=input_type
                autocomplete="new-password"
                required
                aria-describedby="password-rules new-password-error"
                aria-invalid=move || server_error("password").is_some().to_string()
                on:input:target=move |ev| password.set(ev.target().value())
            />
            {move || server_error("password").map(|message| view! {
                <p id="new-password-error" class="field-hint error" role="alert">{message}</p>
            })}
        </div>
        <div class="field">
            <label for="confirm-password">"Confirm Password"</label>
            <input
                id="confirm-password"
                name=confirm_name
                type=input_type
                autocomplete="new-password"
                required
                aria-invalid=move || (mismatch() || server_error("confirm").is_some()).to_string()
                aria-describedby="confirm-password-error"
                on:input:target=move |ev| confirm.set(ev.target().value())
            />
            <Show when=mismatch>
                <p class="field-hint error">{model::policy::MISMATCH}</p>
            </Show>
            {move || server_error("confirm").filter(|_| !mismatch()).map(|message| view! {
                <p id="confirm-password-error" class="field-hint error" role="alert">{message}</p>
            })}
        </div>
        <div class="field checkbox">
            <input
                id="show-password"
                type="checkbox"
                on:change:target=move |ev| reveal.set(ev.target().checked())
            />
            <label for="show-password">"Show password in clear text"</label>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading the password policy…"</p> }>
            {move || Suspend::new(async move {
                let _ = policy.await;
                view! { <Checklist requirements=requirements/> }
            })}
        </Suspense>
    }
}

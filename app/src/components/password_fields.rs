use leptos::prelude::*;
use model::{PasswordPolicy, PolicyContext};

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
    /// Form field names for the two inputs.
    #[prop(default = "password")]
    name: &'static str,
    #[prop(default = "confirm")] confirm_name: &'static str,
) -> impl IntoView {
    let policy = PasswordPolicy::default();
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let reveal = RwSignal::new(false);
    let input_type = move || if reveal.get() { "text" } else { "password" };
    let requirements = move || {
        let ctx = PolicyContext {
            username: username.get(),
            email: Some(email.get()).filter(|e| !e.is_empty()),
        };
        policy.requirements(&password.get(), &ctx)
    };
    let mismatch = move || !confirm.get().is_empty() && confirm.get() != password.get();

    view! {
        <div class="field">
            <label for="new-password">"New Password"</label>
            <input
                id="new-password"
                name=name
                type=input_type
                autocomplete="new-password"
                required
                aria-describedby="password-rules"
                on:input:target=move |ev| password.set(ev.target().value())
            />
        </div>
        <div class="field">
            <label for="confirm-password">"Confirm Password"</label>
            <input
                id="confirm-password"
                name=confirm_name
                type=input_type
                autocomplete="new-password"
                required
                aria-invalid=move || mismatch().to_string()
                on:input:target=move |ev| confirm.set(ev.target().value())
            />
            <Show when=mismatch>
                <p class="field-hint error">"The two passwords do not match."</p>
            </Show>
        </div>
        <div class="field checkbox">
            <input
                id="show-password"
                type="checkbox"
                on:change:target=move |ev| reveal.set(ev.target().checked())
            />
            <label for="show-password">"Show password in clear text"</label>
        </div>
        <ul id="password-rules" class="checklist" aria-live="polite">
            {move || {
                requirements()
                    .into_iter()
                    .map(|r| {
                        let state = if r.met { "met" } else { "unmet" };
                        view! {
                            <li class=state>
                                <span class="sr-only">{if r.met { "Met: " } else { "Not met: " }}</span>
                                {r.label}
                            </li>
                        }
                    })
                    .collect_view()
            }}
        </ul>
    }
}

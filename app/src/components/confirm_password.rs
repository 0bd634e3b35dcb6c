use leptos::prelude::*;
use model::secret::Secret;

use crate::api::auth::ConfirmPassword;
use crate::error::AppError;

/// Sudo mode, where a dangerous operation was refused for want of it: the administrator types
/// their own password, then repeats what they were doing. Not a `<form>`: it appears inside
/// the form whose submission was refused, and forms do not nest.
#[component]
pub fn ConfirmPasswordPrompt() -> impl IntoView {
    let confirm = ServerAction::<ConfirmPassword>::new();
    let typed = RwSignal::new(String::new());
    let input_id = "confirm-own-password";
    let submit = move || {
        let password = typed.get_untracked();
        if !password.is_empty() {
            confirm.dispatch(ConfirmPassword {
                password: Secret::new(password),
            });
        }
    };
    // The password is not kept once it has been sent.
    Effect::new(move |_| {
        if confirm.value().with(Option::is_some) {
            typed.set(String::new());
        }
    });
    let result = move || confirm.value().get();
    view! {
        <div class="confirm-password" role="group" aria-label="Confirm your password">
            <Show
                when=move || !matches!(result(), Some(Ok(())))
                fallback=|| view! {
                    <p role="status" class="notice">"Password confirmed. Do it again now: you will not be asked for 15 minutes."</p>
                }
            >
                <div class="field">
                    <label for=input_id>"Your password"</label>
                    <input
                        id=input_id
                        type="password"
                        autocomplete="current-password"
                        prop:value=move || typed.get()
                        aria-invalid=move || matches!(result(), Some(Err(_))).to_string()
                        on:input:target=move |ev| typed.set(ev.target().value())
                        on:keydown=move |ev| {
                            if ev.key() == "Enter" {
                                ev.prevent_default();
                                submit();
                            }
                        }
                    />
                </div>
                <p class="field-error">
                    {move || result().and_then(Result::err).map(|e: AppError| e.to_string())}
                </p>
                <button
                    type="button"
                    class="button"
                    disabled=move || confirm.pending().get()
                    on:click=move |_| submit()
                >
                    "Confirm password"
                </button>
            </Show>
        </div>
    }
}

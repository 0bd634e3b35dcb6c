use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use model::secret::Secret;

use crate::api::setup::{CreateFirstAdmin, setup_link_valid};
use crate::components::form_error::{FormError, action_error};
use crate::components::password_fields::PasswordFields;

/// `/setup/<token>`: the one-time link printed on the console of a server with no
/// administrator. Creates the first administrator.
#[component]
pub fn SetupPage() -> impl IntoView {
    let params = use_params_map();
    let token = Memo::new(move |_| params.read().get("token").unwrap_or_default());
    let valid = Resource::new(move || token.get(), |t| setup_link_valid(Secret::new(t)));
    let create = ServerAction::<CreateFirstAdmin>::new();
    let username = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());

    view! {
        <main class="auth-card wide">
            <h1>"Set up Latchkey"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Checking the setup link…"</p> }>
                {move || Suspend::new(async move {
                    match valid.await {
                        Ok(true) => view! {
                            <p>"Create the first administrator. You will sign in with this account."</p>
                            <ActionForm action=create>
                                <input type="hidden" name="token" value=token.get_untracked()/>
                                <div class="field">
                                    <label for="setup-username">"Username"</label>
                                    <input id="setup-username" name="username" required maxlength="64"
                                        autocomplete="username"
                                        on:input:target=move |ev| username.set(ev.target().value())/>
                                </div>
                                <div class="field">
                                    <label for="setup-display-name">"Display name"</label>
                                    <input id="setup-display-name" name="display_name" required maxlength="128"
                                        autocomplete="name"/>
                                </div>
                                <div class="field">
                                    <label for="setup-email">"Email"</label>
                                    <input id="setup-email" name="email" type="email" maxlength="254"
                                        autocomplete="email"
                                        on:input:target=move |ev| email.set(ev.target().value())/>
                                </div>
                                <PasswordFields username=username email=email/>
                                <FormError error=action_error(create)/>
                                <button type="submit" class="button primary">"Create administrator"</button>
                            </ActionForm>
                        }
                            .into_any(),
                        _ => view! {
                            <p role="alert" class="form-error">
                                "This setup link is not valid any more. An administrator may already \
                                 exist: sign in instead. Otherwise restart the server to print a new link."
                            </p>
                            <p><a href="/login">"Go to sign in"</a></p>
                        }
                            .into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::auth::expect_auth;
use crate::components::form_error::{FormError, action_or_posted_error};

/// `/login`: username or email, and password. Works as a plain form before (or without)
/// the WASM bundle.
#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = expect_auth();
    let query = use_query_map();
    let setup_done = move || query.read().get("setup").as_deref() == Some("done");
    let reset_done = move || query.read().get("reset").as_deref() == Some("done");
    view! {
        <main class="auth-card">
            <h1>"Sign in to Latchkey"</h1>
            <Show when=setup_done>
                <p role="status" class="notice">
                    "Administrator created. Sign in with your new account."
                </p>
            </Show>
            <Show when=reset_done>
                <p role="status" class="notice">
                    "Your password was changed. Sign in with the new one."
                </p>
            </Show>
            <ActionForm action=auth.login>
                <div class="field">
                    <label for="username">"Username or email"</label>
                    <input
                        id="username"
                        name="username"
                        autocomplete="username"
                        required
                        maxlength="254"
                        autofocus
                    />
                </div>
                <div class="field">
                    <label for="password">"Password"</label>
                    <input
                        id="password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        required
                    />
                </div>
                <FormError error=action_or_posted_error(auth.login)/>
                <button type="submit" class="button primary">"Sign in"</button>
            </ActionForm>
            <p><a href="/forgot">"Forgot your password?"</a></p>
        </main>
    }
}

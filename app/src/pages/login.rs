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
    let typed = typed_name();
    let name_known = typed.is_some();
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
                        value=typed
                        autofocus=!name_known
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
                        autofocus=name_known
                    />
                </div>
                <FormError error=action_or_posted_error(auth.login)/>
                <button type="submit" class="button primary">"Sign in"</button>
            </ActionForm>
            <p><a href="/forgot">"Forgot your password?"</a></p>
        </main>
    }
}

/// What this browser typed as its username or email in a sign-in that just failed: rendered
/// back by the server for the page without scripts (with scripts, the field keeps it itself).
fn typed_name() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        let state = use_context::<crate::server::AppState>()?;
        let parts = use_context::<http::request::Parts>()?;
        crate::server::cookies::read_typed_name(&parts.headers, &state.web)
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

use crate::api::auth::Login;
use crate::components::form_error::{FormError, action_error};

/// `/login`: username or email, and password. A plain form post, with or without scripts:
/// the server answers with the next page (or this one and its error), which reads the new
/// session.
#[component]
pub fn LoginPage() -> impl IntoView {
    // Never dispatched: it reads the error of the post that brought the browser back here.
    let login = ServerAction::<Login>::new();
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
            <form method="post" action=Login::url()>
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
                <FormError error=action_error(login)/>
                <button type="submit" class="button primary">"Sign in"</button>
            </form>
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

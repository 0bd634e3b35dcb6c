use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::resets::RequestPasswordReset;
use crate::components::form_error::{FormError, action_error};

/// `/forgot`: "Forgot your password?". Asks for a username or email and always answers the
/// same way; a link goes only to the address stored for the account.
#[component]
pub fn ForgotPage() -> impl IntoView {
    let request = ServerAction::<RequestPasswordReset>::new();
    let query = use_query_map();
    // Answered in the page (with JavaScript) or by the redirect to `?sent=1` (without).
    let sent = move || {
        matches!(request.value().get(), Some(Ok(())))
            || query.read().get("sent").as_deref() == Some("1")
    };
    view! {
        <main class="auth-card">
            <h1>"Forgot your password?"</h1>
            <Show
                when=sent
                fallback=move || view! {
                    <p>"Enter your username or email address. We will email you a link to choose a new password."</p>
                    <ActionForm action=request>
                        <div class="field">
                            <label for="forgot-login">"Username or email"</label>
                            <input id="forgot-login" name="login" autocomplete="username" required maxlength="254"/>
                        </div>
                        <FormError error=action_error(request)/>
                        <button type="submit" class="button primary">"Send Password Change Link"</button>
                    </ActionForm>
                }
            >
                <p role="status" class="notice">
                    "If an account with a stored email address matches, a link to choose a new \
                     password is on its way there. It works once, for 60 minutes. No email? Check \
                     the spelling, or ask your IT helpdesk."
                </p>
            </Show>
            <p><a href="/login">"Back to sign in"</a></p>
        </main>
    }
}

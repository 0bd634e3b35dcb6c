use leptos::prelude::*;

use crate::api::resets::{CompletePasswordReset, reset_link_info};
use crate::components::form_error::{FormError, action_error};
use crate::components::password_fields::PasswordFields;

/// `/reset`: where a password change link lands once its token has moved into a cookie. Shows
/// the policy and takes the new password; only that submission spends the link. An expired,
/// used or unknown link gets one page that does not say which.
#[component]
pub fn ResetPage() -> impl IntoView {
    let info = Resource::new(|| (), |()| reset_link_info());
    let complete = ServerAction::<CompletePasswordReset>::new();
    view! {
        <main class="auth-card wide">
            <Suspense fallback=|| view! { <p class="loading">"Checking the link…"</p> }>
                {move || Suspend::new(async move {
                    match info.await {
                        Ok(Some(info)) => view! {
                            <h1>"Set a new password"</h1>
                            <p>
                                "Choose a new password for " <strong>{info.username.clone()}</strong>
                                ". This link works once and expires at " {info.expires_at.to_string()} "."
                            </p>
                            <ActionForm action=complete>
                                <PasswordFields
                                    username=info.username.clone()
                                    email=info.email.clone().unwrap_or_default()
                                />
                                <FormError error=action_error(complete)/>
                                <button type="submit" class="button primary">"Set new password"</button>
                            </ActionForm>
                        }
                            .into_any(),
                        _ => view! { <InvalidLink/> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn InvalidLink() -> impl IntoView {
    view! {
        <h1>"This link is not valid"</h1>
        <p role="alert" class="form-error">
            "It may have expired or been used already, or a newer link replaced it."
        </p>
        <p>
            "Ask your IT helpdesk for a new link, or "
            <a href="/forgot">"request a new link"</a> " yourself."
        </p>
        <p><a href="/login">"Go to sign in"</a></p>
    }
}

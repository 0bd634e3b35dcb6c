use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::components::Redirect;

use crate::api::passwords::ChangeMyPassword;
use crate::auth::expect_auth;
use crate::components::form_error::{FormError, action_error};
use crate::components::password_fields::PasswordFields;

/// `/account/password`: a signed-in user changes their own password. A user whose password was
/// flagged (or temporary) lands here straight from sign-in and can reach nothing else until
/// the new one is set.
#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let auth = expect_auth();
    // Never dispatched: the form is a plain post (the page is served without WASM), and this
    // reads the error of the post that brought the browser back here.
    let change = ServerAction::<ChangeMyPassword>::new();
    view! {
        <main class="auth-card wide">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let Ok(Some(info)) = auth.session.await else {
                        return view! { <Redirect path="/login"/> }.into_any();
                    };
                    let required = info.password_change_required;
                    view! {
                        <h1>{if required { "Set a new password" } else { "Change Password" }}</h1>
                        {required.then(|| view! {
                            <p class="notice">
                                "Your password must be changed before you continue. Choose a new \
                                 one: it cannot be the same as the old one."
                            </p>
                        })}
                        <form method="post" action=ChangeMyPassword::url()>
                            {(!required).then(|| view! {
                                <div class="field">
                                    <label for="current-password">"Current password"</label>
                                    <input
                                        id="current-password"
                                        name="current"
                                        type="password"
                                        autocomplete="current-password"
                                        required
                                    />
                                </div>
                            })}
                            <PasswordFields
                                username=info.me.username.clone()
                                email=info.me.email.clone().unwrap_or_default()
                            />
                            <FormError error=action_error(change)/>
                            <button type="submit" class="button primary">
                                {if required { "Set new password" } else { "Change Password" }}
                            </button>
                        </form>
                        {required.then(|| view! {
                            <ActionForm action=auth.logout>
                                <button type="submit" class="button subtle-dark">"Sign out"</button>
                            </ActionForm>
                        })}
                    }
                        .into_any()
                })}
            </Suspense>
        </main>
    }
}

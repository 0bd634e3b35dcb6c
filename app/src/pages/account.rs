use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::auth::expect_auth;

/// `/account`: a signed-in user's own page.
#[component]
pub fn AccountPage() -> impl IntoView {
    let auth = expect_auth();
    view! {
        <main class="auth-card">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match auth.session.await {
                        Ok(Some(info)) if info.password_change_required => {
                            view! { <Redirect path="/account/password"/> }.into_any()
                        }
                        Ok(Some(info)) => view! {
                            <h1>"Your account"</h1>
                            <p>"Signed in as " <strong>{info.me.display_name}</strong>
                                " (" {info.me.username} ")."</p>
                            <p><a href="/account/password" rel="external">"Change your password"</a></p>
                            <ActionForm action=auth.logout>
                                <button type="submit" class="button">"Sign out"</button>
                            </ActionForm>
                        }
                            .into_any(),
                        _ => view! { <Redirect path="/login"/> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

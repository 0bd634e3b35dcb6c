use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::components::{A, Outlet, Redirect};
use model::user::{Me, Permission};

use super::form_error::ErrorNotice;
use crate::api::auth::Logout;
use crate::auth::expect_auth;

/// The console frame: header navigation and the signed-in person, around the page in the
/// outlet. Sends people who are not signed in to the login page. The server functions behind
/// each page check permissions themselves; this only spares people a page they cannot use.
#[component]
pub fn AdminShell() -> impl IntoView {
    let auth = expect_auth();
    // The outlet stays outside the suspended header: a parent route that suspends around a
    // child that suspends too hydrates unreliably (leptos-rs/leptos#3726).
    view! {
        <Suspense fallback=|| view! { <header class="topbar"><span class="brand">"Latchkey"</span></header> }>
            {move || Suspend::new(async move {
                match auth.session.await {
                    Ok(Some(info)) if info.password_change_required => {
                        view! { <Redirect path="/account/password"/> }.into_any()
                    }
                    Ok(Some(info)) if info.me.can(Permission::SetPasswords) => {
                        view! { <ConsoleHeader me=info.me/> }.into_any()
                    }
                    Ok(Some(_)) => view! { <Redirect path="/account"/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
        <main id="main" class="console-main">
            <Outlet/>
        </main>
    }
}

/// Header navigation in the seeds' terms: `Accounts > Users`, then `Management > …`.
#[component]
fn ConsoleHeader(me: Me) -> impl IntoView {
    let auth = expect_auth();
    view! {
        <header class="topbar">
            <a class="brand" href="/users">"Latchkey"</a>
            <nav aria-label="Console">
                <ul class="nav-groups">
                    <li class="nav-group">
                        <span class="nav-group-label" id="nav-accounts">"Accounts"</span>
                        <ul aria-labelledby="nav-accounts">
                            <li><A href="/users">"Users"</A></li>
                        </ul>
                    </li>
                    {me.can(Permission::UserManagement).then(|| view! {
                        <li class="nav-group">
                            <span class="nav-group-label" id="nav-management">"Management"</span>
                            <ul aria-labelledby="nav-management">
                                <li><A href="/management/policy">"Password Policy"</A></li>
                                <li><A href="/management/email">"Email"</A></li>
                                <li><A href="/management/templates">"Templates"</A></li>
                                <li><A href="/management/audit">"Audit"</A></li>
                            </ul>
                        </li>
                    })}
                </ul>
            </nav>
            <div class="whoami">
                <span>
                    {me.display_name.clone()} <span class="role">{me.role.label()}</span>
                </span>
                // A plain page load: /account/password is served without the console's WASM.
                <a href="/account/password" rel="external" class="button subtle">"Change your password"</a>
                // A plain form rather than `ActionForm`: its form-data decoding (serde_qs) and the
                // router's `Form` were a tenth of the first load's WASM code, here for a button
                // with no fields. Without scripts it posts to the same server function.
                <form
                    method="post"
                    action=Logout::url()
                    on:submit=move |ev| {
                        ev.prevent_default();
                        auth.logout.dispatch(Logout {});
                    }
                >
                    <button type="submit" class="button subtle">"Sign out"</button>
                </form>
            </div>
        </header>
    }
}

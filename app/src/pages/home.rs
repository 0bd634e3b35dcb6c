use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::auth::expect_auth;

/// `/`: straight to where the visitor belongs.
#[component]
pub fn HomePage() -> impl IntoView {
    let auth = expect_auth();
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let path = match auth.session.await {
                    Ok(Some(info)) if info.password_change_required => "/account/password",
                    Ok(Some(info)) => info.me.role.home(),
                    _ => "/login",
                };
                view! { <Redirect path=path/> }
            })}
        </Suspense>
    }
}

use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, SsrMode, lazy_route, path};

use crate::auth::AuthContext;
use crate::components::admin_shell::AdminShell;
use crate::pages::{
    account::AccountPage,
    add_user::AddUserPage,
    audit::AuditPage,
    bulk_job::BulkJobPage,
    change_password::ChangePasswordPage,
    email_settings::EmailSettingsPage,
    forgot::ForgotPage,
    home::HomePage,
    import_users::{ImportJobPage, ImportUsersPage},
    login::LoginPage,
    not_found::NotFound,
    password_policy::PasswordPolicyPage,
    reset::ResetPage,
    setup::SetupPage,
    templates::TemplatesPage,
    users::UsersPage,
};

/// A console page the browser fetches the code of the first time it is opened (a chunk of its
/// own, split off by `cargo leptos --split`), so the first load carries only the Users page
/// and what every page shares. The server still renders it whole and names its chunk in the
/// page, and `hydrate_lazy` waits for the chunk before hydrating it.
macro_rules! lazy_page {
    ($route:ident, $page:ident) => {
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                $page().into_any()
            }
        }
    };
}

lazy_page!(BulkJobRoute, BulkJobPage);
lazy_page!(AddUserRoute, AddUserPage);
lazy_page!(ImportUsersRoute, ImportUsersPage);
lazy_page!(ImportJobRoute, ImportJobPage);
lazy_page!(PasswordPolicyRoute, PasswordPolicyPage);
lazy_page!(AuditRoute, AuditPage);
lazy_page!(EmailSettingsRoute, EmailSettingsPage);
lazy_page!(TemplatesRoute, TemplatesPage);
lazy_page!(SetupRoute, SetupPage);
lazy_page!(AccountRoute, AccountPage);
// `/` only sends people on (with a real redirect when the server renders it).
lazy_page!(HomeRoute, HomePage);
// The end user's pages are served without WASM (PLAIN_PAGES); their code is fetched only when a
// hydrated console page links to one.
lazy_page!(LoginRoute, LoginPage);
lazy_page!(ResetRoute, ResetPage);
lazy_page!(ForgotRoute, ForgotPage);
lazy_page!(ChangePasswordRoute, ChangePasswordPage);

/// The end user's pages: served as plain HTML with no WASM at all, because people open reset
/// links in phone mail apps. Their forms post to the same server functions and errors come
/// back rendered by the server. Reached from a hydrated page, they still render client-side.
pub const PLAIN_PAGES: [&str; 4] = ["/login", "/reset", "/forgot", "/account/password"];

/// The document around an end user's page: the console's stylesheet, no scripts.
pub fn plain_shell(options: LeptosOptions) -> impl IntoView {
    html_document(options, false)
}

/// The HTML document around every other server-rendered page, which the WASM hydrates.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    html_document(options, true)
}

fn html_document(options: LeptosOptions, hydrate: bool) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::csp::set_page_policy(hydrate);
    #[cfg(feature = "ssr")]
    let stylesheet = crate::server::assets::stylesheet_href(&options);
    #[cfg(not(feature = "ssr"))]
    let stylesheet = "/pkg/latchkey.css";
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                // Written here, not with `leptos_meta`'s `<Title>`: no page changes it, and the
                // component would be part of every console page's first load.
                <title>"Latchkey"</title>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="stylesheet" id="leptos" href=stylesheet/>
                {hydrate.then(|| view! {
                    <AutoReload options=options.clone()/>
                    <HydrationScripts options/>
                })}
            </head>
            // On a plain page, scripts (and tests) that wait for hydration see at once that none
            // will come.
            <body data-static=(!hydrate).then_some("true")>
                <App/>
            </body>
        </html>
    }
}

/// Marks `<body>` once the whole page, its lazy route included, has hydrated: tests and scripts
/// wait for it before clicking, since a click before hydration does nothing. Set from a
/// macrotask, so Suspense content resolved from the server's serialized data (microtasks) has
/// hydrated by then too.
pub fn mark_hydrated() {
    set_timeout(
        || {
            if let Some(body) = document().body() {
                let _ = body.set_attribute("data-hydrated", "true");
            }
        },
        std::time::Duration::ZERO,
    );
}

/// Fetches, before hydration, the lazily loaded code of the parts the server rendered on this
/// page (a lazy route's own code is awaited by the router itself).
#[cfg(feature = "hydrate")]
pub async fn load_before_hydrating() {
    crate::pages::users::load_before_hydrating(&window().location()).await;
}

#[component]
pub fn App() -> impl IntoView {
    AuthContext::provide();

    view! {
        <Router>
            <Routes fallback=NotFound>
                // Pages that may redirect render whole before sending, so the redirect can be
                // a real HTTP one.
                <Route path=path!("/") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/setup/:token") view={Lazy::<SetupRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/reset") view={Lazy::<ResetRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/forgot") view={Lazy::<ForgotRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/account") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::Async/>
                <Route
                    path=path!("/account/password")
                    view={Lazy::<ChangePasswordRoute>::new()}
                    ssr=SsrMode::Async
                />
                <ParentRoute path=path!("/users") view=AdminShell ssr=SsrMode::Async>
                    <Route path=path!("") view=UsersPage ssr=SsrMode::Async/>
                    <Route path=path!("bulk/:id") view={Lazy::<BulkJobRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("new") view={Lazy::<AddUserRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("import") view={Lazy::<ImportUsersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("import/:id") view={Lazy::<ImportJobRoute>::new()} ssr=SsrMode::Async/>
                </ParentRoute>
                <ParentRoute path=path!("/management") view=AdminShell ssr=SsrMode::Async>
                    <Route path=path!("policy") view={Lazy::<PasswordPolicyRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("email") view={Lazy::<EmailSettingsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("templates") view={Lazy::<TemplatesRoute>::new()} ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

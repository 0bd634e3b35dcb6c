use leptos::html;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use model::user::UserId;
use std::collections::HashSet;

use crate::api::users::list_users;
use crate::auth::{caller_role, expect_auth};
use crate::components::account_actions::ListVersion;
use crate::components::bulk_change::BulkChange;
use crate::components::form_error::ErrorNotice;
use crate::components::links::with_query;
use crate::components::user_panel::user_panel;
use crate::components::user_table::UserTable;
use model::Role;

/// Accounts > Users: search, a page of users, and the selected user's panel. The search, the
/// page and the selected user live in the URL, so any view can be shared and reloaded.
#[component]
pub fn UsersPage() -> impl IntoView {
    let auth = expect_auth();
    let query = use_query_map();
    let q = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let after = Memo::new(move |_| query.read().get("after").filter(|a| !a.is_empty()));
    let selected = Memo::new(move |_| query.read().get("user").filter(|u| !u.is_empty()));
    let list_version = ListVersion(RwSignal::new(0));
    provide_context(list_version);
    let page = Resource::new(
        move || (q.get(), after.get(), list_version.0.get()),
        |(q, after, _)| list_users(q, after),
    );
    let search = NodeRef::<html::Input>::new();
    let navigate = use_navigate();
    let checked = RwSignal::new(HashSet::<UserId>::new());
    let all_matching = RwSignal::new(false);
    let close_href = Signal::derive(move || {
        with_query(
            "/users",
            &[
                ("q", Some(q.get().as_str())),
                ("after", after.get().as_deref()),
            ],
        )
    });

    // The panel's code is a chunk of its own (hundreds of KB): start fetching it once the
    // pointer or the keyboard reaches the list, so the first click on a name seldom waits.
    let panel_fetched = StoredValue::new(false);
    let fetch_panel = move || {
        if !panel_fetched.get_value() {
            panel_fetched.set_value(true);
            lazy_preload!(crate::components::user_panel::user_panel);
        }
    };

    view! {
        <div class="users-layout" class:with-panel=move || selected.get().is_some()>
            <section
                class="users-main"
                aria-labelledby="users-heading"
                on:pointerover=move |_| fetch_panel()
                on:focusin=move |_| fetch_panel()
            >
                <div class="page-head">
                    <h1 id="users-heading">"Users"</h1>
                    <p class="selection" aria-live="polite">
                        {move || match (all_matching.get(), checked.with(HashSet::len)) {
                            (true, _) => "All users matching this search selected".to_owned(),
                            (false, 0) => String::new(),
                            (false, 1) => "1 user selected".to_owned(),
                            (false, n) => format!("{n} users selected"),
                        }}
                    </p>
                </div>
                // Bulk Change and Add user are an administrator's; a Password Manager's console
                // shows only what they may do (the server refuses the rest regardless).
                <Suspense>
                    {move || Suspend::new(async move {
                        (caller_role(auth).await == Role::Administrator).then(|| view! {
                            <div class="bulk-bar">
                                <div class="field checkbox">
                                    <input
                                        type="checkbox"
                                        id="select-all-matching"
                                        prop:checked=move || all_matching.get()
                                        on:change:target=move |ev| all_matching.set(ev.target().checked())
                                    />
                                    <label for="select-all-matching">"Select all matching this search"</label>
                                </div>
                                <BulkChange checked=checked all_matching=all_matching q=q/>
                                <A href="/users/new" attr:class="button">"Add user"</A>
                                <A href="/users/import" attr:class="button">"Import users"</A>
                            </div>
                        })
                    })}
                </Suspense>
                // A plain form with its own submit handler rather than the router's `Form`, whose
                // form-data decoding would be in the first load for this one field. Without
                // scripts it is an ordinary GET of the same address.
                <form
                    method="get"
                    action="/users"
                    class="search"
                    role="search"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        let q = search.get().map(|input| input.value()).unwrap_or_default();
                        navigate(&with_query("/users", &[("q", Some(q.as_str()))]), Default::default());
                    }
                >
                    <label for="user-search">"Search users"</label>
                    <input
                        id="user-search"
                        type="search"
                        name="q"
                        maxlength="100"
                        placeholder="Name, username or email"
                        aria-describedby="user-search-hint"
                        prop:value=move || q.get()
                        node_ref=search
                    />
                    <button type="submit" class="button">"Search"</button>
                    <p id="user-search-hint" class="field-hint">
                        "Three or more characters find names, usernames and emails containing them; one or two find usernames starting with them."
                    </p>
                </form>
                <Transition fallback=|| view! { <p class="loading">"Loading users…"</p> }>
                    {move || Suspend::new(async move {
                        let selectable = caller_role(auth).await == Role::Administrator;
                        match page.await {
                            Ok(page) => {
                                let next = page.next.clone();
                                view! {
                                    <UserTable page=page q=q.get_untracked() after=after.get_untracked() checked=checked selectable=selectable/>
                                    <nav class="pager" aria-label="Pages">
                                        {after.get_untracked().map(|_| view! {
                                            <A href=with_query("/users", &[("q", Some(q.get_untracked().as_str()))])>
                                                "First page"
                                            </A>
                                        })}
                                        {next.map(|cursor| view! {
                                            <A href=with_query(
                                                "/users",
                                                &[("q", Some(q.get_untracked().as_str())), ("after", Some(cursor.as_str()))],
                                            )>"Next page"</A>
                                        })}
                                    </nav>
                                }
                                    .into_any()
                            }
                            Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
            {move || selected.get().map(|id| {
                Suspend::new(async move { user_panel(UserId(id), close_href).await })
            })}
        </div>
    }
}

/// Fetches the code of the parts of the Users page that are lazily loaded but that the server
/// rendered, before the page hydrates: a part hydrated while its code is still on its way
/// would not match the server's HTML. Today that is the user panel (`?user=` in the address).
#[cfg(feature = "hydrate")]
pub async fn load_before_hydrating(location: &web_sys::Location) {
    let on_users = location.pathname().is_ok_and(|path| path == "/users");
    let search = location.search().unwrap_or_default();
    let opens_panel = search.trim_start_matches('?').split('&').any(|pair| {
        pair.split_once('=')
            .is_some_and(|(key, value)| key == "user" && !value.is_empty())
    });
    if on_users && opens_panel {
        crate::components::user_panel::__preload_user_panel().await;
    }
}

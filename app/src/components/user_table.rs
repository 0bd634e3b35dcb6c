use leptos::prelude::*;
use leptos_router::components::A;
use model::user::{UserId, UserPage};
use std::collections::HashSet;

use super::links::with_query;
use super::status_badges::StatusBadges;

/// The Users table: a check box per row, names that open the details panel, status badges.
#[component]
pub fn UserTable(
    /// The page of users to show.
    page: UserPage,
    /// The current search, kept in the links so that opening a user keeps the list as it is.
    #[prop(into)]
    q: String,
    /// The current page's cursor.
    #[prop(into)]
    after: Option<String>,
    /// Which rows are ticked.
    checked: RwSignal<HashSet<UserId>>,
    /// Rows have check boxes (for Bulk Change): administrators only.
    selectable: bool,
) -> impl IntoView {
    let now = page.now;
    let ids: Vec<UserId> = page.users.iter().map(|u| u.id.clone()).collect();
    let all_ids = ids.clone();
    let all_checked =
        move || !ids.is_empty() && checked.with(|c| ids.iter().all(|id| c.contains(id)));
    let toggle_all = move |on: bool| {
        checked.update(|c| {
            for id in &all_ids {
                if on {
                    c.insert(id.clone());
                } else {
                    c.remove(id);
                }
            }
        })
    };
    let empty = page.users.is_empty();
    let rows = page
        .users
        .into_iter()
        .map(|user| {
            let href = with_query(
                "/users",
                &[
                    ("q", Some(q.as_str())),
                    ("after", after.as_deref()),
                    ("user", Some(user.id.0.as_str())),
                ],
            );
            let id = user.id.clone();
            let id_for_toggle = user.id.clone();
            let label = format!("Select {}", user.username);
            let display_name = user.display_name.clone();
            // As in the seeds: a user whose reset is already pending is greyed out, since
            // another reset would change nothing for them.
            let pending = user.must_change_password;
            view! {
                <tr
                    class:reset-pending=pending
                    title=pending.then_some("A password reset is already pending for this user.")
                >
                    <td class="select" hidden=!selectable>
                        <input
                            type="checkbox"
                            aria-label=label
                            prop:checked=move || checked.with(|c| c.contains(&id))
                            on:change:target=move |ev| {
                                let on = ev.target().checked();
                                checked.update(|c| {
                                    if on {
                                        c.insert(id_for_toggle.clone());
                                    } else {
                                        c.remove(&id_for_toggle);
                                    }
                                });
                            }
                        />
                    </td>
                    <td>
                        <A href=href attr:class="user-link">{display_name}</A>
                    </td>
                    <td>{user.username.clone()}</td>
                    <td>{user.email.clone().unwrap_or_default()}</td>
                    <td>{user.role.label()}</td>
                    <td><StatusBadges user=user now=now/></td>
                </tr>
            }
        })
        .collect_view();

    view! {
        <table class="users-table">
            <caption class="sr-only">"Users"</caption>
            <thead>
                <tr>
                    <th scope="col" class="select" hidden=!selectable>
                        <input
                            type="checkbox"
                            aria-label="Select all users on this page"
                            prop:checked=all_checked
                            on:change:target=move |ev| toggle_all(ev.target().checked())
                        />
                    </th>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Username"</th>
                    <th scope="col">"Email"</th>
                    <th scope="col">"Role"</th>
                    <th scope="col">"Status"</th>
                </tr>
            </thead>
            <tbody>
                {rows}
                {empty.then(|| view! {
                    <tr><td colspan="6" class="empty">"No users match this search."</td></tr>
                })}
            </tbody>
        </table>
    }
}

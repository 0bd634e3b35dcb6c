use leptos::prelude::*;
use leptos_router::components::A;
use model::user::{AuditEntry, Permission, UserDetails, UserId};

use super::account_actions::{AccountActions, ListVersion};
use super::activity_chart::ActivityChart;
use super::email_list::EmailList;
use super::form_error::{ErrorNotice, error_fallback};
use super::panel_actions::PanelActions;
use super::password_actions::PasswordActions;
use super::status_badges::StatusBadges;
use crate::api::users::{get_user_details, user_activity};
use crate::auth::expect_auth;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tab {
    Details,
    Activity,
}

/// The user panel, from a chunk of its own (`cargo leptos --split`): most loads of the Users
/// page never open it, so its code (every password and account action) is fetched the first
/// time a name is clicked. A page the server renders with the panel open has it fetched before
/// hydrating (`users::load_before_hydrating`).
#[lazy]
pub fn user_panel(id: UserId, close_href: Signal<String>) -> AnyView {
    view! { <UserPanel id=id close_href=close_href/> }.into_any()
}

/// The panel that opens on the right when a name is clicked: Details and Activity tabs.
#[component]
fn UserPanel(
    /// The user to show.
    #[prop(into)]
    id: Signal<UserId>,
    /// Where "Close" goes: the same list without a selected user.
    #[prop(into)]
    close_href: Signal<String>,
) -> impl IntoView {
    let auth = expect_auth();
    let tab = RwSignal::new(Tab::Details);
    let actions = PanelActions::new();
    // Another user's panel must not show this one's secret or outcome.
    Effect::new(move |previous: Option<UserId>| {
        let current = id.get();
        if previous.is_some_and(|p| p != current) {
            actions.forget_secret();
            actions.outcome.set(None);
        }
        current
    });
    // The list beside the panel shows each person's name, role and status (locked, reset
    // pending, disabled): it re-reads after every change made here, as the panel does.
    if let Some(list) = use_context::<ListVersion>() {
        Effect::new(move |seen: Option<usize>| {
            let now = actions.version();
            if seen.is_some_and(|seen| seen != now) {
                list.0.update(|v| *v += 1);
            }
            now
        });
    }
    // Re-read after each password operation so flags, dates and the reset card show what is
    // now true.
    let details = Resource::new(
        move || (id.get(), actions.version()),
        |(id, _)| get_user_details(id),
    );
    // Awaited inside Suspense, never read directly: during hydration the resource may not have
    // resolved yet, and a view built from "not yet" would differ from the server's.
    let caller = move || async move {
        match auth.session.await {
            Ok(Some(info)) => (info.me.role, Some(info.me.id)),
            _ => (model::Role::User, None),
        }
    };

    let tab_button = move |which: Tab, label: &'static str, key: &'static str| {
        view! {
            <button
                type="button"
                role="tab"
                id=format!("tab-{key}")
                aria-controls=format!("panel-{key}")
                aria-selected=move || (tab.get() == which).to_string()
                tabindex=move || if tab.get() == which { "0" } else { "-1" }
                on:click=move |_| tab.set(which)
            >
                {label}
            </button>
        }
    };

    // One Suspend for the whole panel: the caller's role and the user's details resolve
    // together, so the hydrated panel is built from exactly what the server rendered.
    view! {
        <aside class="user-panel" aria-labelledby="user-panel-title">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (actor, me) = caller().await;
                    let details = details.await;
                    let title = details
                        .as_ref()
                        .map(|d| d.summary.display_name.clone())
                        .unwrap_or_else(|_| "User".into());
                    let body = match details {
                        Ok(d) => view! {
                            <DetailsList details=d.clone()/>
                            <p role="status" class="notice" hidden=move || actions.outcome.get().is_none()>
                                {move || actions.outcome.get().unwrap_or_default()}
                            </p>
                            <PasswordActions details=d.clone() actor=actor me=me.clone() actions=actions/>
                            <AccountActions details=d.clone() actor=actor me=me.clone() actions=actions close_href=close_href/>
                            <EmailList emails=d.emails/>
                        }
                            .into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }
                            .into_any(),
                    };
                    view! {
                        <div class="panel-head">
                            <h2 id="user-panel-title">{title}</h2>
                            <A
                                href=move || close_href.get()
                                attr:class="close"
                                attr:aria-label="Close user details"
                            >
                                "×"
                            </A>
                        </div>
                        <div role="tablist" aria-label="User sections" class="tabs">
                            {tab_button(Tab::Details, "Details", "details")}
                            {actor
                                .has(Permission::UserManagement)
                                .then(|| tab_button(Tab::Activity, "Activity", "activity"))}
                        </div>
                        <div
                            role="tabpanel"
                            id="panel-details"
                            aria-labelledby="tab-details"
                            hidden=move || tab.get() != Tab::Details
                        >
                            {body}
                        </div>
                        <Show when=move || tab.get() == Tab::Activity>
                            <div role="tabpanel" id="panel-activity" aria-labelledby="tab-activity">
                                <ActivityList id=id/>
                            </div>
                        </Show>
                    }
                })}
            </Transition>
        </aside>
    }
}

#[component]
fn DetailsList(details: UserDetails) -> impl IntoView {
    let user = details.summary.clone();
    let changed = details
        .password_changed_at
        .map_or_else(|| "Never".to_owned(), |t| t.to_string());
    view! {
        <dl class="details">
            <dt>"Username"</dt>
            <dd>{user.username.clone()}</dd>
            <dt>"Display name"</dt>
            <dd>{user.display_name.clone()}</dd>
            <dt>"Email"</dt>
            <dd>{user.email.clone().unwrap_or_else(|| "None".into())}</dd>
            <dt>"Role"</dt>
            <dd>{user.role.label()}</dd>
            <dt>"Source"</dt>
            <dd>{match user.source {
                model::UserSource::Local => "Local (password managed here)",
                model::UserSource::External => "External directory (password managed there)",
            }}</dd>
            <dt>"Status"</dt>
            <dd><StatusBadges user=user.clone() now=details.now/></dd>
            <dt>"Password changed"</dt>
            <dd>{changed}</dd>
            <dt>"Failed sign-ins"</dt>
            <dd>{details.failed_logins}</dd>
            <dt>"Created"</dt>
            <dd>{details.created_at.to_string()}</dd>
        </dl>
    }
}

#[component]
fn ActivityList(#[prop(into)] id: Signal<UserId>) -> impl IntoView {
    let activity = Resource::new(move || id.get(), user_activity);
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    activity.await.map(|activity| {
                        let entries = activity.entries;
                        let list = if entries.is_empty() {
                            view! { <p class="empty">"No activity recorded yet."</p> }.into_any()
                        } else {
                            view! {
                                <ol class="activity">
                                    {entries.into_iter().map(activity_item).collect_view()}
                                </ol>
                            }
                            .into_any()
                        };
                        view! { <ActivityChart days=activity.days/> {list} }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

fn activity_item(entry: AuditEntry) -> impl IntoView {
    let who = entry.actor.clone().unwrap_or_else(|| "unknown".into());
    view! {
        <li class=format!("outcome-{}", entry.outcome)>
            <time>{entry.at.to_string()}</time>
            <span class="action">{entry.action.replace(['_', '.'], " ")}</span>
            <span class="outcome">{entry.outcome.clone()}</span>
            <span class="who">"by " {who}</span>
            {entry.ip.map(|ip| view! { <span class="ip">"from " {ip}</span> })}
            {entry.detail.map(|d| view! { <span class="detail">{d}</span> })}
        </li>
    }
}

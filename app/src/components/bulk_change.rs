use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use model::bulk::{BulkKind, BulkPreview, Scope};
use model::user::{UserId, UserIds};
use std::collections::HashSet;

use super::confirm_dialog::ConfirmDialog;
use super::form_error::{ErrorNotice, FormError, action_error};
use super::link_lifetime::LinkLifetimeField;
use crate::api::bulk::{PreviewBulkChange, StartBulkChange};

/// Bulk Change on the Users page: a menu (Reset Password, Send Password Change Link), then a
/// dialog that previews who will be affected and who skipped before anything changes. OK
/// starts a background job and opens its progress page.
#[component]
pub fn BulkChange(
    /// The ticked rows.
    checked: RwSignal<HashSet<UserId>>,
    /// "Select all matching this search" is ticked.
    all_matching: RwSignal<bool>,
    /// The current search.
    #[prop(into)]
    q: Signal<String>,
) -> impl IntoView {
    let menu_open = RwSignal::new(false);
    let trigger = NodeRef::<html::Button>::new();
    let items = [
        NodeRef::<html::Button>::new(),
        NodeRef::<html::Button>::new(),
    ];
    let focused = RwSignal::new(0_usize);
    // An opened menu takes the focus, as a menu button's menu should: on the next frame, once
    // the menu is no longer hidden (a hidden element cannot take the focus).
    Effect::new(move |_| {
        if menu_open.get()
            && let Some(first) = items[0].get_untracked()
        {
            request_animation_frame(move || {
                let _ = first.focus();
            });
        }
    });
    let selection = Selection {
        checked,
        all_matching,
        q,
        dialog_open: RwSignal::new(false),
    };
    let kind = RwSignal::new(None::<BulkKind>);
    let nothing_selected = move || !all_matching.get() && checked.with(HashSet::is_empty);
    // The dialog is shown only once its code is here: built while its chunk is on the way, it
    // would be built inside this Suspense's pending state, detached from the page, where its
    // `showModal()` fails.
    let choose = move |chosen: BulkKind| {
        menu_open.set(false);
        leptos::task::spawn_local(async move {
            load_dialog().await;
            selection.dialog_open.set(true);
            kind.set(Some(chosen));
        });
    };

    view! {
        <div class="bulk-change">
            <button
                type="button"
                class="button"
                aria-haspopup="menu"
                aria-expanded=move || menu_open.get().to_string()
                aria-controls="bulk-menu"
                node_ref=trigger
                disabled=nothing_selected
                title=move || nothing_selected().then_some("Tick users first, or select all matching this search.")
                on:click=move |_| {
                    menu_open.update(|open| *open = !*open);
                    // Fetched while the menu is read, so that choosing opens the dialog at once.
                    leptos::task::spawn_local(load_dialog());
                }
            >
                "Bulk Change"
            </button>
            // Always in the page, hidden while closed: built by `<Show>` instead, the menu would
            // bring `Show`'s code into the first load for two buttons.
            <ul
                role="menu"
                id="bulk-menu"
                class="menu"
                aria-label="Bulk Change"
                hidden=move || !menu_open.get()
                on:keydown=move |ev| menu_keys(&ev, &items, focused, menu_open, trigger)
            >
                {MENU.iter().enumerate().map(|(i, (label, chosen))| view! {
                    <li role="none">
                        <button
                            type="button"
                            role="menuitem"
                            tabindex="-1"
                            node_ref=items[i]
                            on:focus=move |_| focused.set(i)
                            on:click=move |_| choose(*chosen)
                        >
                            {*label}
                        </button>
                    </li>
                }).collect_view()}
            </ul>
            // Each choice builds a new dialog, which asks for a new preview.
            {move || kind.get().map(|chosen| {
                Suspend::new(async move { bulk_dialog(chosen, selection).await })
            })}
        </div>
    }
}

/// What a Bulk Change applies to, and whether its dialog is open.
#[derive(Clone, Copy)]
struct Selection {
    checked: RwSignal<HashSet<UserId>>,
    all_matching: RwSignal<bool>,
    q: Signal<String>,
    dialog_open: RwSignal<bool>,
}

impl Selection {
    fn scope(self) -> Scope {
        if self.all_matching.get() {
            Scope::Search
        } else {
            Scope::Ids
        }
    }

    fn ids(self) -> String {
        self.checked.with(|c| {
            let mut ids: Vec<&str> = c.iter().map(|id| id.0.as_str()).collect();
            ids.sort_unstable();
            ids.join(",")
        })
    }
}

/// Fetches the dialog's chunk (once; the server has no chunks).
async fn load_dialog() {
    #[cfg(feature = "hydrate")]
    __preload_bulk_dialog().await;
}

/// The preview dialog and the form it confirms, from a chunk of its own (`cargo leptos
/// --split`), fetched the first time the Bulk Change menu opens: the Users page loads without it.
#[lazy]
fn bulk_dialog(kind: BulkKind, selection: Selection) -> AnyView {
    let preview = ServerAction::<PreviewBulkChange>::new();
    let start = ServerAction::<StartBulkChange>::new();
    preview.dispatch(PreviewBulkChange {
        kind,
        scope: untrack(|| selection.scope()),
        ids: UserIds(
            selection
                .checked
                .with_untracked(|c| c.iter().cloned().collect()),
        ),
        q: selection.q.get_untracked(),
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(job)) = start.value().get() {
            selection.checked.set(HashSet::new());
            selection.all_matching.set(false);
            navigate(&format!("/users/bulk/{job}"), Default::default());
        }
    });
    view! {
        <FormError error=action_error(start)/>
        <ActionForm action=start>
            <input type="hidden" name="kind" value=kind.as_str()/>
            <input type="hidden" name="scope" value=move || selection.scope().as_str()/>
            <input type="hidden" name="ids" value=move || selection.ids()/>
            <input type="hidden" name="q" value=selection.q.get_untracked()/>
            <input
                type="hidden"
                name="request_key"
                value=move || preview.value().with(|v| match v {
                    Some(Ok(p)) => p.request_key.clone(),
                    _ => String::new(),
                })
            />
            <ConfirmDialog
                id="bulk-preview"
                title=format!("Bulk Change: {}", kind.label())
                confirm_label="OK"
                open=selection.dialog_open
                ready=Signal::derive(move || {
                    !preview.pending().get()
                        && preview.value().with(|v| matches!(v, Some(Ok(p)) if p.affected > 0))
                })
            >
                <PreviewBody preview=preview kind=kind/>
            </ConfirmDialog>
        </ActionForm>
    }
    .into_any()
}

const MENU: [(&str, BulkKind); 2] = [
    ("Reset Password", BulkKind::ForceReset),
    ("Send Password Change Link", BulkKind::SendLink),
];

/// The ARIA menu keys: arrows, Home and End move between items; Esc and Tab close the menu,
/// Esc returning the focus to the Bulk Change button.
fn menu_keys(
    ev: &KeyboardEvent,
    items: &[NodeRef<html::Button>],
    focused: RwSignal<usize>,
    open: RwSignal<bool>,
    trigger: NodeRef<html::Button>,
) {
    let last = items.len() - 1;
    let current = focused.get_untracked();
    let next = match ev.key().as_str() {
        "ArrowDown" => Some(if current == last { 0 } else { current + 1 }),
        "ArrowUp" => Some(if current == 0 { last } else { current - 1 }),
        "Home" => Some(0),
        "End" => Some(last),
        "Escape" => {
            open.set(false);
            if let Some(button) = trigger.get_untracked() {
                let _ = button.focus();
            }
            None
        }
        "Tab" => {
            open.set(false);
            None
        }
        _ => return,
    };
    if let Some(item) = next.and_then(|i| items[i].get_untracked()) {
        ev.prevent_default();
        let _ = item.focus();
    }
}

#[component]
fn PreviewBody(preview: ServerAction<PreviewBulkChange>, kind: BulkKind) -> impl IntoView {
    view! {
        {move || match preview.value().get().filter(|_| !preview.pending().get()) {
            None => view! { <p class="loading">"Counting the selected users…"</p> }.into_any(),
            Some(Err(e)) => view! { <ErrorNotice error=e/> }.into_any(),
            Some(Ok(numbers)) => view! { <PreviewNumbers numbers=numbers/> }.into_any(),
        }}
        {(kind == BulkKind::SendLink).then(|| view! {
            <LinkLifetimeField id="bulk-minutes"/>
            <div class="field checkbox">
                <input type="checkbox" id="bulk-invalidate" name="invalidate" checked/>
                <label for="bulk-invalidate">"Invalidate current password now"</label>
            </div>
        })}
        <p class="field-hint">
            {match kind {
                BulkKind::ForceReset => "Each affected user is signed out everywhere and must set a new password at their next sign-in.",
                BulkKind::SendLink => "Each affected user is signed out everywhere and gets a single-use link by email.",
            }}
        </p>
    }
}

#[component]
fn PreviewNumbers(numbers: BulkPreview) -> impl IntoView {
    view! {
        <p class="preview-count">
            <strong>{numbers.affected}</strong>
            {if numbers.affected == 1 { " user will be affected" } else { " users will be affected" }}
            " (of " {numbers.selected} " selected)."
        </p>
        {(!numbers.skipped.is_empty()).then(|| view! {
            <table class="skips">
                <caption>"Skipped"</caption>
                <thead><tr><th scope="col">"Reason"</th><th scope="col">"Users"</th></tr></thead>
                <tbody>
                    {numbers.skipped.iter().map(|(reason, count)| view! {
                        <tr><td>{reason.label()}</td><td>{*count}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
            <ul class="skip-examples" aria-label="Skipped users">
                {numbers.examples.iter().map(|(username, reason)| view! {
                    <li class="skipped">{username.clone()} " — " {reason.label()}</li>
                }).collect_view()}
            </ul>
        })}
    }
}

use leptos::prelude::*;
use model::audit::{ACTIONS, AuditFilter, AuditPage, OUTCOMES};
use model::user::AuditEntry;

use crate::api::users::list_audit_events;
use crate::components::form_error::FormError;
use crate::error::AppError;

/// Management > Audit: the trail, newest first, filtered by who, to whom, what, how it ended
/// and when; pages continue from the last event shown (keyset), and Export CSV downloads the
/// filtered view whole.
#[component]
pub fn AuditPage() -> impl IntoView {
    let filter = RwSignal::new(AuditFilter::default());
    let draft = RwSignal::new(AuditFilter::default());
    let pages = RwSignal::new(Vec::<AuditEntry>::new());
    let older = RwSignal::new(None::<i64>);
    let error = RwSignal::new(None::<AppError>);
    let loading = RwSignal::new(false);
    let load = move |before: Option<i64>| {
        let f = filter.get_untracked();
        loading.set(true);
        leptos::task::spawn_local(async move {
            let result =
                list_audit_events(f.actor, f.target, f.action, f.outcome, f.from, f.to, before)
                    .await;
            loading.set(false);
            match result {
                Ok(AuditPage {
                    entries,
                    older: next,
                }) => {
                    error.set(None);
                    if before.is_none() {
                        pages.set(entries);
                    } else {
                        pages.update(|all| all.extend(entries));
                    }
                    older.set(next);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    Effect::new(move |_| {
        filter.track();
        load(None);
    });
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        filter.set(draft.get_untracked());
    };
    let export = move || {
        let query = filter.get().query();
        if query.is_empty() {
            "/management/audit/export.csv".to_owned()
        } else {
            format!("/management/audit/export.csv?{query}")
        }
    };
    let text = move |field: fn(&mut AuditFilter) -> &mut String| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            draft.update(|d| *field(d) = value);
        }
    };
    view! {
        <section class="audit" aria-labelledby="audit-heading">
            <div class="page-head">
                <h1 id="audit-heading">"Audit"</h1>
                <a class="button" href=export rel="external" download="audit.csv">"Export CSV"</a>
            </div>
            <form class="audit-filters" role="search" aria-label="Filter the audit trail" on:submit=apply>
                <div class="field">
                    <label for="audit-actor">"Actor"</label>
                    <input id="audit-actor" type="text" placeholder="username" on:input=text(|f| &mut f.actor)/>
                </div>
                <div class="field">
                    <label for="audit-target">"Target"</label>
                    <input id="audit-target" type="text" placeholder="username" on:input=text(|f| &mut f.target)/>
                </div>
                <div class="field">
                    <label for="audit-action">"Action"</label>
                    <select id="audit-action" on:change=text(|f| &mut f.action)>
                        <option value="">"Any action"</option>
                        {ACTIONS.iter().map(|(name, label)| view! {
                            <option value=*name>{*label}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="audit-outcome">"Outcome"</label>
                    <select id="audit-outcome" on:change=text(|f| &mut f.outcome)>
                        <option value="">"Any outcome"</option>
                        {OUTCOMES.iter().map(|name| view! { <option value=*name>{*name}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="audit-from">"From"</label>
                    <input id="audit-from" type="date" on:input=text(|f| &mut f.from)/>
                </div>
                <div class="field">
                    <label for="audit-to">"To"</label>
                    <input id="audit-to" type="date" on:input=text(|f| &mut f.to)/>
                </div>
                <button type="submit" class="button primary">"Filter"</button>
            </form>
            <FormError error=error/>
            <table class="audit-table">
                <caption class="sr-only">"Audit events, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Time (UTC)"</th>
                        <th scope="col">"Actor"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Target"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"Address"</th>
                        <th scope="col">"Detail"</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || pages.get() key=|e| e.id let:entry>
                        <AuditRow entry=entry/>
                    </For>
                </tbody>
            </table>
            <Show when=move || !loading.get() && pages.with(Vec::is_empty)>
                <p class="empty">"No events match."</p>
            </Show>
            <Show when=move || older.get().is_some()>
                <button
                    type="button"
                    class="button"
                    disabled=move || loading.get()
                    on:click=move |_| load(older.get_untracked())
                >
                    "Older events"
                </button>
            </Show>
            <p class="loading" aria-live="polite">{move || loading.get().then_some("Loading…")}</p>
        </section>
    }
}

#[component]
fn AuditRow(entry: AuditEntry) -> impl IntoView {
    let action = ACTIONS
        .iter()
        .find(|(name, _)| *name == entry.action)
        .map_or(entry.action.clone(), |(_, label)| (*label).to_owned());
    let class = format!("outcome-{}", entry.outcome);
    view! {
        <tr class=class>
            <td><time>{entry.at.to_string()}</time></td>
            <td>{entry.actor.unwrap_or_default()}</td>
            <td>{action}</td>
            <td>{entry.target.unwrap_or_default()}</td>
            <td>{entry.outcome}</td>
            <td>{entry.ip.unwrap_or_default()}</td>
            <td class="detail">{entry.detail.unwrap_or_default()}</td>
        </tr>
    }
}

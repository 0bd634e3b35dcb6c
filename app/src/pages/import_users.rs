use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};
use model::import::{ImportLine, ImportState, ImportSummary};
use std::time::Duration;

use crate::api::people::{StartImport, import_summary};
use crate::components::form_error::{ErrorNotice, FormError, action_error};
use crate::components::outcome_chart::{Bar, OutcomeChart};
use crate::components::successes::successes;
use crate::error::AppError;

/// `/users/import`: choose a CSV file. A plain form (it works without JavaScript, and for
/// files up to 50 MB): the server reads it, sorts every row, and opens the preview.
#[component]
pub fn ImportUsersPage() -> impl IntoView {
    let query = use_query_map();
    // Only errors the server signed reach this address (see the server's signed form errors).
    let error = Signal::derive(move || {
        query
            .read()
            .get("__err")
            .and_then(|e| serde_json::from_str::<AppError>(&e).ok())
    });
    view! {
        <section class="import-users" aria-labelledby="import-heading">
            <div class="page-head">
                <h1 id="import-heading">"Import users"</h1>
                <A href="/users">"Back to Users"</A>
            </div>
            <p>
                "A CSV file whose first line names the columns: " <code>"username"</code>
                " (required), " <code>"display_name"</code> ", " <code>"email"</code> ", "
                <code>"role"</code> " (User or Password Manager) and " <code>"active"</code>
                " (yes or no). Exports from directories and HR systems work as they are \
                 (sAMAccountName, mail, …). Saved as UTF-8, at most 50 MB."
            </p>
            <p>
                "Nothing changes until you have read the preview and chosen Start import. \
                 Importing the same file again is safe: people are matched by username."
            </p>
            <form method="post" action="/api/people/import" enctype="multipart/form-data" class="stacked-form">
                <div class="field">
                    <label for="import-file">"CSV file"</label>
                    <input
                        id="import-file"
                        type="file"
                        name="file"
                        accept=".csv,text/csv"
                        required
                        aria-describedby="import-error"
                        aria-invalid=move || error.get().is_some().to_string()
                    />
                </div>
                <div id="import-error">
                    <FormError error=error/>
                </div>
                <button type="submit" class="button primary">"Upload and preview"</button>
            </form>
        </section>
    }
}

/// `/users/import/<id>`: the preview (every row new, updated, unchanged or error), then Start
/// import, the progress bar while it runs, and the outcome with its report.
#[component]
pub fn ImportJobPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let start = ServerAction::<StartImport>::new();
    let tick = RwSignal::new(0_u32);
    let started = successes(start);
    let summary = Resource::new(
        move || (id.get(), tick.get(), started.get()),
        |(id, _, _)| import_summary(id),
    );
    let polling = RwSignal::new(false);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if polling.get_untracked() {
                    tick.update(|t| *t += 1);
                }
            },
            Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <section class="import-job" aria-labelledby="import-heading">
            <div class="page-head">
                <h1 id="import-heading">"Import users"</h1>
                <A href="/users">"Back to Users"</A>
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading the import…"</p> }>
                {move || Suspend::new(async move {
                    match summary.await {
                        Ok(summary) => {
                            polling.set(summary.state == ImportState::Running);
                            match summary.state {
                                ImportState::Previewed => view! { <Preview summary=summary start=start/> }.into_any(),
                                _ => view! { <Progress summary=summary/> }.into_any(),
                            }
                        }
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn count_bars(summary: &ImportSummary) -> Vec<Bar> {
    [
        ("New", "bar-ok", summary.new),
        ("Updated", "bar-info", summary.updated),
        ("Unchanged", "bar-muted", summary.unchanged),
        ("Error", "bar-bad", summary.errors),
    ]
    .into_iter()
    .map(|(label, class, count)| Bar {
        label,
        class,
        count,
    })
    .collect()
}

#[component]
fn Preview(summary: ImportSummary, start: ServerAction<StartImport>) -> impl IntoView {
    let nothing_to_do = summary.new + summary.updated == 0;
    let id = summary.id.clone();
    view! {
        <p role="status">
            {format!(
                "{}: {} rows. {} new, {} updated, {} unchanged, {} with errors. Nothing has changed yet.",
                summary.file_name, summary.total, summary.new, summary.updated, summary.unchanged, summary.errors
            )}
        </p>
        <OutcomeChart bars=count_bars(&summary)/>
        {(!summary.problems.is_empty()).then(|| view! {
            <LineTable
                caption="Rows with errors (not imported; fix them in the file and import it again)"
                lines=summary.problems.clone()
            />
        })}
        {(!summary.changes.is_empty()).then(|| view! {
            <LineTable caption="The first rows that will change something" lines=summary.changes.clone()/>
        })}
        <ActionForm action=start attr:class="stacked-form">
            <input type="hidden" name="id" value=id/>
            <div class="field checkbox">
                <input type="checkbox" id="send-links" name="send_links"/>
                <label for="send-links">"Send Password Change Link to new users"</label>
            </div>
            <p class="field-hint">"New users with an email address get a welcome email with a link to choose their password, valid 24 hours."</p>
            <FormError error=action_error(start)/>
            <button
                type="submit"
                class="button primary"
                disabled=move || nothing_to_do || start.pending().get()
                title=nothing_to_do.then_some("No row would change anything.")
            >
                "Start import"
            </button>
        </ActionForm>
    }
}

#[component]
fn Progress(summary: ImportSummary) -> impl IntoView {
    let percent = summary.percent();
    let report = format!("/users/import/{}/report.csv", summary.id);
    let results: Vec<Bar> = summary
        .results
        .iter()
        .map(|(key, count)| {
            let (label, class) = match key.as_str() {
                "created" => ("Created", "bar-ok"),
                "updated" => ("Updated", "bar-info"),
                "unchanged" => ("Unchanged", "bar-muted"),
                "error" => ("Error (not imported)", "bar-bad"),
                _ => ("Failed", "bar-bad"),
            };
            Bar {
                label,
                class,
                count: *count,
            }
        })
        .collect();
    let state = match summary.state {
        ImportState::Running => ". Still running: you can leave this page.",
        ImportState::Interrupted => {
            ". Paused: the server running it stopped. A running Latchkey takes it over within a minute and imports only the rows not yet done."
        }
        _ => ". Done.",
    };
    view! {
        <div class="progress">
            <label for="import-progress">"Progress"</label>
            <progress id="import-progress" max=summary.total.to_string() value=summary.processed.to_string()>
                {format!("{percent}%")}
            </progress>
            <p role="status">
                {format!("{} of {} rows imported ({percent}%)", summary.processed, summary.total)}
                {state}
            </p>
        </div>
        <OutcomeChart bars=results/>
        {(summary.state == ImportState::Finished).then(|| view! {
            <p><a href=report download rel="external" class="button">"Download report (CSV)"</a></p>
        })}
        {(!summary.problems.is_empty()).then(|| view! {
            <LineTable caption="Rows with errors (not imported)" lines=summary.problems.clone()/>
        })}
    }
}

#[component]
fn LineTable(caption: &'static str, lines: Vec<ImportLine>) -> impl IntoView {
    view! {
        <table class="outcomes">
            <caption>{caption}</caption>
            <thead>
                <tr>
                    <th scope="col">"Line"</th>
                    <th scope="col">"Username"</th>
                    <th scope="col">"Result"</th>
                    <th scope="col">"Details"</th>
                </tr>
            </thead>
            <tbody>
                {lines.into_iter().map(|line| view! {
                    <tr>
                        <td>{line.line}</td>
                        <td>{line.username}</td>
                        <td>{line.verdict}</td>
                        <td>{line.detail}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

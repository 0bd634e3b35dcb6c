use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use model::bulk::BulkJob;
use std::time::Duration;

use crate::api::bulk::{bulk_job_items, get_bulk_job};
use crate::components::form_error::ErrorNotice;
use crate::components::outcome_chart::{Bar, OutcomeChart};

/// How each result is named and coloured in the outcome chart.
fn result_label(key: &str) -> (&'static str, &'static str) {
    match key {
        "reset" => ("Reset", "bar-ok"),
        "link_queued" => ("Link queued", "bar-info"),
        "link_sent" => ("Link sent", "bar-ok"),
        "email_failed" => ("Email failed", "bar-bad"),
        "skipped" => ("Skipped", "bar-muted"),
        _ => ("Failed", "bar-bad"),
    }
}

fn bars(job: &BulkJob) -> Vec<Bar> {
    job.tally
        .iter()
        .map(|(key, n)| {
            let (label, class) = result_label(key);
            Bar {
                label,
                class,
                count: *n,
            }
        })
        .collect()
}

/// `/users/bulk/<job>`: a Bulk Change job's progress bar while it runs (it keeps running if this
/// page is closed), then its outcomes as a chart, a table and a CSV download.
#[component]
pub fn BulkJobPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let tick = RwSignal::new(0_u32);
    let job = Resource::new(move || (id.get(), tick.get()), |(id, _)| get_bulk_job(id));
    let done = RwSignal::new(false);
    // Polls once a second until the job is done; nothing polls on the server.
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if !done.get_untracked() {
                    tick.update(|t| *t += 1);
                }
            },
            Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <section class="bulk-job" aria-labelledby="bulk-heading">
            <Transition fallback=|| view! { <p class="loading">"Loading the job…"</p> }>
                {move || Suspend::new(async move {
                    match job.await {
                        Ok(job) => {
                            if job.is_done() {
                                done.set(true);
                            }
                            view! { <JobView job=job/> }.into_any()
                        }
                        Err(e) => view! {
                            <h1 id="bulk-heading">"Bulk Change"</h1>
                            <p role="alert" class="form-error">{e.to_string()}</p>
                        }
                            .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn JobView(job: BulkJob) -> impl IntoView {
    let percent = job.percent();
    let finished = job.finished_at;
    let id = job.id.clone();
    view! {
        <h1 id="bulk-heading">"Bulk Change: " {job.kind.label()}</h1>
        <p class="field-hint">
            "Started by " {job.created_by.clone()} " at " {job.created_at.to_string()}
            {finished.map(|at| format!("; finished at {at}"))}
        </p>
        <div class="progress">
            <label for="bulk-progress">"Progress"</label>
            <progress id="bulk-progress" max=job.total.to_string() value=job.processed.to_string()>
                {format!("{percent}%")}
            </progress>
            <p role="status">
                {format!("{} of {} users processed ({percent}%)", job.processed, job.total)}
                {if finished.is_some() { ". Done." } else { ". Still running: you can leave this page." }}
            </p>
        </div>
        <OutcomeChart bars=bars(&job)/>
        {finished.map(|_| view! { <OutcomeTable id=id.clone()/> })}
    }
}

#[component]
fn OutcomeTable(id: String) -> impl IntoView {
    let href = format!("/bulk/{id}/report.csv");
    let items = Resource::new(move || id.clone(), bulk_job_items);
    view! {
        <p>
            <a href=href download rel="external" class="button">"Download report (CSV)"</a>
        </p>
        <Transition fallback=|| view! { <p class="loading">"Loading outcomes…"</p> }>
            {move || Suspend::new(async move {
                match items.await {
                    Ok(lines) => view! {
                        <table class="outcomes">
                            <caption>"Outcome per user (the first 200; the report has all)"</caption>
                            <thead>
                                <tr>
                                    <th scope="col">"Username"</th>
                                    <th scope="col">"Outcome"</th>
                                    <th scope="col">"Reason"</th>
                                    <th scope="col">"Email"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {lines.into_iter().map(|line| view! {
                                    <tr>
                                        <td>{line.username}</td>
                                        <td>{line.outcome}</td>
                                        <td>{line.reason.unwrap_or_default()}</td>
                                        <td>{line.email.unwrap_or_default()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }
                        .into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

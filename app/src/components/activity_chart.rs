use leptos::prelude::*;
use model::audit::DayCount;
use model::time::Timestamp;

const WIDTH: u32 = 300;
const HEIGHT: u32 = 90;
const AXIS: u32 = 14;

/// Sign-ins and failed sign-ins per day over the last 30 days, as paired columns: an
/// administrator sees a run of failures before resetting. Drawn as SVG by hand (no charting
/// crate in the WASM); the same numbers follow as a table for screen readers and for reading.
#[component]
pub fn ActivityChart(days: Vec<DayCount>) -> impl IntoView {
    let total_ok: u32 = days.iter().map(|d| d.sign_ins).sum();
    let total_failed: u32 = days.iter().map(|d| d.failures).sum();
    let largest = days
        .iter()
        .map(|d| d.sign_ins.max(d.failures))
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = WIDTH / u32::try_from(days.len().max(1)).unwrap_or(1);
    let bar = (slot / 2).max(1);
    let plot = HEIGHT - AXIS;
    let height = move |n: u32| {
        if n == 0 {
            0
        } else {
            (n * plot / largest).max(2)
        }
    };
    let label = format!(
        "Sign-ins over the last {} days: {total_ok} successful, {total_failed} failed.",
        days.len()
    );
    let first = days
        .first()
        .map(|d| Timestamp::date_of_day(d.day))
        .unwrap_or_default();
    let last = days
        .last()
        .map(|d| Timestamp::date_of_day(d.day))
        .unwrap_or_default();
    let columns = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let x = u32::try_from(i).unwrap_or(0) * slot;
            let (ok, failed) = (height(d.sign_ins), height(d.failures));
            let date = Timestamp::date_of_day(d.day);
            view! {
                <g>
                    <title>{format!("{date}: {} sign-ins, {} failed", d.sign_ins, d.failures)}</title>
                    <rect class="ok" x=x y=plot - ok width=bar height=ok></rect>
                    <rect class="failed" x=x + bar y=plot - failed width=bar height=failed></rect>
                </g>
            }
        })
        .collect_view();
    let rows = days
        .iter()
        .filter(|d| d.sign_ins + d.failures > 0)
        .map(|d| {
            view! {
                <tr>
                    <th scope="row">{Timestamp::date_of_day(d.day)}</th>
                    <td>{d.sign_ins}</td>
                    <td>{d.failures}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <figure class="activity-chart">
            <figcaption>
                "Sign-ins, last 30 days: "
                <span class="legend ok">{total_ok} " successful"</span> ", "
                <span class="legend failed">{total_failed} " failed"</span>
            </figcaption>
            <svg
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                role="img"
                aria-label=label
                preserveAspectRatio="none"
            >
                {columns}
                <line class="axis" x1="0" y1=plot x2=WIDTH y2=plot></line>
                <text x="0" y=HEIGHT - 2>{first}</text>
                <text x=WIDTH y=HEIGHT - 2 text-anchor="end">{last}</text>
            </svg>
            <details>
                <summary>"Show as a table"</summary>
                <table class="compact">
                    <caption class="sr-only">"Sign-ins per day"</caption>
                    <thead>
                        <tr><th scope="col">"Day"</th><th scope="col">"Sign-ins"</th><th scope="col">"Failed sign-ins"</th></tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </figure>
    }
}

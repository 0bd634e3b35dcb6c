use leptos::prelude::*;

/// One bar of an [`OutcomeChart`].
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: &'static str,
    /// `bar-ok`, `bar-info`, `bar-bad` or `bar-muted`.
    pub class: &'static str,
    pub count: u64,
}

/// How a bulk job or an import went, as horizontal bars: one look says it. Screen readers get
/// the same numbers as one sentence.
#[component]
pub fn OutcomeChart(bars: Vec<Bar>) -> impl IntoView {
    let largest = bars.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let summary = bars
        .iter()
        .map(|b| format!("{}: {}", b.label, b.count))
        .collect::<Vec<_>>()
        .join(", ");
    (!bars.is_empty()).then(|| {
        view! {
            <figure class="outcome-chart" role="img" aria-label=format!("Outcomes: {summary}")>
                {bars.into_iter().map(|bar| {
                    let width = format!("width: {}%", (bar.count * 100 / largest).max(1));
                    view! {
                        <div class="bar-row" aria-hidden="true">
                            <span class="bar-label">{bar.label}</span>
                            <span class=format!("bar {}", bar.class) style=width></span>
                            <span class="bar-count">{bar.count}</span>
                        </div>
                    }
                }).collect_view()}
            </figure>
        }
    })
}

use leptos::prelude::*;
use model::time::Timestamp;
use model::user::UserSummary;

/// The status badges of a user: active or disabled, external, locked, reset pending.
#[component]
pub fn StatusBadges(
    /// The user whose state to show.
    user: UserSummary,
    /// The server's clock when the data was read, so an expired lock shows as expired.
    now: Timestamp,
) -> impl IntoView {
    view! {
        <span class="badges">
            {user
                .badges(now)
                .into_iter()
                .map(|badge| view! { <span class=badge.css_class()>{badge.label()}</span> })
                .collect_view()}
        </span>
    }
}

use leptos::prelude::*;
use model::reset::{LINK_LIFETIME_CHOICES, LINK_MINUTES_DEFAULT};

/// "Link expires after": the lifetimes a password change link may be given (the same bounds
/// the server checks), posted as `minutes`, the default chosen.
#[component]
pub fn LinkLifetimeField(
    /// The select's element id, unique on the page.
    id: &'static str,
    /// The lifetime chosen at first, in minutes.
    #[prop(default = LINK_MINUTES_DEFAULT)]
    default: i64,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>"Link expires after"</label>
            <select id=id name="minutes">
                {LINK_LIFETIME_CHOICES
                    .iter()
                    .map(|(minutes, label)| view! {
                        <option value=minutes.to_string() selected=*minutes == default>
                            {*label}
                        </option>
                    })
                    .collect_view()}
            </select>
        </div>
    }
}

//! The smallest page Leptos hydrates: a button that counts its clicks.

use leptos::prelude::*;

#[component]
fn Counter() -> impl IntoView {
    let count = RwSignal::new(0);
    view! {
        <button on:click=move |_| *count.write() += 1>{count}</button>
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    leptos::mount::hydrate_body(Counter);
}

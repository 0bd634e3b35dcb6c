#![recursion_limit = "256"]
//! The WASM entry point: hydrates the server-rendered page into the live application.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Lazy routes (app.rs) hydrate once their chunk has arrived, so hydration is asynchronous.
    leptos::mount::hydrate_lazy(app::App);
}

#![recursion_limit = "256"]
//! The WASM entry point: hydrates the server-rendered page into the live application.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let Some(body) = leptos::prelude::document().body() else {
        return;
    };
    // Asynchronous: a lazy route (app.rs) hydrates once its chunk has arrived. The page is
    // marked hydrated only then, not when the application starts, so nothing waits on a page
    // that does not yet respond.
    wasm_bindgen_futures::spawn_local(async move {
        app::load_before_hydrating().await;
        let owner = leptos::mount::hydrate_from_async(body, app::App).await;
        owner.forget();
        app::mark_hydrated();
    });
}

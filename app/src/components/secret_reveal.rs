use leptos::prelude::*;
use std::time::Duration;

use super::panel_actions::PanelActions;

/// How long a one-time secret stays on screen.
const SHOWN_FOR: Duration = Duration::from_secs(60);

/// A temporary password or Copy link, shown once: a read-only field, Copy, a warning, and a
/// QR code for a link. It hides itself after a minute or on Close, and the page forgets it.
#[component]
pub fn SecretReveal(actions: PanelActions) -> impl IntoView {
    let copied = RwSignal::new(false);
    Effect::new(move |_| {
        if actions.secret.with(Option::is_some) {
            copied.set(false);
            let handle = set_timeout_with_handle(move || actions.forget_secret(), SHOWN_FOR);
            on_cleanup(move || {
                if let Ok(handle) = handle {
                    handle.clear();
                }
            });
        }
    });
    let copy = move |_| {
        if let Some(secret) = actions.secret.get_untracked() {
            copy_to_clipboard(secret.value.expose());
            copied.set(true);
        }
    };
    move || {
        actions.secret.get().map(|secret| {
            let is_link = secret.qr_svg.is_some();
            view! {
                <div class="secret-reveal" role="region" aria-label=secret.label>
                    <label for="one-time-secret">{secret.label}</label>
                    <div class="secret-row">
                        <input
                            id="one-time-secret"
                            type="text"
                            readonly
                            autocomplete="off"
                            spellcheck="false"
                            value=secret.value.expose().to_owned()
                            on:focus:target=move |ev| ev.target().select()
                        />
                        <button type="button" class="button" on:click=copy>
                            "Copy"
                        </button>
                    </div>
                    <p class="field-hint" role="status">
                        {move || copied.get().then_some("Copied to the clipboard.")}
                    </p>
                    <p class="warning">
                        {if is_link {
                            "Shown once. Anyone with this link can set the password until it is used or expires at "
                        } else {
                            "Temporary: shown once, and works for one sign-in, after which the user must choose their own password. It expires at "
                        }}
                        {secret.expires_at.to_string()}
                        ". This box closes in a minute."
                    </p>
                    {secret.qr_svg.map(|svg| view! {
                        <figure class="qr">
                            <div inner_html=svg></div>
                            <figcaption>"Scan to open the link on a phone."</figcaption>
                        </figure>
                    })}
                    <button type="button" class="button" on:click=move |_| actions.forget_secret()>
                        "Close"
                    </button>
                </div>
            }
        })
    }
}

/// Puts text on the clipboard. Where the Clipboard API is missing (an http:// site that is not
/// localhost), the field still selects its whole value on focus for Ctrl+C.
fn copy_to_clipboard(text: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

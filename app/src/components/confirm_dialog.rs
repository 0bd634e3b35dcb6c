use leptos::html;
use leptos::prelude::*;

/// A modal confirmation on the browser's own `<dialog>`: it traps focus, closes on Esc, and is
/// announced as a dialog with its title. Place it inside the form it confirms: its confirm
/// button submits that form.
///
/// That button is the form's first submit button, so Enter in one of the form's fields
/// "clicks" it even while the dialog is closed. Such a click opens the dialog instead of
/// submitting: nothing is changed without the confirmation.
#[component]
pub fn ConfirmDialog(
    /// Element id prefix, unique on the page.
    id: &'static str,
    /// The dialog's title.
    #[prop(into)]
    title: String,
    /// The confirm button's words, in the seeds' terms ("Yes, Reset Password").
    confirm_label: &'static str,
    /// Open while true; set back to false when the dialog closes.
    open: RwSignal<bool>,
    /// The confirm button is disabled while this is false (say, until a preview has loaded).
    #[prop(optional, into)]
    ready: Option<Signal<bool>>,
    /// What will happen, in plain words.
    children: Children,
) -> impl IntoView {
    let dialog = NodeRef::<html::Dialog>::new();
    Effect::new(move |_| {
        let Some(dialog) = dialog.get() else { return };
        if open.get() {
            if !dialog.open() {
                let _ = dialog.show_modal();
            }
        } else if dialog.open() {
            dialog.close();
        }
    });
    let title_id = format!("{id}-title");
    let title_id_for_heading = title_id.clone();
    view! {
        <dialog
            node_ref=dialog
            class="confirm"
            aria-labelledby=title_id.clone()
            on:close=move |_| open.set(false)
        >
            <h2 id=title_id_for_heading>{title}</h2>
            <div class="confirm-body">{children()}</div>
            <div class="confirm-actions">
                <button type="button" class="button" on:click=move |_| open.set(false)>
                    "Cancel"
                </button>
                <button
                    type="submit"
                    class="button primary"
                    disabled=move || ready.is_some_and(|ready| !ready.get())
                    on:click=move |ev| confirm_click(&ev, open)
                >
                    {confirm_label}
                </button>
            </div>
        </dialog>
    }
}

fn confirm_click(ev: &leptos::ev::MouseEvent, open: RwSignal<bool>) {
    if open.get_untracked() {
        open.set(false);
    } else {
        ev.prevent_default();
        open.set(true);
    }
}

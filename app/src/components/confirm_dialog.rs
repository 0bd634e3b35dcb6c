use leptos::html;
use leptos::prelude::*;

/// A modal confirmation on the browser's own `<dialog>`: it traps focus, closes on Esc, and is
/// announced as a dialog with its title. Place it inside the form it confirms: its confirm
/// button submits that form.
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
                <button type="submit" class="button primary" on:click=move |_| open.set(false)>
                    {confirm_label}
                </button>
            </div>
        </dialog>
    }
}

use leptos::prelude::*;
use model::fields::FieldError;

use crate::error::AppError;

/// A text input checked as it is typed by the same rule the server runs (`check`), with the
/// rule's message, or the server's last refusal naming this field, beside it.
#[component]
pub fn CheckedField(
    /// The form field's name, which a server refusal names too.
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    /// What is typed.
    value: RwSignal<String>,
    /// The shared rule; `Err` carries the words to show.
    check: fn(&str) -> Result<(), FieldError>,
    /// The server's last refusal.
    #[prop(into)]
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let message_id = format!("{id}-message");
    // Said only once the person has typed here, so an empty form is not a wall of red.
    let touched = RwSignal::new(false);
    let message = move || {
        let local = touched
            .get()
            .then(|| check(&value.get()).err().map(|e| e.reason))
            .flatten();
        local.or_else(|| {
            error
                .get()
                .filter(|e| e.field() == Some(name))
                .map(|e| e.to_string())
        })
    };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=input_type
                autocomplete=autocomplete
                aria-invalid=move || message().is_some().to_string()
                aria-describedby=message_id.clone()
                prop:value=move || value.get()
                on:input:target=move |ev| value.set(ev.target().value())
                on:blur=move |_| touched.set(true)
            />
            {hint.map(|h| view! { <p class="field-hint">{h}</p> })}
            <p id=message_id class="field-hint error">{message}</p>
        </div>
    }
}

/// Whether a rule accepts `value`, for a form's Save button.
pub fn passes(check: fn(&str) -> Result<(), FieldError>, value: &str) -> bool {
    check(value).is_ok()
}

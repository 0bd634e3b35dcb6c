//! One field of a Management settings page: its label, its hint, the variable that fixes it
//! (the input greyed, with the variable's name), and the form's error when it names the field.

use leptos::prelude::*;

use crate::error::AppError;

/// One field's name, the variable that fixes it (if any), and the form's last error.
#[derive(Clone)]
pub struct Setting {
    pub name: &'static str,
    pub fixed_by: Option<String>,
    pub error: Signal<Option<AppError>>,
}

impl Setting {
    fn invalid(&self) -> Signal<bool> {
        let (name, error) = (self.name, self.error);
        Signal::derive(move || error.get().is_some_and(|e| e.field() == Some(name)))
    }

    fn hint(&self, hint: Option<&'static str>) -> impl IntoView + use<> {
        let fixed = self.fixed_by.clone().map(|variable| {
            view! {
                <p class="field-hint overridden">
                    "Set by " <code>{variable}</code> " in the environment, which wins over this page."
                </p>
            }
        });
        let hint = hint.map(|text| view! { <p class="field-hint">{text}</p> });
        (hint, fixed)
    }
}

#[component]
pub fn NumberSetting(
    setting: Setting,
    label: &'static str,
    value: String,
    min: i64,
    max: i64,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] typed: Option<RwSignal<String>>,
) -> impl IntoView {
    let id = format!("setting-{}", setting.name);
    let invalid = setting.invalid();
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=setting.name
                type="number"
                inputmode="numeric"
                min=min
                max=max
                required
                value=value
                disabled=setting.fixed_by.is_some()
                aria-invalid=move || invalid.get().to_string()
                on:input:target=move |ev| {
                    if let Some(typed) = typed {
                        typed.set(ev.target().value());
                    }
                }
            />
            {setting.hint(hint)}
        </div>
    }
}

#[component]
pub fn SelectSetting(
    setting: Setting,
    label: &'static str,
    value: String,
    choices: Vec<(&'static str, &'static str)>,
    #[prop(optional)] typed: Option<RwSignal<String>>,
) -> impl IntoView {
    let id = format!("setting-{}", setting.name);
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select
                id=id
                name=setting.name
                disabled=setting.fixed_by.is_some()
                on:change:target=move |ev| {
                    if let Some(typed) = typed {
                        typed.set(ev.target().value());
                    }
                }
            >
                {choices
                    .into_iter()
                    .map(|(choice, text)| view! {
                        <option value=choice selected=choice == value>{text}</option>
                    })
                    .collect_view()}
            </select>
            {setting.hint(None)}
        </div>
    }
}

/// A text field; `kind` is the input's type (`text`, `email`, `password`).
#[component]
pub fn TextSetting(
    setting: Setting,
    label: &'static str,
    value: String,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] typed: Option<RwSignal<String>>,
) -> impl IntoView {
    let id = format!("setting-{}", setting.name);
    let invalid = setting.invalid();
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=setting.name
                type=kind
                value=value
                autocomplete=autocomplete.unwrap_or("off")
                spellcheck="false"
                disabled=setting.fixed_by.is_some()
                aria-invalid=move || invalid.get().to_string()
                on:input:target=move |ev| {
                    if let Some(typed) = typed {
                        typed.set(ev.target().value());
                    }
                }
            />
            {setting.hint(hint)}
        </div>
    }
}

use leptos::prelude::*;
use model::PolicyContext;
use model::policy::{MAX_LENGTH_CEILING, MAX_LENGTH_FLOOR, MIN_LENGTH_FLOOR, PasswordPolicy};
use model::settings::{HISTORY_MAX, SettingsView};

use crate::api::settings::{SaveSecuritySettings, get_security_settings};
use crate::components::form_error::{ErrorNotice, FormError, action_error};
use crate::components::policy_checklist::{Checklist, use_requirements};
use crate::components::setting_field::{NumberSetting, SelectSetting, Setting};
use crate::components::successes::successes;

/// Management > Password Policy: the rule every new password meets, and the lifetimes, locks
/// and sessions around it. Saved in the database for every instance; a field the environment
/// fixes is shown greyed with its variable.
#[component]
pub fn PasswordPolicyPage() -> impl IntoView {
    let save = ServerAction::<SaveSecuritySettings>::new();
    let saved = successes(save);
    let view_ = Resource::new(move || saved.get(), |_| get_security_settings());
    view! {
        <section class="settings" aria-labelledby="policy-heading">
            <div class="page-head">
                <h1 id="policy-heading">"Password Policy"</h1>
            </div>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match view_.await {
                        Ok(current) => view! { <PolicyForm current=current save=save/> }.into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn PolicyForm(current: SettingsView, save: ServerAction<SaveSecuritySettings>) -> impl IntoView {
    let error = action_error(save);
    let saved = move || save.value().get().is_some_and(|r| r.is_ok());
    let s = current.settings.clone();
    // The three numbers the live example reads as they are typed, before any save.
    let min_length = RwSignal::new(s.min_length.to_string());
    let max_length = RwSignal::new(s.max_length.to_string());
    let min_classes = RwSignal::new(s.min_classes.to_string());
    let trial = Signal::derive(move || {
        Some(PasswordPolicy {
            min_length: min_length.get().trim().parse().ok()?,
            max_length: max_length.get().trim().parse().ok()?,
            min_classes: min_classes.get().trim().parse().ok()?,
        })
    });
    let field = move |name: &'static str| Setting {
        name,
        fixed_by: current.variable_for(name).map(str::to_owned),
        error,
    };
    view! {
        <ActionForm action=save attr:class="settings-form">
            <fieldset>
                <legend>"New passwords"</legend>
                <NumberSetting
                    setting=field("min_length")
                    label="Minimum length"
                    value=s.min_length.to_string()
                    min={MIN_LENGTH_FLOOR as i64}
                    max={MAX_LENGTH_CEILING as i64}
                    hint="Characters. 15 is NIST's advice for a password that is the only factor; never below 8."
                    typed=min_length
                />
                <NumberSetting
                    setting=field("max_length")
                    label="Maximum length"
                    value=s.max_length.to_string()
                    min={MAX_LENGTH_FLOOR as i64}
                    max={MAX_LENGTH_CEILING as i64}
                    hint="At least 128, so passphrases fit."
                    typed=max_length
                />
                <SelectSetting
                    setting=field("min_classes")
                    label="Character classes required"
                    value=s.min_classes.to_string()
                    choices=vec![
                        ("0", "Off (recommended)"),
                        ("2", "2 of: lower case, upper case, digits, other"),
                        ("3", "3 of: lower case, upper case, digits, other"),
                        ("4", "All 4: lower case, upper case, digits, other"),
                    ]
                    typed=min_classes
                />
                <NumberSetting
                    setting=field("password_history")
                    label="Earlier passwords that may not be used again"
                    value=s.password_history.to_string()
                    min=0
                    max={HISTORY_MAX as i64}
                    hint="0 turns this off. Kept as argon2 hashes, never in plain text."
                />
                <p class="field-hint">
                    "Always refused: the username, email address and name of the person, the name \
                     of this product, and passwords on the shipped list of breached and common \
                     passwords."
                </p>
            </fieldset>
            <fieldset>
                <legend>"Links and temporary passwords"</legend>
                <NumberSetting
                    setting=field("link_minutes")
                    label="Password change link lifetime (minutes)"
                    value=s.link_minutes.to_string()
                    min=model::reset::LINK_MINUTES_MIN
                    max=model::reset::LINK_MINUTES_MAX
                    hint="What Send Password Change Link starts with, and what Forgot your password? sends."
                />
                <NumberSetting
                    setting=field("temporary_password_hours")
                    label="Temporary password lifetime (hours)"
                    value=s.temporary_password_hours.to_string()
                    min=1
                    max=168
                    hint="A temporary or generated password works once, within this time."
                />
                <SelectSetting
                    setting=field("allow_emailed_passwords")
                    label="Emailed passwords"
                    value=s.allow_emailed_passwords.to_string()
                    choices=vec![("true", "Allowed"), ("false", "Not allowed: send links instead")]
                />
            </fieldset>
            <fieldset>
                <legend>"Lockout"</legend>
                <NumberSetting
                    setting=field("lock_threshold")
                    label="Failed sign-ins before a lock"
                    value=s.lock_threshold.to_string()
                    min=3
                    max=100
                    hint="In a row. The last active administrator locks only after 100."
                />
                <NumberSetting
                    setting=field("lock_minutes_0")
                    label="First lock (minutes)"
                    value=s.lock_minutes[0].to_string()
                    min=1
                    max=10080
                />
                <NumberSetting
                    setting=field("lock_minutes_1")
                    label="Second lock in a row (minutes)"
                    value=s.lock_minutes[1].to_string()
                    min=1
                    max=10080
                />
                <NumberSetting
                    setting=field("lock_minutes_2")
                    label="Every later lock (minutes)"
                    value=s.lock_minutes[2].to_string()
                    min=1
                    max=10080
                />
            </fieldset>
            <fieldset>
                <legend>"Sessions"</legend>
                <NumberSetting
                    setting=field("session_idle_minutes")
                    label="Sign out after inactivity (minutes)"
                    value=s.session_idle_minutes.to_string()
                    min=5
                    max=1440
                />
                <NumberSetting
                    setting=field("session_absolute_hours")
                    label="Sign out after (hours), however active"
                    value=s.session_absolute_hours.to_string()
                    min=1
                    max=720
                />
            </fieldset>
            <FormError error=error/>
            <div class="form-actions">
                <button type="submit" class="button primary">"Save policy"</button>
                <Show when=saved>
                    <p role="status" class="notice">"Saved. New passwords are checked against it from now on."</p>
                </Show>
            </div>
        </ActionForm>
        <TryAPassword policy=trial/>
    }
}

/// "Try a password": the numbers as typed above (saved or not) and the same rule every
/// password form runs, with the server's answer about the block-list.
#[component]
fn TryAPassword(#[prop(into)] policy: Signal<Option<PasswordPolicy>>) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let requirements = use_requirements(
        policy,
        password.into(),
        Signal::derive(PolicyContext::default),
    );
    view! {
        <section class="try-password" aria-labelledby="try-heading">
            <h2 id="try-heading">"Try a password"</h2>
            <p class="field-hint">
                "Checked against the numbers above as you type them, saved or not. Nothing you \
                 type here is stored."
            </p>
            <div class="field">
                <label for="try-password">"Example password"</label>
                <input
                    id="try-password"
                    type="text"
                    autocomplete="off"
                    spellcheck="false"
                    aria-describedby="try-rules"
                    on:input:target=move |ev| password.set(ev.target().value())
                />
            </div>
            <Checklist requirements=requirements id="try-rules"/>
        </section>
    }
}

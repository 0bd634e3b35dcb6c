use leptos::prelude::*;
use leptos_router::components::A;
use model::Role;
use model::fields::{self, FieldError};
use model::people::{Access, access_refusal};
use model::secret::Secret;
use model::time::Timestamp;
use std::time::Duration;

use crate::api::people::{AddUser, UserAdded};
use crate::components::checked_field::{CheckedField, passes};
use crate::components::form_error::{FormError, action_error};
use crate::components::link_lifetime::LinkLifetimeField;
use crate::components::links::with_query;

fn username(raw: &str) -> Result<(), FieldError> {
    fields::username(raw).map(drop)
}

fn display_name(raw: &str) -> Result<(), FieldError> {
    fields::display_name(raw).map(drop)
}

fn email(raw: &str) -> Result<(), FieldError> {
    fields::email(raw).map(drop)
}

/// Accounts > Users > Add user: the person, their role, Is Active, and how they first get in.
#[component]
pub fn AddUserPage() -> impl IntoView {
    let add = ServerAction::<AddUser>::new();
    let added = move || add.value().get().and_then(Result::ok);
    view! {
        <section class="add-user" aria-labelledby="add-user-heading">
            <div class="page-head">
                <h1 id="add-user-heading">"Add user"</h1>
                <A href="/users">"Back to Users"</A>
            </div>
            <Show
                when=move || added().is_none()
                fallback=move || added().map(|a| view! { <Added added=a add=add/> })
            >
                <AddUserForm add=add/>
            </Show>
        </section>
    }
}

#[component]
fn AddUserForm(add: ServerAction<AddUser>) -> impl IntoView {
    let error = action_error(add);
    let (name, display, mail) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let active = RwSignal::new(true);
    let access = RwSignal::new(Access::WelcomeLink);
    let access_problem = move || {
        access_refusal(access.get(), !mail.get().trim().is_empty(), active.get())
            .map(|(_, why)| why)
    };
    let ready = move || {
        passes(username, &name.get())
            && passes(display_name, &display.get())
            && passes(email, &mail.get())
            && access_problem().is_none()
    };
    let other_error = Signal::derive(move || {
        error
            .get()
            .filter(|e| !matches!(e.field(), Some("username" | "display_name" | "email")))
    });
    view! {
        <ActionForm action=add attr:class="stacked-form">
            <CheckedField name="username" label="Username" autocomplete="off" value=name check=username error=error
                hint="Letters, digits and . _ - @; unique, ignoring case."/>
            <CheckedField name="display_name" label="Display name" autocomplete="off" value=display check=display_name error=error/>
            <CheckedField name="email" label="Email" input_type="email" autocomplete="off" value=mail check=email error=error
                hint="Optional. Needed for a welcome email and for password change links."/>
            <div class="field">
                <label for="new-user-role">"Role"</label>
                <select id="new-user-role" name="role">
                    {Role::ALL
                        .into_iter()
                        .map(|role| view! { <option value=role.as_str() selected=role == Role::User>{role.label()}</option> })
                        .collect_view()}
                </select>
            </div>
            <div class="field checkbox">
                <input
                    type="checkbox"
                    id="new-user-active"
                    name="active"
                    prop:checked=move || active.get()
                    on:change:target=move |ev| active.set(ev.target().checked())
                />
                <label for="new-user-active">"Is Active"</label>
            </div>
            <fieldset class="field">
                <legend>"How they get in"</legend>
                {Access::ALL
                    .into_iter()
                    .map(|choice| {
                        let id = format!("access-{}", choice.as_str());
                        view! {
                            <div class="radio">
                                <input
                                    type="radio"
                                    id=id.clone()
                                    name="access"
                                    value=choice.as_str()
                                    prop:checked=move || access.get() == choice
                                    on:change=move |_| access.set(choice)
                                />
                                <label for=id>{choice.label()}</label>
                            </div>
                        }
                    })
                    .collect_view()}
                <p class="field-hint error" role="alert">{access_problem}</p>
            </fieldset>
            <Show when=move || access.get() == Access::WelcomeLink>
                // A new colleague may open their welcome email tomorrow morning.
                <LinkLifetimeField id="welcome-minutes" default=model::reset::LINK_MINUTES_MAX/>
            </Show>
            <FormError error=other_error/>
            <button type="submit" class="button primary" disabled=move || !ready() || add.pending().get()>
                "Add user"
            </button>
        </ActionForm>
    }
}

/// What Add user did: the new person, their temporary password shown once, or the welcome
/// email's expiry.
#[component]
fn Added(added: UserAdded, add: ServerAction<AddUser>) -> impl IntoView {
    let href = with_query(
        "/users",
        &[
            ("q", Some(added.username.as_str())),
            ("user", Some(added.id.0.as_str())),
        ],
    );
    let temporary = added.temporary.clone();
    view! {
        <div role="status" class="notice">
            <p>"Added " <strong>{added.username.clone()}</strong> "."</p>
            {added.link_expires_at.map(|at| view! {
                <p>"A welcome email with a password change link is queued. The link expires at " {at.to_string()} "."</p>
            })}
        </div>
        {temporary.map(|t| view! { <ShownOnce password=t.password expires_at=t.expires_at/> })}
        <p class="actions">
            <A href=href attr:class="button">"Open " {added.username.clone()}</A>
            <button type="button" class="button" on:click=move |_| add.value().set(None)>
                "Add another user"
            </button>
        </p>
    }
}

/// How long the new person's temporary password stays on screen, as in the details panel.
const SHOWN_FOR: Duration = Duration::from_secs(60);

/// The temporary password, shown once and for a minute: then the page forgets it.
#[component]
fn ShownOnce(password: Secret, expires_at: Timestamp) -> impl IntoView {
    let secret = RwSignal::new(Some(password));
    if let Ok(handle) = set_timeout_with_handle(move || secret.set(None), SHOWN_FOR) {
        on_cleanup(move || handle.clear());
    }
    move || {
        match secret.get() {
        Some(password) => view! {
            <div class="secret-reveal" role="region" aria-label="Temporary password">
                <label for="new-user-temporary">"Temporary password"</label>
                <input
                    id="new-user-temporary"
                    type="text"
                    readonly
                    autocomplete="off"
                    spellcheck="false"
                    value=password.expose().to_owned()
                    on:focus:target=move |ev| ev.target().select()
                />
                <p class="warning">
                    "Shown once: hand it to the user. It works for one sign-in, after which they must choose their own password, and expires at "
                    {expires_at.to_string()} ". This box closes in a minute."
                </p>
            </div>
        }
        .into_any(),
        None => view! {
            <p class="note">
                "The temporary password is no longer shown. If it was not handed over, generate a new one from the user's details."
            </p>
        }
        .into_any(),
    }
    }
}

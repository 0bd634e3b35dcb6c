use leptos::prelude::*;
use model::user::UserSummary;

use super::confirmed_form::ConfirmedForm;
use super::link_lifetime::LinkLifetimeField;
use super::panel_actions::PanelActions;

/// Why a password cannot be emailed to this user, if it cannot: the security setting, or why
/// no email can go to them (`no_email`, from the eligibility rule).
pub fn password_email_blocker(
    no_email: Option<&'static str>,
    allowed: bool,
) -> Option<&'static str> {
    if allowed {
        no_email
    } else {
        Some("Emailing passwords is turned off in the security settings.")
    }
}

/// Send Password Change Link (and Copy link), Generate Temporary Password and Generate New
/// Password. Each asks for confirmation saying what will happen to the current password.
#[component]
pub fn ResetActions(
    user: UserSummary,
    /// Why the resets that email the user cannot be offered, if they cannot.
    no_email: Option<&'static str>,
    actions: PanelActions,
    /// Whether the security settings allow emailing a generated password.
    emailed_passwords_allowed: bool,
    /// How long a temporary password works, from the security settings.
    temporary_hours: i64,
) -> impl IntoView {
    let id = user.id.0.clone();
    let name = user.display_name.clone();
    let generated_blocker = password_email_blocker(no_email, emailed_passwords_allowed);
    view! {
        <LinkForm id=id.clone() name=name.clone() actions=actions no_email=no_email/>
        <TemporaryForm
            id=id.clone()
            name=name.clone()
            actions=actions
            password_email_blocked=generated_blocker
            hours=temporary_hours
        />
        <GeneratedForm id=id name=name actions=actions blocker=generated_blocker/>
    }
}

/// A button that is disabled with its reason beside it (and as its description).
#[component]
fn GatedButton(
    label: &'static str,
    hint_id: &'static str,
    blocker: Option<&'static str>,
    on_press: impl Fn() + 'static,
) -> impl IntoView {
    view! {
        <button
            type="button"
            class="button"
            disabled=blocker.is_some()
            title=blocker
            aria-describedby=blocker.map(|_| hint_id)
            on:click=move |_| on_press()
        >
            {label}
        </button>
        {blocker.map(|why| view! { <p id=hint_id class="field-hint">{why}</p> })}
    }
}

#[component]
fn LinkForm(
    id: String,
    name: String,
    actions: PanelActions,
    no_email: Option<&'static str>,
) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let delivery = RwSignal::new("email");
    let invalidate = RwSignal::new(true);
    let open = move |how: &'static str| {
        delivery.set(how);
        confirming.set(true);
    };
    let message = move || {
        view! {
            <p>
                {move || if delivery.get() == "email" {
                    "A single-use link goes to the user's email address."
                } else {
                    "A single-use link is shown to you once, with a QR code, to hand over yourself."
                }}
                " " {name.clone()} " is signed out everywhere, and any earlier link or temporary password stops working. "
                {move || if invalidate.get() {
                    "The current password stops working now."
                } else {
                    "The current password keeps working until the link is used."
                }}
            </p>
        }
    };
    view! {
        <div role="group" aria-labelledby="link-heading" class="password-op">
            <h4 id="link-heading">"Password change link"</h4>
            <ConfirmedForm
                action=actions.link
                user_id=id
                dialog_id="confirm-link"
                title="Send a password change link?"
                open=confirming
                message=message
            >
                <input type="hidden" name="delivery" value=move || delivery.get()/>
                <LinkLifetimeField id="link-minutes"/>
                <div class="field checkbox">
                    <input
                        type="checkbox"
                        id="invalidate-password"
                        name="invalidate"
                        checked
                        on:change:target=move |ev| invalidate.set(ev.target().checked())
                    />
                    <label for="invalidate-password">"Invalidate current password now"</label>
                </div>
                <div class="button-row">
                    <GatedButton
                        label="Send Password Change Link"
                        hint_id="send-link-blocked"
                        blocker=no_email
                        on_press=move || open("email")
                    />
                    <button type="button" class="button" on:click=move |_| open("show")>
                        "Copy link"
                    </button>
                </div>
            </ConfirmedForm>
        </div>
    }
}

#[component]
fn TemporaryForm(
    id: String,
    name: String,
    actions: PanelActions,
    /// Why "Send Email with Access Info to User" is not offered, if it is not.
    password_email_blocked: Option<&'static str>,
    hours: i64,
) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let emailing = RwSignal::new(false);
    let message = move || {
        view! {
            <p>
                "The current password stops working now and " {name.clone()}
                " is signed out everywhere. The temporary password is shown to you once; it \
                 works for one sign-in within " {hours} " hours, to choose a new password."
                {move || emailing.get().then_some(
                    " It is also emailed to the user with the sign-in address.",
                )}
            </p>
        }
    };
    view! {
        <div role="group" aria-label="Generate Temporary Password" class="password-op">
            <ConfirmedForm
                action=actions.temporary
                user_id=id
                dialog_id="confirm-temporary"
                title="Generate a temporary password?"
                open=confirming
                message=message
            >
                <div class="field checkbox">
                    <input
                        type="checkbox"
                        id="email-access-info"
                        name="email_user"
                        disabled=password_email_blocked.is_some()
                        title=password_email_blocked
                        on:change:target=move |ev| emailing.set(ev.target().checked())
                    />
                    <label for="email-access-info">"Send Email with Access Info to User"</label>
                </div>
                <button type="button" class="button" on:click=move |_| confirming.set(true)>
                    "Generate Temporary Password"
                </button>
            </ConfirmedForm>
        </div>
    }
}

#[component]
fn GeneratedForm(
    id: String,
    name: String,
    actions: PanelActions,
    blocker: Option<&'static str>,
) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let message = move || {
        view! {
            <p>
                "A new password is generated and emailed to " {name.clone()}
                "; you will not see it. The current password stops working now, every \
                 session ends, and the user must choose their own password at first sign-in."
            </p>
        }
    };
    view! {
        <div role="group" aria-label="Generate New Password" class="password-op">
            <ConfirmedForm
                action=actions.generated
                user_id=id
                dialog_id="confirm-generated"
                title="Generate and email a new password?"
                open=confirming
                message=message
            >
                <GatedButton
                    label="Generate New Password"
                    hint_id="generated-blocked"
                    blocker=blocker
                    on_press=move || confirming.set(true)
                />
            </ConfirmedForm>
        </div>
    }
}

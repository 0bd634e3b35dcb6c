use leptos::prelude::*;
use model::bulk::SkipReason;
use model::eligibility::{Operation, Target, refusal};
use model::user::{UserDetails, UserId};

use super::confirmed_form::ConfirmedForm;
use super::form_error::{FormError, action_error};
use super::panel_actions::PanelActions;
use super::password_fields::PasswordFields;
use super::reset_actions::{ResetActions, password_email_blocker};
use super::reset_card::ResetCard;
use super::secret_reveal::SecretReveal;
use crate::api::passwords::SetUserPassword;

/// The password section of a user's details: Force Password Reset on Next Login, Change
/// Password, the resets that hand the user a link or a generated password, and the reset
/// status card. Offers only what the server would allow this caller for this user.
#[component]
pub fn PasswordActions(
    /// The user shown in the panel.
    details: UserDetails,
    /// The signed-in person's role.
    actor: model::Role,
    /// The signed-in person, who manages their own password elsewhere.
    me: Option<UserId>,
    /// The panel's operations; the panel re-reads the user when one completes.
    actions: PanelActions,
) -> impl IntoView {
    let PanelActions { force, set, .. } = actions;
    let user = details.summary.clone();
    // The same rule the server checks, so the panel offers exactly what it would allow.
    let target = Target {
        is_actor: me.as_ref() == Some(&user.id),
        role: user.role,
        source: user.source,
        active: user.active,
        must_change_password: user.must_change_password,
        has_email: user.email.is_some(),
    };
    let refused = |operation| refusal(actor, operation, &target);
    if let Some(reason) = refused(Operation::SetPassword { emailed: false }) {
        return view! { <p class="note">{reason.sentence()}</p> }.into_any();
    }
    let name = user.display_name.clone();
    let flagged = user.must_change_password;
    let id = user.id.0.clone();

    let force_refusal = refused(Operation::ForceReset);
    let force_section = matches!(force_refusal, None | Some(SkipReason::AlreadyFlagged)).then(|| {
        let ticked = RwSignal::new(flagged);
        let confirming = RwSignal::new(false);
        let id = id.clone();
        let name = name.clone();
        let message = move || {
            view! {
                <p>
                    {name.clone()}
                    " will be signed out everywhere. Their current password will then open \
                     only a page where they must choose a new one; nothing else works until they do. \
                     Any outstanding link or temporary password stops working."
                </p>
            }
        };
        view! {
            <div role="group" aria-labelledby="force-reset-heading" class="password-op">
                <h3 id="force-reset-heading" class="sr-only">"Force Password Reset"</h3>
                <ConfirmedForm
                    action=force
                    user_id=id
                    dialog_id="confirm-force-reset"
                    title="Force password reset?"
                    open=confirming
                    message=message
                >
                    <div
                        class="field checkbox"
                        title=flagged.then_some(
                            "A reset is already pending. This stays on until the user sets a new password.",
                        )
                    >
                        <input
                            type="checkbox"
                            id="force-reset"
                            prop:checked=move || ticked.get()
                            disabled=flagged
                            aria-describedby=flagged.then_some("force-reset-pending")
                            on:change:target=move |ev| ticked.set(ev.target().checked())
                        />
                        <label for="force-reset">"Force Password Reset on Next Login"</label>
                    </div>
                    {flagged.then(|| view! {
                        <p id="force-reset-pending" class="field-hint">
                            "A reset is pending: the user must set a new password at their next sign-in."
                        </p>
                    })}
                    <button
                        type="button"
                        class="button"
                        disabled=move || flagged || !ticked.get()
                        on:click=move |_| confirming.set(true)
                    >
                        "Save"
                    </button>
                </ConfirmedForm>
            </div>
        }
    });

    // Seed 004: "If a user has one or more failed login attempts, click the Reset button
    // beside his or her name to reset the number back to 0", locked or not.
    let locked_until = user.locked_until.filter(|until| *until > details.now);
    let failures = details.failed_logins;
    let unlock_section = ((failures > 0 || locked_until.is_some())
        && refused(Operation::ResetFailedSignIns).is_none())
    .then(|| {
        let id = id.clone();
        view! {
            <div role="group" aria-label="Failed sign-ins" class="password-op">
                <ActionForm action=actions.unlock>
                    <input type="hidden" name="id" value=id/>
                    <p class="field-hint" id="failed-sign-ins">
                        {failures} " failed sign-in(s) in a row"
                        {locked_until.map(|until| format!("; locked until {until}"))}
                        "."
                    </p>
                    <FormError error=action_error(actions.unlock)/>
                    <button type="submit" class="button" aria-describedby="failed-sign-ins">
                        "Reset"
                    </button>
                </ActionForm>
            </div>
        }
    });

    let allowed = details.emailed_passwords_allowed;
    let email_password_blocker = password_email_blocker(
        refused(Operation::SetPassword { emailed: true }).map(SkipReason::sentence),
        allowed,
    );
    let reset_email_blocker =
        refused(Operation::IssueReset { emailed: true }).map(SkipReason::sentence);
    let editing = RwSignal::new(false);
    let username = user.username.clone();
    let email = user.email.clone().unwrap_or_default();
    let change_id = id.clone();
    let name_for_change = name.clone();
    // A completed change closes the form; its outcome is announced below.
    Effect::new(move |_| {
        if matches!(set.value().get(), Some(Ok(()))) {
            editing.set(false);
        }
    });
    view! {
        <section class="password-actions" aria-labelledby="password-heading">
            <h3 id="password-heading">"Password"</h3>
            {unlock_section}
            {force_section}
            <button
                type="button"
                class="button"
                aria-expanded=move || editing.get().to_string()
                aria-controls="change-password-form"
                on:click=move |_| editing.update(|e| *e = !*e)
            >
                "Change Password"
            </button>
            <Show when=move || editing.get()>
                <ChangePasswordForm
                    id=change_id.clone()
                    username=username.clone()
                    email=email.clone()
                    email_blocker=email_password_blocker
                    name=name_for_change.clone()
                    set=set
                />
            </Show>
            <ResetActions
                user=user.clone()
                no_email=reset_email_blocker
                actions=actions
                emailed_passwords_allowed=details.emailed_passwords_allowed
                temporary_hours=details.temporary_password_hours
            />
            <SecretReveal actions=actions/>
            {details.reset.clone().map(|reset| view! {
                <ResetCard id=user.id.clone() reset=reset now=details.now actions=actions/>
            })}
        </section>
    }
    .into_any()
}

/// Change Password: New Password, Confirm Password, "Must Reset Password at Next Login", and a
/// confirmation that says the old password stops working at once.
#[component]
fn ChangePasswordForm(
    id: String,
    username: String,
    email: String,
    /// Why "Email Password to User" is not offered, if it is not.
    email_blocker: Option<&'static str>,
    name: String,
    set: ServerAction<SetUserPassword>,
) -> impl IntoView {
    let confirming = RwSignal::new(false);
    // Emailing the password also forces a reset: the password then sits in a mailbox.
    let emailing = RwSignal::new(false);
    let must_reset = RwSignal::new(false);
    let acceptable = RwSignal::new(false);
    let error = action_error(set);
    // Beside its field when it names one of the two password fields; here otherwise.
    let other_error = Signal::derive(move || {
        error
            .get()
            .filter(|e| !matches!(e.field(), Some("password" | "confirm")))
    });
    let message = move || {
        view! {
            <p>
                "The new password replaces the old one at once: the old password stops \
                 working, and " {name.clone()} " is signed out everywhere."
                {move || if emailing.get() {
                    Some(" The new password is emailed to the user, who must change it at the next sign-in.")
                } else if must_reset.get() {
                    Some(" The user must change it at the next sign-in.")
                } else {
                    None
                }}
            </p>
        }
    };
    view! {
        <div role="group" aria-label="Change Password" id="change-password-form" class="password-op">
            <ConfirmedForm
                action=set
                user_id=id
                dialog_id="confirm-set-password"
                title="Change this user's password?"
                open=confirming
                error=other_error
                message=message
            >
                <PasswordFields username=username email=email acceptable=acceptable error=error/>
                <div class="field checkbox">
                    <input
                        type="checkbox"
                        id="must-reset"
                        name="must_reset"
                        prop:checked=move || emailing.get() || must_reset.get()
                        disabled=move || emailing.get()
                        on:change:target=move |ev| must_reset.set(ev.target().checked())
                    />
                    <label for="must-reset">"Must Reset Password at Next Login"</label>
                </div>
                <div class="field checkbox">
                    <input
                        type="checkbox"
                        id="email-password"
                        name="email_user"
                        disabled=email_blocker.is_some()
                        title=email_blocker
                        on:change:target=move |ev| emailing.set(ev.target().checked())
                    />
                    <label for="email-password">"Email Password to User"</label>
                </div>
                <button
                    type="button"
                    class="button primary"
                    disabled=move || !acceptable.get() || set.pending().get()
                    title=move || (!acceptable.get()).then_some("Enter a password that meets every rule, twice.")
                    on:click=move |_| confirming.set(true)
                >
                    "Save"
                </button>
            </ConfirmedForm>
        </div>
    }
}

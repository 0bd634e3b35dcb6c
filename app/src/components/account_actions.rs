use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use model::Role;
use model::eligibility::Target;
use model::people::{AccountChange, account_refusal};
use model::user::{UserDetails, UserId};

use super::confirmed_form::ConfirmedForm;
use super::panel_actions::PanelActions;

/// Bumped when an account shown in the Users list changes, so the list re-reads.
#[derive(Clone, Copy)]
pub struct ListVersion(pub RwSignal<u32>);

/// The account section of a user's details, for administrators: Edit (display name, email,
/// Is Active), the role, and Delete. Offers only what the server would allow, and says why
/// not otherwise.
#[component]
pub fn AccountActions(
    details: UserDetails,
    /// The signed-in person's role.
    actor: Role,
    /// The signed-in person.
    me: Option<UserId>,
    actions: PanelActions,
    /// Where the panel's Close goes: the list, after a delete.
    #[prop(into)]
    close_href: Signal<String>,
) -> impl IntoView {
    if actor != Role::Administrator {
        return ().into_any();
    }
    let user = details.summary.clone();
    let target = Target {
        is_actor: me.as_ref() == Some(&user.id),
        role: user.role,
        source: user.source,
        active: user.active,
        must_change_password: user.must_change_password,
        has_email: user.email.is_some(),
    };
    let refused = |change| account_refusal(actor, change, &target);
    if let Some(reason) = refused(AccountChange::Edit) {
        return view! {
            <section class="account-actions" aria-labelledby="account-heading">
                <h3 id="account-heading">"Account"</h3>
                <p class="note">{reason}</p>
            </section>
        }
        .into_any();
    }
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = actions.delete.value().get() {
            navigate(&close_href.get_untracked(), Default::default());
        }
    });
    // A deleted person leaves the list beside the panel (other changes re-read it through
    // the panel, which a delete closes).
    if let Some(list) = use_context::<ListVersion>() {
        Effect::new(move |_| {
            if matches!(actions.delete.value().get(), Some(Ok(()))) {
                list.0.update(|v| *v += 1);
            }
        });
    }
    let standing = refused(AccountChange::ChangeRole);
    view! {
        <section class="account-actions" aria-labelledby="account-heading">
            <h3 id="account-heading">"Account"</h3>
            <EditForm details=details.clone() actions=actions may_deactivate=standing.is_none()/>
            {match standing {
                Some(reason) => view! { <p class="note">{reason}</p> }.into_any(),
                None => view! {
                    <RoleForm details=details.clone() actions=actions/>
                    <DeleteForm details=details actions=actions/>
                }
                .into_any(),
            }}
        </section>
    }
    .into_any()
}

/// Edit: display name, email and Is Active, with a confirmation that says what the change
/// will do besides.
#[component]
fn EditForm(details: UserDetails, actions: PanelActions, may_deactivate: bool) -> impl IntoView {
    let user = details.summary;
    let editing = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let email = RwSignal::new(user.email.clone().unwrap_or_default());
    let active = RwSignal::new(user.active);
    let old_email = user.email.clone().unwrap_or_default();
    let was_active = user.active;
    let name = user.display_name.clone();
    let id = user.id.0.clone();
    // Copy, so the form can be rebuilt each time it opens.
    let display_name = StoredValue::new(user.display_name.clone());
    Effect::new(move |_| {
        if matches!(actions.edit.value().get(), Some(Ok(()))) {
            editing.set(false);
        }
    });
    let old_email = StoredValue::new(old_email);
    // Reactive, so the dialog says what the form holds when it opens, not when it was built.
    let deactivating = move || was_active && !active.get();
    let email_changed =
        move || old_email.with_value(|old| email.get().trim().to_lowercase() != old.to_lowercase());
    let message = move || {
        view! {
            <p>"Save the changes to " {name.clone()} "?"</p>
            {move || deactivating().then(|| view! {
                <p>"They will be signed out everywhere and cannot sign in or receive email until made active again. Any outstanding link or temporary password stops working."</p>
            })}
            {move || email_changed().then(|| view! {
                <p>"Any outstanding link or temporary password stops working, and the old address is told of the change."</p>
            })}
        }
    };
    view! {
        <button
            type="button"
            class="button"
            aria-expanded=move || editing.get().to_string()
            aria-controls="edit-user-form"
            on:click=move |_| editing.update(|e| *e = !*e)
        >
            "Edit"
        </button>
        <Show when=move || editing.get()>
            <div role="group" aria-label="Edit user" id="edit-user-form" class="password-op">
                <ConfirmedForm
                    action=actions.edit
                    user_id=id.clone()
                    dialog_id="confirm-edit-user"
                    title="Save changes?"
                    confirm_label="Save"
                    open=confirming
                    message=message.clone()
                >
                    <div class="field">
                        <label for="edit-display-name">"Display name"</label>
                        <input
                            id="edit-display-name"
                            name="display_name"
                            required
                            maxlength=model::fields::DISPLAY_NAME_MAX
                            value=display_name.get_value()
                        />
                    </div>
                    <div class="field">
                        <label for="edit-email">"Email"</label>
                        <input
                            id="edit-email"
                            name="email"
                            type="email"
                            maxlength=model::fields::EMAIL_MAX
                            prop:value=move || email.get()
                            on:input:target=move |ev| email.set(ev.target().value())
                        />
                    </div>
                    <div class="field checkbox">
                        <input
                            type="checkbox"
                            id="edit-active"
                            name="active"
                            prop:checked=move || active.get()
                            disabled=!may_deactivate
                            on:change:target=move |ev| active.set(ev.target().checked())
                        />
                        <label for="edit-active">"Is Active"</label>
                        // A disabled box is not posted: keep the value it shows.
                        {(!may_deactivate).then(|| view! { <input type="hidden" name="active" value="on"/> })}
                    </div>
                    <button type="button" class="button primary" on:click=move |_| confirming.set(true)>
                        "Save"
                    </button>
                </ConfirmedForm>
            </div>
        </Show>
    }
}

#[component]
fn RoleForm(details: UserDetails, actions: PanelActions) -> impl IntoView {
    let user = details.summary;
    let chosen = RwSignal::new(user.role);
    let confirming = RwSignal::new(false);
    let current = user.role;
    let name = user.display_name.clone();
    let message = move || {
        view! {
            <p>
                {name.clone()} " becomes " {move || chosen.get().label()}
                ". They are signed out everywhere and sign in again with the new role."
            </p>
        }
    };
    view! {
        <div role="group" aria-label="Role" class="password-op">
            <ConfirmedForm
                action=actions.role
                user_id=user.id.0.clone()
                dialog_id="confirm-role"
                title="Change role?"
                confirm_label="Change role"
                open=confirming
                message=message
            >
                <div class="field">
                    <label for="user-role">"Role"</label>
                    <select
                        id="user-role"
                        name="role"
                        on:change:target=move |ev| {
                            if let Ok(role) = ev.target().value().parse() {
                                chosen.set(role);
                            }
                        }
                    >
                        {Role::ALL
                            .into_iter()
                            .map(|role| view! {
                                <option value=role.as_str() selected=role == current>{role.label()}</option>
                            })
                            .collect_view()}
                    </select>
                </div>
                <button
                    type="button"
                    class="button"
                    disabled=move || chosen.get() == current
                    on:click=move |_| confirming.set(true)
                >
                    "Change role"
                </button>
            </ConfirmedForm>
        </div>
    }
}

#[component]
fn DeleteForm(details: UserDetails, actions: PanelActions) -> impl IntoView {
    let user = details.summary;
    let confirming = RwSignal::new(false);
    let title = format!("Delete {}?", user.username);
    let (name, username) = (user.display_name.clone(), user.username.clone());
    let message = move || {
        view! {
            <p>
                "The account of " {name.clone()} " (" {username.clone()} ") is deleted: they can no \
                 longer sign in, and emails not yet sent to them are withdrawn. The audit trail \
                 keeps what happened to them under their username. This cannot be undone."
            </p>
        }
    };
    view! {
        <div role="group" aria-label="Delete user" class="password-op">
            <ConfirmedForm
                action=actions.delete
                user_id=user.id.0.clone()
                dialog_id="confirm-delete-user"
                title=title
                confirm_label="Delete user"
                open=confirming
                message=message
            >
                <button type="button" class="button danger" on:click=move |_| confirming.set(true)>
                    "Delete user"
                </button>
            </ConfirmedForm>
        </div>
    }
}

use leptos::prelude::*;
use model::reset::ResetStatus;
use model::time::Timestamp;
use model::user::UserId;

use super::form_error::{FormError, action_error};
use super::panel_actions::PanelActions;

/// Where the reset stands, in a word.
fn standing(reset: &ResetStatus, now: Timestamp) -> String {
    if let Some(at) = reset.used_at {
        format!("Used at {at}")
    } else if let Some(at) = reset.voided_at {
        let why = reset.void_reason.as_deref().unwrap_or("voided");
        format!("No longer valid since {at} ({why})")
    } else if reset.expires_at <= now {
        format!("Expired at {}", reset.expires_at)
    } else {
        "Outstanding".to_owned()
    }
}

/// The reset status card: what was issued, by whom, until when, where its email is, and
/// whether it was used; Revoke while it is outstanding, Resend Email after the cooldown.
#[component]
pub fn ResetCard(
    id: UserId,
    reset: ResetStatus,
    now: Timestamp,
    actions: PanelActions,
) -> impl IntoView {
    let outstanding = reset.is_outstanding(now);
    let resend_at = reset.resend_available_at(now);
    let may_resend = reset.may_resend(now);
    let email = reset.email.clone();
    let user_id = id.0;
    let revoke_id = user_id.clone();
    view! {
        <section class="reset-card" aria-labelledby="reset-card-heading">
            <h4 id="reset-card-heading">"Reset status"</h4>
            <dl class="details">
                <dt>"Kind"</dt>
                <dd>{reset.kind.label()}</dd>
                <dt>"State"</dt>
                <dd class="reset-state">{standing(&reset, now)}</dd>
                <dt>"Issued at"</dt>
                <dd>{reset.created_at.to_string()}</dd>
                <dt>"Issued by"</dt>
                <dd>{reset.created_by.clone().unwrap_or_else(|| "the user (Forgot your password?)".into())}</dd>
                <dt>"Expires at"</dt>
                <dd>{reset.expires_at.to_string()}</dd>
                <dt>"Email"</dt>
                <dd class="delivery">
                    {email.map_or_else(
                        || "Not emailed (shown to the administrator)".to_owned(),
                        |e| e.describe(),
                    )}
                </dd>
                <dt>"Used at"</dt>
                <dd>{reset.used_at.map_or_else(|| "Not yet".to_owned(), |t| t.to_string())}</dd>
            </dl>
            <div class="button-row">
                {outstanding.then(|| view! {
                    <ActionForm action=actions.revoke>
                        <input type="hidden" name="id" value=revoke_id/>
                        <input type="hidden" name="reset" value=reset.id.clone()/>
                        <button type="submit" class="button">"Revoke"</button>
                    </ActionForm>
                })}
                {resend_at.map(|at| view! {
                    <ActionForm action=actions.resend>
                        <input type="hidden" name="id" value=user_id/>
                        <button
                            type="submit"
                            class="button"
                            disabled=!may_resend
                            aria-describedby=(!may_resend).then_some("resend-wait")
                        >
                            "Resend Email"
                        </button>
                        {(!may_resend).then(|| view! {
                            <p id="resend-wait" class="field-hint">
                                "Available from " {at.to_string()} " (15 minutes after the last email)."
                            </p>
                        })}
                    </ActionForm>
                })}
            </div>
            <FormError error=action_error(actions.revoke)/>
            <FormError error=action_error(actions.resend)/>
        </section>
    }
}

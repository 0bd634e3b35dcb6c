use leptos::prelude::*;
use model::reset::{DeliveryState, EmailRecord};

/// The newest emails to a user and where each one is: the reset status card covers the latest
/// reset, this covers everything else (a password emailed with Change Password, the "your
/// password was changed" notice), so an administrator can answer "did it go out?".
#[component]
pub fn EmailList(emails: Vec<EmailRecord>) -> impl IntoView {
    if emails.is_empty() {
        return ().into_any();
    }
    view! {
        <section class="email-list" aria-labelledby="email-list-heading">
            <h4 id="email-list-heading">"Emails"</h4>
            <ul>
                {emails
                    .into_iter()
                    .map(|email| {
                        let failed = email.status.state == DeliveryState::Failed;
                        view! {
                            <li class:failed=failed>
                                <span class="subject">{email.subject}</span>
                                <span class="when">"queued " {email.queued_at.to_string()}</span>
                                <span class="delivery">{email.status.describe()}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
    .into_any()
}

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use model::policy::{Blocklist, Requirement, fold};
use model::secret::Secret;
use model::{PasswordPolicy, PolicyContext};

use crate::api::settings::password_listed;

/// How long typing must pause before the browser asks the server about the block-list.
const ASK_AFTER: Duration = Duration::from_millis(300);

/// The server's answer about one password: whether it is on the shipped block-list.
#[derive(Clone, Debug, Default, PartialEq)]
struct Answer(Option<(String, bool)>);

impl Answer {
    fn is_for(&self, password: &str) -> bool {
        matches!(&self.0, Some((asked, _)) if asked == password)
    }
}

impl Blocklist for Answer {
    fn contains(&self, folded: &str) -> bool {
        matches!(&self.0, Some((asked, true)) if fold(asked) == folded)
    }
}

/// The live checklist under a password field: the policy's own rule, run in the browser, with
/// the block-list part asked of the server (debounced) because the list stays there. Until
/// the server has answered for what is typed now, that line is not ticked. Returns the
/// requirements as a signal so a form can enable its button when all are met.
pub fn use_requirements(
    policy: Signal<Option<PasswordPolicy>>,
    password: Signal<String>,
    ctx: Signal<PolicyContext>,
) -> Signal<Vec<Requirement>> {
    let answer = RwSignal::new(Answer::default());
    let pending = StoredValue::new(None::<TimeoutHandle>);
    Effect::new(move |_| {
        let typed = password.get();
        if let Some(handle) = pending.get_value() {
            handle.clear();
        }
        if typed.is_empty() || answer.read_untracked().is_for(&typed) {
            return;
        }
        let ask = move || {
            spawn_local(async move {
                if let Ok(listed) = password_listed(Secret::new(typed.clone())).await {
                    answer.set(Answer(Some((typed, listed))));
                }
            });
        };
        pending.set_value(set_timeout_with_handle(ask, ASK_AFTER).ok());
    });
    Signal::derive(move || {
        let Some(policy) = policy.get() else {
            return Vec::new();
        };
        let typed = password.get();
        let answer = answer.get();
        let mut lines = policy.requirements(&typed, &ctx.get(), &answer);
        if !answer.is_for(&typed)
            && let Some(last) = lines.last_mut()
        {
            last.met = false;
        }
        lines
    })
}

/// The list itself, announced politely as it changes.
#[component]
pub fn Checklist(
    #[prop(into)] requirements: Signal<Vec<Requirement>>,
    #[prop(default = "password-rules")] id: &'static str,
) -> impl IntoView {
    view! {
        <ul id=id class="checklist" aria-live="polite">
            {move || {
                requirements
                    .get()
                    .into_iter()
                    .map(|r| {
                        let state = if r.met { "met" } else { "unmet" };
                        view! {
                            <li class=state>
                                <span class="sr-only">{if r.met { "Met: " } else { "Not met: " }}</span>
                                {r.label}
                            </li>
                        }
                    })
                    .collect_view()
            }}
        </ul>
    }
}

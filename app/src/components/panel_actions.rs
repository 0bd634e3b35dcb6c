use leptos::prelude::*;
use model::secret::Secret;
use model::time::Timestamp;

use crate::api::passwords::{ForcePasswordReset, SetUserPassword, UnlockAccount};
use crate::api::people::{DeleteUser, EditUser, SetUserRole};
use crate::api::resets::{
    GenerateNewPassword, GenerateTemporaryPassword, ResendResetEmail, RevokeReset,
    SendPasswordChangeLink,
};

/// A secret the server handed over to be shown once: a temporary password or a Copy link.
#[derive(Clone, Debug, PartialEq)]
pub struct OneTimeSecret {
    pub label: &'static str,
    pub value: Secret,
    pub expires_at: Timestamp,
    pub qr_svg: Option<String>,
}

/// Every operation of the details panel, created once per panel: the panel re-reads the user
/// after any of them, and each announces its outcome in the same place.
#[derive(Clone, Copy)]
pub struct PanelActions {
    pub force: ServerAction<ForcePasswordReset>,
    pub set: ServerAction<SetUserPassword>,
    pub link: ServerAction<SendPasswordChangeLink>,
    pub temporary: ServerAction<GenerateTemporaryPassword>,
    pub generated: ServerAction<GenerateNewPassword>,
    pub revoke: ServerAction<RevokeReset>,
    pub resend: ServerAction<ResendResetEmail>,
    pub unlock: ServerAction<UnlockAccount>,
    pub edit: ServerAction<EditUser>,
    pub role: ServerAction<SetUserRole>,
    pub delete: ServerAction<DeleteUser>,
    /// What the last completed operation did. Cleared when another starts, so the message
    /// never describes an earlier one.
    pub outcome: RwSignal<Option<String>>,
    /// A temporary password or link to show once.
    pub secret: RwSignal<Option<OneTimeSecret>>,
    /// How many operations have succeeded. A refusal changes nothing on the server, so it must
    /// not re-read the panel either: that would close the form and lose the error and what
    /// the administrator typed.
    succeeded: RwSignal<usize>,
}

impl Default for PanelActions {
    fn default() -> Self {
        Self::new()
    }
}

impl PanelActions {
    pub fn new() -> Self {
        let actions = Self {
            force: ServerAction::new(),
            set: ServerAction::new(),
            link: ServerAction::new(),
            temporary: ServerAction::new(),
            generated: ServerAction::new(),
            revoke: ServerAction::new(),
            resend: ServerAction::new(),
            unlock: ServerAction::new(),
            edit: ServerAction::new(),
            role: ServerAction::new(),
            delete: ServerAction::new(),
            outcome: RwSignal::new(None),
            secret: RwSignal::new(None),
            succeeded: RwSignal::new(0),
        };
        actions.announce();
        actions
    }

    /// Hides a shown secret and drops every copy the page holds of it.
    pub fn forget_secret(&self) {
        self.secret.set(None);
        self.temporary.value().set(None);
        self.link.value().set(None);
    }

    /// Changes whenever an operation succeeds: the details resource keys on it.
    pub fn version(&self) -> usize {
        self.succeeded.get()
    }

    fn pending(&self) -> bool {
        self.force.pending().get()
            || self.set.pending().get()
            || self.link.pending().get()
            || self.temporary.pending().get()
            || self.generated.pending().get()
            || self.revoke.pending().get()
            || self.resend.pending().get()
            || self.unlock.pending().get()
            || self.edit.pending().get()
            || self.role.pending().get()
            || self.delete.pending().get()
    }

    fn announce(self) {
        let outcome = self.outcome;
        let secret = self.secret;
        Effect::new(move |_| {
            if self.pending() {
                outcome.set(None);
                secret.set(None);
            }
        });
        let succeeded = self.succeeded;
        // Every success announces itself through here, and so re-reads the panel.
        let say = move |text: String| {
            outcome.set(Some(text));
            succeeded.update(|n| *n += 1);
        };
        Effect::new(move |_| {
            if let Some(Ok(())) = self.force.value().get() {
                say(
                    "Password reset forced. The user must set a new password at their next \
                     sign-in."
                        .into(),
                );
            }
        });
        Effect::new(move |_| {
            if let Some(Ok(())) = self.set.value().get() {
                say("Password changed. The old password no longer works.".into());
            }
        });
        Effect::new(move |_| {
            if let Some(Ok(issued)) = self.link.value().get() {
                match issued.link {
                    Some(link) => {
                        say("Link created. Hand it to the user; it is shown only once.".into());
                        secret.set(Some(OneTimeSecret {
                            label: "Password change link",
                            value: link,
                            expires_at: issued.expires_at,
                            qr_svg: issued.qr_svg,
                        }));
                    }
                    None => say(format!(
                        "Password change link queued for email. It expires at {}.",
                        issued.expires_at
                    )),
                }
            }
        });
        Effect::new(move |_| {
            if let Some(Ok(temp)) = self.temporary.value().get() {
                say("Temporary password generated. It is shown only once.".into());
                secret.set(Some(OneTimeSecret {
                    label: "Temporary password",
                    value: temp.password,
                    expires_at: temp.expires_at,
                    qr_svg: None,
                }));
            }
        });
        Effect::new(move |_| {
            if let Some(Ok(expires)) = self.generated.value().get() {
                say(format!(
                    "A new password was generated and queued for email. It works for one \
                     sign-in, until {expires}."
                ));
            }
        });
        Effect::new(move |_| {
            if let Some(Ok(())) = self.unlock.value().get() {
                say("Failed sign-ins reset to 0. The user can sign in again.".into());
            }
        });
        Effect::new(move |_| {
            if let Some(Ok(())) = self.edit.value().get() {
                say("Saved.".into());
            }
        });
        Effect::new(move |_| {
            if let Some(Ok(())) = self.role.value().get() {
                say("Role changed. The user was signed out everywhere.".into());
            }
        });
        Effect::new(move |_| {
            if let Some(Ok(())) = self.revoke.value().get() {
                say("Revoked. It no longer works.".into());
            }
        });
        Effect::new(move |_| {
            if let Some(Ok(expires)) = self.resend.value().get() {
                say(format!(
                    "A new link was queued for email; the earlier one no longer works. It \
                     expires at {expires}."
                ));
            }
        });
    }
}
